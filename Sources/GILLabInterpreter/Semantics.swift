// What the operators and methods mean, following Python's rules for the types we support.

extension Interpreter {
    // MARK: - Numbers

    private enum Number {
        case int(Int), float(Double)
        var asDouble: Double {
            switch self {
            case .int(let value): Double(value)
            case .float(let value): value
            }
        }
    }

    private static func number(_ object: PyObject) -> Number? {
        switch object.kind {
        case .int: .int(unsafeDowncast(object, to: PyInt.self).value)
        case .bool: .int(unsafeDowncast(object, to: PyBool.self).value ? 1 : 0)
        case .float: .float(unsafeDowncast(object, to: PyFloat.self).value)
        default: nil
        }
    }

    @inline(__always)
    static func binary(_ op: BinaryOp, _ left: PyObject, _ right: PyObject) throws(PyError) -> PyObject {
        // The int fast path first, as CPython's BINARY_OP specializations do.
        if left.kind == .int && right.kind == .int {
            let (x, y) = (unsafeDowncast(left, to: PyInt.self).value, unsafeDowncast(right, to: PyInt.self).value)
            switch op {
            case .add:
                let (sum, overflow) = x.addingReportingOverflow(y)
                if !overflow { return PyInt.make(sum) }
            case .subtract:
                let (difference, overflow) = x.subtractingReportingOverflow(y)
                if !overflow { return PyInt.make(difference) }
            default:
                break
            }
            return try intBinary(op, x, y)
        }
        return try binarySlow(op, left, right)
    }

    private static func binarySlow(_ op: BinaryOp, _ left: PyObject, _ right: PyObject) throws(PyError) -> PyObject {
        if let a = number(left), let b = number(right) {
            if case .int(let x) = a, case .int(let y) = b { return try intBinary(op, x, y) }
            return PyFloat(try floatBinary(op, a.asDouble, b.asDouble))
        }
        switch (op, left.kind, right.kind) {
        case (.add, .str, .str):
            return PyStr(unsafeDowncast(left, to: PyStr.self).value + unsafeDowncast(right, to: PyStr.self).value)
        case (.add, .list, .list):
            return PyList(unsafeDowncast(left, to: PyList.self).items + unsafeDowncast(right, to: PyList.self).items)
        case (.multiply, .list, .int), (.multiply, .int, .list):
            let (list, count) = left.kind == .list ? (left, right) : (right, left)
            let items = unsafeDowncast(list, to: PyList.self).items
            let times = max(unsafeDowncast(count, to: PyInt.self).value, 0)
            guard items.count == 0 || times <= 100_000_000 / items.count else {
                throw PyError(.overflowError, "list repetition too large")
            }
            return PyList(Array([[PyObject]](repeating: items, count: times).joined()))
        default:
            throw PyError(.typeError, "unsupported operand type(s) for \(op.rawValue): '\(left.typeName)' and '\(right.typeName)'")
        }
    }

    private static func intBinary(_ op: BinaryOp, _ x: Int, _ y: Int) throws(PyError) -> PyObject {
        let result: (Int, Bool)
        switch op {
        case .add: result = x.addingReportingOverflow(y)
        case .subtract: result = x.subtractingReportingOverflow(y)
        case .multiply: result = x.multipliedReportingOverflow(by: y)
        case .trueDivide:
            guard y != 0 else { throw PyError(.zeroDivisionError, "division by zero") }
            return PyFloat(Double(x) / Double(y))
        case .floorDivide, .modulo:
            guard y != 0 else { throw PyError(.zeroDivisionError, "integer division or modulo by zero") }
            guard !(x == .min && y == -1) else { throw PyError(.overflowError, "integer division overflows 64 bits") }
            // Python rounds the quotient toward negative infinity; the remainder takes y's sign.
            var quotient = x / y, remainder = x % y
            if remainder != 0 && (remainder < 0) != (y < 0) { quotient -= 1; remainder += y }
            return PyInt.make(op == .floorDivide ? quotient : remainder)
        }
        if result.1 { throw PyError(.overflowError, "integer result of \(op.rawValue) overflows 64 bits") }
        return PyInt.make(result.0)
    }

    private static func floatBinary(_ op: BinaryOp, _ x: Double, _ y: Double) throws(PyError) -> Double {
        switch op {
        case .add: return x + y
        case .subtract: return x - y
        case .multiply: return x * y
        case .trueDivide:
            guard y != 0 else { throw PyError(.zeroDivisionError, "float division by zero") }
            return x / y
        case .floorDivide, .modulo:
            guard y != 0 else { throw PyError(.zeroDivisionError, "float modulo") }
            let quotient = (x / y).rounded(.down)
            if op == .floorDivide { return quotient }
            var remainder = x.truncatingRemainder(dividingBy: y)
            if remainder != 0 && (remainder < 0) != (y < 0) { remainder += y }
            return remainder
        }
    }

    // MARK: - Comparison and truth

    @inline(__always)
    static func compare(_ op: CompareOp, _ left: PyObject, _ right: PyObject) throws(PyError) -> Bool {
        if left.kind == .int && right.kind == .int {
            return ordered(op, unsafeDowncast(left, to: PyInt.self).value, unsafeDowncast(right, to: PyInt.self).value)
        }
        return try compareSlow(op, left, right)
    }

    private static func compareSlow(_ op: CompareOp, _ left: PyObject, _ right: PyObject) throws(PyError) -> Bool {
        if let a = number(left), let b = number(right) {
            if case .int(let x) = a, case .int(let y) = b { return ordered(op, x, y) }
            return ordered(op, a.asDouble, b.asDouble)
        }
        if left.kind == .str && right.kind == .str {
            return ordered(op, unsafeDowncast(left, to: PyStr.self).value, unsafeDowncast(right, to: PyStr.self).value)
        }
        switch op {
        case .equal: return equal(left, right)
        case .notEqual: return !equal(left, right)
        default:
            throw PyError(.typeError, "'\(op.rawValue)' not supported between instances of '\(left.typeName)' and '\(right.typeName)'")
        }
    }

    @inline(__always)
    static func ordered<T: Comparable>(_ op: CompareOp, _ x: T, _ y: T) -> Bool {
        switch op {
        case .less: x < y
        case .lessEqual: x <= y
        case .greater: x > y
        case .greaterEqual: x >= y
        case .equal: x == y
        case .notEqual: x != y
        }
    }

    private static func equal(_ left: PyObject, _ right: PyObject) -> Bool {
        if left === right { return true }
        if let a = number(left), let b = number(right) { return a.asDouble == b.asDouble }
        switch (left.kind, right.kind) {
        case (.str, .str): return unsafeDowncast(left, to: PyStr.self).value == unsafeDowncast(right, to: PyStr.self).value
        case (.list, .list):
            let a = unsafeDowncast(left, to: PyList.self).items, b = unsafeDowncast(right, to: PyList.self).items
            return a.count == b.count && zip(a, b).allSatisfy { equal($0, $1) }
        default: return false
        }
    }

    /// Python's truth value.
    static func truth(_ object: PyObject) -> Bool {
        switch object.kind {
        case .bool: unsafeDowncast(object, to: PyBool.self).value
        case .none: false
        case .int: unsafeDowncast(object, to: PyInt.self).value != 0
        case .float: unsafeDowncast(object, to: PyFloat.self).value != 0
        case .str: !unsafeDowncast(object, to: PyStr.self).value.isEmpty
        case .list: !unsafeDowncast(object, to: PyList.self).items.isEmpty
        case .dict: !unsafeDowncast(object, to: PyDict.self).entries.isEmpty
        default: true
        }
    }

    // MARK: - Containers

    static func iterator(_ object: PyObject) throws(PyError) -> PyObject {
        switch object.kind {
        case .iterator: return object
        case .list: return PyIterator(elements: unsafeDowncast(object, to: PyList.self).items)
        case .dict: return PyIterator(elements: unsafeDowncast(object, to: PyDict.self).entries.keys.map(\.object))
        case .str: return PyIterator(elements: unsafeDowncast(object, to: PyStr.self).value.map { PyStr(String($0)) })
        default: throw PyError(.typeError, "'\(object.typeName)' object is not iterable")
        }
    }

    private static func position(_ index: PyObject, count: Int, what: String) throws(PyError) -> Int {
        guard index.kind == .int else { throw PyError(.typeError, "\(what) indices must be integers, not \(index.typeName)") }
        let raw = unsafeDowncast(index, to: PyInt.self).value
        let position = raw < 0 ? raw + count : raw
        guard (0..<count).contains(position) else { throw PyError(.indexError, "\(what) index out of range") }
        return position
    }

    static func getItem(_ container: PyObject, _ index: PyObject) throws(PyError) -> PyObject {
        switch container.kind {
        case .list:
            let list = unsafeDowncast(container, to: PyList.self)
            return list.items[try position(index, count: list.items.count, what: "list")]
        case .dict:
            guard let value = unsafeDowncast(container, to: PyDict.self).entries[try PyKey(index)] else {
                throw PyError(.keyError, repr(index))
            }
            return value
        case .str:
            let characters = Array(unsafeDowncast(container, to: PyStr.self).value)
            return PyStr(String(characters[try position(index, count: characters.count, what: "string")]))
        default:
            throw PyError(.typeError, "'\(container.typeName)' object is not subscriptable")
        }
    }

    static func setItem(_ container: PyObject, _ index: PyObject, _ value: PyObject) throws(PyError) {
        switch container.kind {
        case .list:
            let list = unsafeDowncast(container, to: PyList.self)
            list.items[try position(index, count: list.items.count, what: "list assignment")] = value
        case .dict:
            unsafeDowncast(container, to: PyDict.self).entries[try PyKey(index)] = value
        default:
            throw PyError(.typeError, "'\(container.typeName)' object does not support item assignment")
        }
    }

    // MARK: - Methods

    static func callMethod(_ receiver: PyObject, _ name: String, _ arguments: [PyObject]) throws(PyError) -> PyObject {
        func arity(_ range: ClosedRange<Int>) throws(PyError) {
            guard range.contains(arguments.count) else {
                throw PyError(.typeError, "\(receiver.typeName).\(name)() takes \(range) arguments but \(arguments.count) were given")
            }
        }
        func string(_ object: PyObject) throws(PyError) -> String {
            guard object.kind == .str else { throw PyError(.typeError, "expected str, got \(object.typeName)") }
            return unsafeDowncast(object, to: PyStr.self).value
        }
        switch (receiver.kind, name) {
        case (.list, "append"):
            try arity(1...1)
            unsafeDowncast(receiver, to: PyList.self).items.append(arguments[0])
            return PyNone.shared
        case (.list, "pop"):
            try arity(0...0)
            let list = unsafeDowncast(receiver, to: PyList.self)
            guard let last = list.items.popLast() else { throw PyError(.indexError, "pop from empty list") }
            return last
        case (.dict, "get"):
            try arity(1...2)
            return unsafeDowncast(receiver, to: PyDict.self).entries[try PyKey(arguments[0])]
                ?? (arguments.count == 2 ? arguments[1] : PyNone.shared)
        case (.dict, "keys"):
            try arity(0...0)
            return PyList(unsafeDowncast(receiver, to: PyDict.self).entries.keys.map(\.object))
        case (.str, "split"):
            try arity(1...1)
            let separator = try string(arguments[0])
            guard !separator.isEmpty else { throw PyError(.valueError, "empty separator") }
            let parts = unsafeDowncast(receiver, to: PyStr.self).value.pythonSplit(separator)
            return PyList(parts.map { PyStr($0) as PyObject })
        case (.str, "strip"):
            try arity(0...0)
            let value = unsafeDowncast(receiver, to: PyStr.self).value
            return PyStr(value.strippingWhitespace())
        case (.str, "join"):
            try arity(1...1)
            guard arguments[0].kind == .list else { throw PyError(.typeError, "can only join a list") }
            var parts: [String] = []
            for item in unsafeDowncast(arguments[0], to: PyList.self).items { parts.append(try string(item)) }
            return PyStr(parts.joined(separator: unsafeDowncast(receiver, to: PyStr.self).value))
        default:
            throw PyError(.typeError, "'\(receiver.typeName)' object has no method '\(name)'")
        }
    }

    // MARK: - Text

    /// Python's `repr` for the types we support.
    static func repr(_ object: PyObject) -> String {
        switch object.kind {
        case .str: "'" + unsafeDowncast(object, to: PyStr.self).value + "'"
        case .list: "[" + unsafeDowncast(object, to: PyList.self).items.map(repr).joined(separator: ", ") + "]"
        default: str(object)
        }
    }

    /// Python's `str` for the types we support.
    package static func str(_ object: PyObject) -> String {
        switch object.kind {
        case .none: "None"
        case .bool: unsafeDowncast(object, to: PyBool.self).value ? "True" : "False"
        case .int: String(unsafeDowncast(object, to: PyInt.self).value)
        case .float: floatRepr(unsafeDowncast(object, to: PyFloat.self).value)
        case .str: unsafeDowncast(object, to: PyStr.self).value
        case .list, .dict: repr(object)
        case .function: "<function \(unsafeDowncast(object, to: PyFunction.self).code.name)>"
        case .native: "<built-in function \(unsafeDowncast(object, to: PyNative.self).name)>"
        case .iterator: "<iterator>"
        case .extension: "<\(object.typeName) object>"
        }
    }

    /// The shortest text that reads back as the same double, as Python's `repr(float)`.
    static func floatRepr(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        return value.description
    }
}

extension String {
    /// The string without leading and trailing whitespace, as Python's `str.strip()`.
    func strippingWhitespace() -> String {
        // The common case, nothing to strip, settled on the UTF-8 bytes at the ends: an ASCII
        // byte that is not whitespace. Anything else takes the Unicode-aware path.
        if let first = utf8.first, let last = utf8.last, first < 0x80, last < 0x80,
           !Self.isASCIIWhitespace(first), !Self.isASCIIWhitespace(last) {
            return self
        }
        return String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }

    private static func isASCIIWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte) || (0x1C...0x1F).contains(byte)
    }

    /// Python's `str.split(separator)`: every non-overlapping occurrence, left to right, empty
    /// pieces kept. Works on the UTF-8 bytes; a separator that is valid UTF-8 only ever matches
    /// at character boundaries, so every piece is valid UTF-8 too.
    func pythonSplit(_ separator: String) -> [String] {
        var text = self
        var separator = separator
        return text.withUTF8 { bytes in
            separator.withUTF8 { sep in
                var pieces: [String] = []
                var start = 0, index = 0
                let (count, width) = (bytes.count, sep.count)
                while index + width <= count {
                    if bytes[index] == sep[0] && (width == 1 || (1..<width).allSatisfy { bytes[index + $0] == sep[$0] }) {
                        pieces.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
                        index += width
                        start = index
                    } else {
                        index += 1
                    }
                }
                pieces.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<count]), as: UTF8.self))
                return pieces
            }
        }
    }
}
