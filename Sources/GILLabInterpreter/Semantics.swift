// What the operators mean, following Python's rules for the types we support.

internal import CShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
            if [.and, .or, .xor, .leftShift, .rightShift].contains(op) {
                throw PyError(.typeError, "unsupported operand type(s) for \(op.rawValue): '\(left.typeName)' and '\(right.typeName)'")
            }
            return PyFloat(try floatBinary(op, a.asDouble, b.asDouble))
        }
        switch (op, left.kind, right.kind) {
        case (.add, .str, .str):
            return PyStr(unsafeDowncast(left, to: PyStr.self).value + unsafeDowncast(right, to: PyStr.self).value)
        case (.add, .list, .list):
            return PyList(unsafeDowncast(left, to: PyList.self).items + unsafeDowncast(right, to: PyList.self).items)
        case (.add, .tuple, .tuple):
            return PyTuple(unsafeDowncast(left, to: PyTuple.self).items + unsafeDowncast(right, to: PyTuple.self).items)
        case (.multiply, .list, .int), (.multiply, .int, .list), (.multiply, .tuple, .int), (.multiply, .int, .tuple),
             (.multiply, .str, .int), (.multiply, .int, .str):
            let (sequence, count) = left.kind == .int ? (right, left) : (left, right)
            let times = max(unsafeDowncast(count, to: PyInt.self).value, 0)
            if sequence.kind == .str {
                let text = unsafeDowncast(sequence, to: PyStr.self).value
                guard text.isEmpty || times <= 100_000_000 / text.utf8.count else { throw PyError(.overflowError, "repeated string is too long") }
                return PyStr(String(repeating: text, count: times))
            }
            let items = try elements(of: sequence)
            guard items.count == 0 || times <= 100_000_000 / items.count else {
                throw PyError(.overflowError, "\(sequence.typeName) repetition too large")
            }
            let repeated = Array([[PyObject]](repeating: items, count: times).joined())
            return sequence.kind == .list ? PyList(repeated) : PyTuple(repeated)
        case (.add, .str, _), (.add, .list, _), (.add, .tuple, _):
            throw PyError(.typeError, "can only concatenate \(left.typeName) (not \"\(right.typeName)\") to \(left.typeName)")
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
        case .power:
            // A negative exponent gives a float, as in Python.
            guard y >= 0 else {
                guard x != 0 else { throw PyError(.zeroDivisionError, "0.0 cannot be raised to a negative power") }
                return PyFloat(pow(Double(x), Double(y)))
            }
            var value = 1, base = x, exponent = y
            while exponent > 0 {
                if exponent & 1 == 1 {
                    let (product, overflow) = value.multipliedReportingOverflow(by: base)
                    if overflow { throw PyError(.overflowError, "integer result of ** overflows 64 bits") }
                    value = product
                }
                exponent >>= 1
                if exponent > 0 {
                    let (square, overflow) = base.multipliedReportingOverflow(by: base)
                    if overflow { throw PyError(.overflowError, "integer result of ** overflows 64 bits") }
                    base = square
                }
            }
            return PyInt.make(value)
        case .and: return PyInt.make(x & y)
        case .or: return PyInt.make(x | y)
        case .xor: return PyInt.make(x ^ y)
        case .leftShift:
            guard y >= 0 else { throw PyError(.valueError, "negative shift count") }
            guard y < 64, (x << y) >> y == x else { throw PyError(.overflowError, "integer result of << overflows 64 bits") }
            return PyInt.make(x << y)
        case .rightShift:
            guard y >= 0 else { throw PyError(.valueError, "negative shift count") }
            return PyInt.make(y >= 64 ? (x < 0 ? -1 : 0) : x >> y)
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
            guard y != 0 else { throw PyError(.zeroDivisionError, op == .modulo ? "float modulo" : "float floor division by zero") }
            // CPython's float_divmod: from fmod, so that 1 // 0.1 is 9.0 and divmod stays consistent.
            var remainder = fmod(x, y)
            var quotient = (x - remainder) / y
            if remainder != 0 {
                if (y < 0) != (remainder < 0) { remainder += y; quotient -= 1 }
            } else {
                remainder = copysign(0, y)
            }
            if op == .modulo { return remainder }
            guard quotient != 0 else { return copysign(0, x / y) }
            var floored = quotient.rounded(.down)
            if quotient - floored > 0.5 { floored += 1 }
            return floored
        case .power:
            if x == 0 && y < 0 { throw PyError(.zeroDivisionError, "0.0 cannot be raised to a negative power") }
            if x < 0 && y != y.rounded() {
                throw PyError(.valueError, "a negative number to a fractional power is complex, and complex numbers are not supported")
            }
            let value = pow(x, y)
            if value.isInfinite && x.isFinite && y.isFinite { throw PyError(.overflowError, "(34, 'Numerical result out of range')") }
            return value
        case .and, .or, .xor, .leftShift, .rightShift:
            throw PyError(.typeError, "unsupported operand type(s) for \(op.rawValue): 'float' and 'float'")
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
        case .equal: return try equal(left, right)
        case .notEqual: return try !equal(left, right)
        default:
            // Sequences of one kind compare element by element, as in Python.
            if left.kind == right.kind && (left.kind == .list || left.kind == .tuple) {
                try enterNested(" in comparison")
                let (a, b) = (try elements(of: left), try elements(of: right))
                for (x, y) in zip(a, b) where try !equal(x, y) { return try compare(op, x, y) }
                return ordered(op, a.count, b.count)
            }
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

    /// Python's `==`.
    static func equal(_ left: PyObject, _ right: PyObject) throws(PyError) -> Bool {
        if left === right { return true }
        if let a = number(left), let b = number(right) {
            if case .int(let x) = a, case .int(let y) = b { return x == y }
            return a.asDouble == b.asDouble
        }
        switch (left.kind, right.kind) {
        case (.str, .str): return unsafeDowncast(left, to: PyStr.self).value == unsafeDowncast(right, to: PyStr.self).value
        case (.list, .list), (.tuple, .tuple):
            let (a, b) = (try elements(of: left), try elements(of: right))
            guard a.count == b.count else { return false }
            try enterNested(" in comparison")
            for (x, y) in zip(a, b) where try !equal(x, y) { return false }
            return true
        case (.dict, .dict):
            let (a, b) = (unsafeDowncast(left, to: PyDict.self).entries, unsafeDowncast(right, to: PyDict.self).entries)
            guard a.count == b.count else { return false }
            try enterNested(" in comparison")
            for (key, value) in a {
                guard let other = b[key], try equal(value, other) else { return false }
            }
            return true
        case (.range, .range):
            // CPython's range_equals: the same elements, whatever the stop and step say.
            let (a, b) = (unsafeDowncast(left, to: PyRange.self), unsafeDowncast(right, to: PyRange.self))
            guard a.length == b.length else { return false }
            if a.length == 0 { return true }
            guard a.start == b.start else { return false }
            return a.length == 1 || a.step == b.step
        case (.dictView, .dictView):
            // Keys and items views are sets (a keys view can equal an items view, as in CPython);
            // a values view equals only itself.
            let (a, b) = (unsafeDowncast(left, to: PyDictView.self), unsafeDowncast(right, to: PyDictView.self))
            guard a.part != .values, b.part != .values, a.dict.entries.count == b.dict.entries.count else { return false }
            try enterNested(" in comparison")
            for element in a.elements where try !contains(b, element) { return false }
            return true
        default: return false
        }
    }

    /// Python's `in`: `item in container`.
    static func contains(_ container: PyObject, _ item: PyObject) throws(PyError) -> Bool {
        switch container.kind {
        case .str:
            guard item.kind == .str else {
                throw PyError(.typeError, "'in <string>' requires string as left operand, not \(item.typeName)")
            }
            let needle = unsafeDowncast(item, to: PyStr.self).value
            return needle.isEmpty || unsafeDowncast(container, to: PyStr.self).value.contains(needle)
        case .dict:
            return unsafeDowncast(container, to: PyDict.self).entries[try PyKey(item)] != nil
        case .list, .tuple:
            for element in try elements(of: container) where try equal(element, item) { return true }
            return false
        case .range:
            let range = unsafeDowncast(container, to: PyRange.self)
            switch number(item) {
            case .int(let value): return range.contains(value)
            case .float(let value):
                return Int(exactly: value).map(range.contains) ?? false
            case nil:
                return false  // CPython compares each element with ==, and no int equals a non-number
            }
        case .dictView:
            let view = unsafeDowncast(container, to: PyDictView.self)
            switch view.part {
            case .keys: return view.dict.entries[try PyKey(item)] != nil
            case .items:
                guard item.kind == .tuple, case let pair = unsafeDowncast(item, to: PyTuple.self).items, pair.count == 2,
                      let value = view.dict.entries[try PyKey(pair[0])] else { return false }
                return try equal(value, pair[1])
            case .values:
                for element in view.elements where try equal(element, item) { return true }
                return false
            }
        case .iterator:
            let iterator = unsafeDowncast(container, to: PyIterator.self)
            while let element = iterator.advance() { if try equal(element, item) { return true } }
            return false
        default:
            throw PyError(.typeError, "argument of type '\(container.typeName)' is not iterable")
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
        case .tuple: !unsafeDowncast(object, to: PyTuple.self).items.isEmpty
        case .dict: !unsafeDowncast(object, to: PyDict.self).entries.isEmpty
        case .range: unsafeDowncast(object, to: PyRange.self).length != 0
        case .dictView: !unsafeDowncast(object, to: PyDictView.self).dict.entries.isEmpty
        default: true
        }
    }

    // MARK: - Containers

    static func iterator(_ object: PyObject) throws(PyError) -> PyObject {
        switch object.kind {
        case .iterator: return object
        case .range:
            return unsafeDowncast(object, to: PyRange.self).iterator()
        case .dictView: return PyIterator(elements: unsafeDowncast(object, to: PyDictView.self).elements)
        case .list: return PyIterator(elements: unsafeDowncast(object, to: PyList.self).items)
        case .tuple: return PyIterator(elements: unsafeDowncast(object, to: PyTuple.self).items)
        case .dict: return PyIterator(elements: unsafeDowncast(object, to: PyDict.self).entries.keys.map(\.object))
        case .str: return PyIterator(elements: unsafeDowncast(object, to: PyStr.self).value.map { PyStr(String($0)) })
        default: throw PyError(.typeError, "'\(object.typeName)' object is not iterable")
        }
    }

    /// The elements a `for` loop over `object` would see, as an array.
    static func elements(of object: PyObject) throws(PyError) -> [PyObject] {
        switch object.kind {
        case .list: return unsafeDowncast(object, to: PyList.self).items
        case .tuple: return unsafeDowncast(object, to: PyTuple.self).items
        default: return unsafeDowncast(try iterator(object), to: PyIterator.self).drain()
        }
    }

    private static func position(_ index: PyObject, count: Int, what: String) throws(PyError) -> Int {
        guard index.kind == .int || index.kind == .bool else {
            throw PyError(.typeError, "\(what) indices must be integers or slices, not \(index.typeName)")
        }
        let raw = try index.intValue("index")
        let (position, overflow) = raw < 0 ? raw.addingReportingOverflow(count) : (raw, false)
        guard !overflow else { throw PyError(.indexError, "\(what) index out of range") }
        guard (0..<count).contains(position) else { throw PyError(.indexError, "\(what) index out of range") }
        return position
    }

    static func getItem(_ container: PyObject, _ index: PyObject) throws(PyError) -> PyObject {
        switch container.kind {
        case .list, .tuple:
            let items = try elements(of: container)
            if index.kind == .slice {
                let picked = try unsafeDowncast(index, to: PySlice.self).positions(count: items.count).map { items[$0] }
                return container.kind == .list ? PyList(picked) : PyTuple(picked)
            }
            return items[try position(index, count: items.count, what: container.typeName)]
        case .dict:
            guard let value = unsafeDowncast(container, to: PyDict.self).entries[try PyKey(index)] else {
                throw PyError(.keyError, try repr(index))
            }
            return value
        case .str:
            let characters = Array(unsafeDowncast(container, to: PyStr.self).value)
            if index.kind == .slice {
                let picked = try unsafeDowncast(index, to: PySlice.self).positions(count: characters.count).map { characters[$0] }
                return PyStr(String(picked))
            }
            return PyStr(String(characters[try position(index, count: characters.count, what: "string")]))
        case .range:
            let range = unsafeDowncast(container, to: PyRange.self)
            if index.kind == .slice { return try range.slice(unsafeDowncast(index, to: PySlice.self)) }
            guard index.kind == .int || index.kind == .bool else {
                throw PyError(.typeError, "range indices must be integers or slices, not \(index.typeName)")
            }
            return PyInt.make(range.element(try position(index, count: try range.checkedCount(), what: "range object")))
        default:
            throw PyError(.typeError, "'\(container.typeName)' object is not subscriptable")
        }
    }

    static func setItem(_ container: PyObject, _ index: PyObject, _ value: PyObject) throws(PyError) {
        switch container.kind {
        case .list:
            let list = unsafeDowncast(container, to: PyList.self)
            if index.kind == .slice { throw PyError(.notImplementedError, "slice assignment is not supported") }
            try list.mutate { (items) throws(PyError) in items[try position(index, count: items.count, what: "list assignment")] = value }
        case .dict:
            unsafeDowncast(container, to: PyDict.self).entries[try PyKey(index)] = value
        default:
            throw PyError(.typeError, "'\(container.typeName)' object does not support item assignment")
        }
    }

    static func deleteItem(_ container: PyObject, _ index: PyObject) throws(PyError) {
        switch container.kind {
        case .list:
            let list = unsafeDowncast(container, to: PyList.self)
            if index.kind == .slice { throw PyError(.notImplementedError, "deleting a slice is not supported") }
            try list.mutate { (items) throws(PyError) in items.remove(at: try position(index, count: items.count, what: "list assignment")) }
        case .dict:
            guard unsafeDowncast(container, to: PyDict.self).entries.removeValue(forKey: try PyKey(index)) != nil else {
                throw PyError(.keyError, try repr(index))
            }
        default:
            throw PyError(.typeError, "'\(container.typeName)' object does not support item deletion")
        }
    }

    // MARK: - Text

    /// Python's `repr` for the types we support. A container inside itself shows as `[...]`,
    /// `{...}`, `(...)` or `...`, as CPython's `Py_ReprEnter` makes it; nesting deeper than the
    /// thread's stack allows raises RecursionError, as `Py_EnterRecursiveCall` does.
    static func repr(_ object: PyObject) throws(PyError) -> String {
        var entered = Set<ObjectIdentifier>()
        return try repr(object, entered: &entered)
    }

    private static func repr(_ object: PyObject, entered: inout Set<ObjectIdentifier>) throws(PyError) -> String {
        switch object.kind {
        case .str: return stringRepr(unsafeDowncast(object, to: PyStr.self).value)
        case .exception:
            switch unsafeDowncast(object, to: PyException.self).error {
            case let error where error.message.isEmpty: return "\(object.typeName)()"
            // A KeyError's message is already its key's repr.
            case let error where error.kind == .keyError: return "KeyError(\(error.message))"
            case let error: return "\(object.typeName)(\(stringRepr(error.message)))"
            }
        case .range:
            let range = unsafeDowncast(object, to: PyRange.self)
            return range.step == 1 ? "range(\(range.start), \(range.stop))" : "range(\(range.start), \(range.stop), \(range.step))"
        case .list, .tuple, .dict, .dictView:
            break
        default:
            return try str(object)
        }
        let id = ObjectIdentifier(object)
        guard entered.insert(id).inserted else {
            return object.kind == .list ? "[...]" : object.kind == .tuple ? "(...)" : object.kind == .dict ? "{...}" : "..."
        }
        defer { entered.remove(id) }
        try enterNested(" while getting the repr of an object")
        func joined(_ items: [PyObject]) throws(PyError) -> String {
            var parts: [String] = []
            for item in items { parts.append(try repr(item, entered: &entered)) }
            return parts.joined(separator: ", ")
        }
        switch object.kind {
        case .list:
            return "[" + (try joined(unsafeDowncast(object, to: PyList.self).items)) + "]"
        case .tuple:
            let items = unsafeDowncast(object, to: PyTuple.self).items
            return "(" + (try joined(items)) + (items.count == 1 ? ",)" : ")")
        case .dict:
            var parts: [String] = []
            for (key, value) in unsafeDowncast(object, to: PyDict.self).entries {
                parts.append((try repr(key.object, entered: &entered)) + ": " + (try repr(value, entered: &entered)))
            }
            return "{" + parts.joined(separator: ", ") + "}"
        default:
            return "\(object.typeName)([" + (try joined(unsafeDowncast(object, to: PyDictView.self).elements)) + "])"
        }
    }

    /// CPython's `Py_EnterRecursiveCall` for the recursions over nested containers (repr, `==`,
    /// `<`, a tuple key): RecursionError before the thread's stack runs out, rather than a crash.
    /// `what` ends the message, as CPython's does (" in comparison").
    static func enterNested(_ what: String) throws(PyError) {
        guard gl_stack_left() > stackReserve else { throw PyError(.recursionError, "maximum recursion depth exceeded" + what) }
    }

    /// A string as Python writes it back: single quotes unless the text has one and no double.
    static func stringRepr(_ value: String) -> String {
        let quote: Character = value.contains("'") && !value.contains("\"") ? "\"" : "'"
        var text = String(quote)
        for c in value {
            switch c {
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\t": text += "\\t"
            case "\r": text += "\\r"
            case quote: text += "\\" + String(quote)
            default: text.append(c)
            }
        }
        text.append(quote)
        return text
    }

    /// Python's `str` for the types we support.
    package static func str(_ object: PyObject) throws(PyError) -> String {
        switch object.kind {
        case .none: "None"
        case .bool: unsafeDowncast(object, to: PyBool.self).value ? "True" : "False"
        case .int: String(unsafeDowncast(object, to: PyInt.self).value)
        case .float: floatRepr(unsafeDowncast(object, to: PyFloat.self).value)
        case .str: unsafeDowncast(object, to: PyStr.self).value
        case .list, .dict, .tuple, .range, .dictView: try repr(object)
        case .function: "<function \(unsafeDowncast(object, to: PyFunction.self).code.name)>"
        case .native: "<built-in function \(unsafeDowncast(object, to: PyNative.self).name)>"
        case .iterator: "<iterator>"
        case .extension: "<\(object.typeName) object>"
        case .slice: "slice(...)"
        case .module: "<module '\(unsafeDowncast(object, to: PyModule.self).name)'>"
        case .exception: unsafeDowncast(object, to: PyException.self).error.message
        case .exceptionType: "<class '\(unsafeDowncast(object, to: PyExceptionType.self).exceptionKind.rawValue)'>"
        }
    }

    /// The shortest text that reads back as the same double, as Python's `repr(float)`.
    static func floatRepr(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        return value.description
    }

    /// Python's `format(value, spec)`, for f-string fields and `format()`: the mini-language's
    /// `[[fill]align][sign][0][width][,|_][.precision][type]` with the types `d`, `f`, `e`, `g`,
    /// `%`, `s`, `x`, `o`, `b` and none.
    /// The widest width and the longest precision a format spec may ask for.
    static let formatLimit = 10_000

    static func format(_ object: PyObject, _ spec: String) throws(PyError) -> String {
        if spec.isEmpty { return try str(object) }
        var chars = Array(spec)[...]
        var fill: Character = " "
        var align: Character?
        if chars.count >= 2, "<>^=".contains(chars[chars.startIndex + 1]) {
            fill = chars.removeFirst()
            align = chars.removeFirst()
        } else if let first = chars.first, "<>^=".contains(first) {
            align = chars.removeFirst()
        }
        var sign: Character = "-"
        if let first = chars.first, "+- ".contains(first) { sign = chars.removeFirst() }
        if chars.first == "0" {
            chars.removeFirst()
            if align == nil { fill = "0"; align = "=" }
        }
        // Width and precision are capped, loudly: a program is untrusted input, and `{x:999999999}`
        // would pad to a gigabyte.
        func number(_ what: String) throws(PyError) -> Int? {
            var digits = ""
            while let first = chars.first, first.isASCII, first.isNumber { digits.append(chars.removeFirst()) }
            guard !digits.isEmpty else { return nil }
            guard let value = Int(digits), value <= Self.formatLimit else {
                throw PyError(.valueError, "format \(what) \(digits) is past GILLab's limit of \(Self.formatLimit)")
            }
            return value
        }
        let width = try number("width") ?? 0
        var grouping: Character?
        if let first = chars.first, first == "," || first == "_" { grouping = chars.removeFirst() }
        var precision: Int?
        if chars.first == "." {
            chars.removeFirst()
            guard let value = try number("precision") else { throw PyError(.valueError, "Format specifier missing precision") }
            precision = value
        }
        let type = chars.popFirst()
        guard chars.isEmpty else { throw PyError(.valueError, "Invalid format specifier '\(spec)' for object of type '\(object.typeName)'") }

        var body: String
        var negative = false
        let isNumber = object.kind == .int || object.kind == .float || object.kind == .bool
        switch (type, object.kind) {
        case (nil, .str), ("s", .str):
            body = unsafeDowncast(object, to: PyStr.self).value
            if let precision { body = String(body.prefix(precision)) }
        case (_, .str):
            throw PyError(.valueError, "Unknown format code '\(type!)' for object of type 'str'")
        case (_, _) where !isNumber:
            guard type == nil || type == "s" else {
                throw PyError(.typeError, "unsupported format string passed to \(object.typeName).__format__")
            }
            body = try str(object)
        case ("d", .float), ("x", .float), ("o", .float), ("b", .float):
            throw PyError(.valueError, "Unknown format code '\(type!)' for object of type 'float'")
        case ("d", _), ("x", _), ("o", _), ("b", _), (nil, .int), (nil, .bool):
            let value = try object.intValue("format")
            negative = value < 0
            let magnitude = value.magnitude
            switch type {
            case "x": body = String(magnitude, radix: 16)
            case "o": body = String(magnitude, radix: 8)
            case "b": body = String(magnitude, radix: 2)
            default:
                body = String(magnitude)
            }
            if let precision, type == nil { _ = precision; throw PyError(.valueError, "Precision not allowed in integer format specifier") }
        default:
            let value = try object.doubleValue("format")
            negative = value < 0 || (value == 0 && value.sign == .minus)
            let magnitude = abs(value)
            switch type {
            case "f", "F": body = fixed(magnitude, precision ?? 6)
            case "%": body = fixed(magnitude * 100, precision ?? 6) + "%"
            case "e", "E": body = exponent(magnitude, precision ?? 6)
            case "g", "G": body = general(magnitude, precision ?? 6)
            case nil:
                body = precision.map { noType(magnitude, $0) } ?? floatRepr(magnitude)
            default: throw PyError(.valueError, "Unknown format code '\(type!)' for object of type 'float'")
            }
            if magnitude.isNaN { negative = false }
        }
        if isNumber, let grouping {
            let (integer, fraction) = body.firstIndex { !$0.isNumber }.map { (String(body[..<$0]), String(body[$0...])) } ?? (body, "")
            var grouped = ""
            for (index, digit) in integer.enumerated() {
                if index > 0 && (integer.count - index) % 3 == 0 { grouped.append(grouping) }
                grouped.append(digit)
            }
            body = grouped + fraction
        }
        let signText = negative ? "-" : sign == "+" ? "+" : sign == " " ? " " : ""
        let length = signText.count + body.count
        let padding = max(width - length, 0)
        let pad = String(repeating: fill, count: padding)
        switch align ?? (isNumber ? ">" : "<") {
        case "<": return signText + body + pad
        case "^":
            let left = String(repeating: fill, count: padding / 2)
            return left + signText + body + String(repeating: fill, count: padding - padding / 2)
        case "=": return signText + pad + body
        default: return pad + signText + body
        }
    }

    private static func fixed(_ value: Double, _ precision: Int) -> String {
        value.isFinite ? printf("%.*f", precision, value) : value.isNaN ? "nan" : "inf"
    }

    private static func exponent(_ value: Double, _ precision: Int) -> String {
        value.isFinite ? printf("%.*e", precision, value) : value.isNaN ? "nan" : "inf"
    }

    private static func general(_ value: Double, _ precision: Int) -> String {
        value.isFinite ? printf("%.*g", max(precision, 1), value) : value.isNaN ? "nan" : "inf"
    }

    /// A float spec with a precision and no type (`f"{x:.3}"`): `g`, except that the exponent
    /// takes over one digit sooner and a whole number keeps ".0", as CPython's
    /// `format_float_short` does with `Py_DTSF_ADD_DOT_0`.
    private static func noType(_ value: Double, _ precision: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : "inf" }
        let digits = max(precision, 1)
        let scientific = printf("%.*e", digits - 1, value)
        // The decimal point's position after rounding to `digits` significant digits.
        let exponentIndex = scientific.firstIndex { $0 == "e" }!
        let point = Int(scientific[scientific.index(after: exponentIndex)...])! + 1
        func trimmed(_ text: Substring) -> Substring {
            guard text.contains(".") else { return text }
            let kept = text.reversed().drop { $0 == "0" }.reversed()
            return kept.last == "." ? Substring(kept.dropLast()) : Substring(kept)
        }
        if point <= -4 || point > digits - 1 {
            return String(trimmed(scientific[..<exponentIndex]) + scientific[exponentIndex...])
        }
        let text = trimmed(Substring(printf("%.*f", digits - point, value)))
        return text.contains(".") ? String(text) : text + ".0"
    }

    /// C's formatting of one double, as Python's float formatting does it (`PyOS_double_to_string`).
    private static func printf(_ format: String, _ precision: Int, _ value: Double) -> String {
        var size = 128
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            let written = withVaList([Int32(precision), value]) { vsnprintf(&buffer, size, format, $0) }
            if written < size { return String(decoding: buffer.prefix(Int(written)).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
            size = Int(written) + 1
        }
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
        return String(drop { $0.isPythonSpace }.reversed().drop { $0.isPythonSpace }.reversed())
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
