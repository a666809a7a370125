// The builtins programs use. Each is a native function that keeps the lock, as CPython's do.

extension Interpreter {
    func installBuiltins() {
        builtin("range") { _, arguments throws(PyError) in
            let values = try arguments.exactly(1...3).map { (arg) throws(PyError) -> Int in
                guard arg.kind == .int || arg.kind == .bool else {
                    throw PyError(.typeError, "'\(arg.typeName)' object cannot be interpreted as an integer")
                }
                return try arg.intValue("range()")
            }
            let (start, stop, step) = values.count == 1 ? (0, values[0], 1)
                : (values[0], values[1], values.count == 3 ? values[2] : 1)
            guard step != 0 else { throw PyError(.valueError, "range() arg 3 must not be zero") }
            return PyRange(start, stop, step)
        }
        builtin("len") { _, arguments throws(PyError) in
            let object = try arguments.exactly(1...1)[0]
            switch object.kind {
            case .list: return PyInt.make(unsafeDowncast(object, to: PyList.self).items.count)
            case .tuple: return PyInt.make(unsafeDowncast(object, to: PyTuple.self).items.count)
            case .dict: return PyInt.make(unsafeDowncast(object, to: PyDict.self).entries.count)
            case .str: return PyInt.make(unsafeDowncast(object, to: PyStr.self).value.count)
            case .range: return PyInt.make(try unsafeDowncast(object, to: PyRange.self).checkedCount())
            case .dictView: return PyInt.make(unsafeDowncast(object, to: PyDictView.self).dict.entries.count)
            default: throw PyError(.typeError, "object of type '\(object.typeName)' has no len()")
            }
        }
        builtin("int") { _, arguments throws(PyError) in
            let values = try arguments.bind(["x", "base"])
            guard let object = values[0] else { return PyInt.make(0) }
            if let base = values[1] {
                var radix = try base.intValue("int() base")
                guard radix == 0 || (2...36).contains(radix) else { throw PyError(.valueError, "int() base must be >= 2 and <= 36, or 0") }
                var text = Substring(try object.stringValue("int() with a base: the value").strippingWhitespace().filter { $0 != "_" })
                let negative = text.first == "-"
                if text.first == "-" || text.first == "+" { text = text.dropFirst() }
                // A prefix that names the base is allowed, as in Python (base 0 takes it from the prefix).
                for (prefix, prefixRadix) in [("0x", 16), ("0o", 8), ("0b", 2)] where text.lowercased().hasPrefix(prefix) {
                    if radix == 0 || radix == prefixRadix { radix = prefixRadix; text = text.dropFirst(2) }
                }
                if radix == 0 { radix = 10 }
                guard !text.isEmpty, !text.hasPrefix("-"), !text.hasPrefix("+"), let magnitude = Int(text, radix: radix) else {
                    throw PyError(.valueError, "invalid literal for int() with base \(try base.intValue("int() base")): \(try Self.repr(object))")
                }
                return PyInt.make(negative ? -magnitude : magnitude)
            }
            switch object.kind {
            case .int: return object
            case .bool: return PyInt.make(unsafeDowncast(object, to: PyBool.self).value ? 1 : 0)
            case .float:
                let value = unsafeDowncast(object, to: PyFloat.self).value
                guard let truncated = Int(exactly: value.rounded(.towardZero)) else {
                    throw PyError(value.isNaN ? .valueError : .overflowError, "cannot convert float \(Interpreter.floatRepr(value)) to integer")
                }
                return PyInt.make(truncated)
            case .str:
                let text = unsafeDowncast(object, to: PyStr.self).value
                guard let value = Int(text.strippingWhitespace().filter { $0 != "_" }) else {
                    throw PyError(.valueError, "invalid literal for int() with base 10: \(try Self.repr(object))")
                }
                return PyInt.make(value)
            default: throw PyError(.typeError, "int() argument must be a string or a number, not '\(object.typeName)'")
            }
        }
        builtin("float") { _, arguments throws(PyError) in
            guard let object = try arguments.exactly(0...1).first else { return PyFloat(0) }
            switch object.kind {
            case .float: return object
            case .int, .bool: return PyFloat(try object.doubleValue("float()"))
            case .str:
                let text = unsafeDowncast(object, to: PyStr.self).value.strippingWhitespace().lowercased()
                let special: [String: Double] = ["inf": .infinity, "+inf": .infinity, "-inf": -.infinity, "infinity": .infinity,
                                                 "-infinity": -.infinity, "nan": .nan, "+nan": .nan, "-nan": .nan]
                guard let value = special[text] ?? Double(text) else {
                    throw PyError(.valueError, "could not convert string to float: \(try Self.repr(object))")
                }
                return PyFloat(value)
            default: throw PyError(.typeError, "float() argument must be a string or a number, not '\(object.typeName)'")
            }
        }
        builtin("str") { _, arguments throws(PyError) in
            guard let object = try arguments.exactly(0...1).first else { return PyStr("") }
            return PyStr(try Interpreter.str(object))
        }
        builtin("repr") { _, arguments throws(PyError) in PyStr(try Interpreter.repr(try arguments.exactly(1...1)[0])) }
        builtin("bool") { _, arguments throws(PyError) in
            PyBool.of(try arguments.exactly(0...1).first.map(Self.truth) ?? false)
        }
        builtin("list") { _, arguments throws(PyError) in
            PyList(try arguments.exactly(0...1).first.map { (value) throws(PyError) in try Self.elements(of: value) } ?? [])
        }
        builtin("tuple") { _, arguments throws(PyError) in
            PyTuple(try arguments.exactly(0...1).first.map { (value) throws(PyError) in try Self.elements(of: value) } ?? [])
        }
        builtin("dict") { _, arguments throws(PyError) in
            let dict = PyDict()
            if let source = try Arguments(positional: arguments.positional, keywords: [], function: "dict").exactly(0...1).first {
                if source.kind == .dict {
                    dict.entries = unsafeDowncast(source, to: PyDict.self).entries
                } else {
                    for pair in try Self.elements(of: source) {
                        let items = try Self.elements(of: pair)
                        guard items.count == 2 else {
                            throw PyError(.valueError, "dictionary update sequence element has length \(items.count); 2 is required")
                        }
                        dict.entries[try PyKey(items[0])] = items[1]
                    }
                }
            }
            for (name, value) in arguments.keywords { dict.entries[.str(name)] = value }
            return dict
        }
        builtin("abs") { _, arguments throws(PyError) in
            let value = try arguments.exactly(1...1)[0]
            switch value.kind {
            case .int, .bool:
                let number = try value.intValue("abs()")
                guard number != .min else { throw PyError(.overflowError, "abs() overflows 64 bits") }
                return PyInt.make(abs(number))
            case .float: return PyFloat(abs(unsafeDowncast(value, to: PyFloat.self).value))
            default: throw PyError(.typeError, "bad operand type for abs(): '\(value.typeName)'")
            }
        }
        builtin("sorted") { interpreter, arguments throws(PyError) in
            guard arguments.positional.count == 1 else {
                throw PyError(.typeError, "sorted expected 1 argument, got \(arguments.positional.count)")
            }
            let values = try Arguments(positional: [], keywords: arguments.keywords, function: "sorted").bind(["key", "reverse"])
            var items = try Self.elements(of: arguments.positional[0])
            try interpreter.sort(&items, key: values[0], reverse: values[1].map(Self.truth) ?? false)
            return PyList(items)
        }
        builtin("reversed") { _, arguments throws(PyError) in
            let value = try arguments.exactly(1...1)[0]
            if value.kind == .range { return unsafeDowncast(value, to: PyRange.self).iterator(reversed: true, visible: true) }
            guard [.list, .tuple, .str, .dictView].contains(value.kind) else {
                throw PyError(.typeError, "'\(value.typeName)' object is not reversible")
            }
            return PyIterator(elements: try Self.elements(of: value).reversed(), visible: true)
        }
        builtin("enumerate") { _, arguments throws(PyError) in
            let values = try arguments.bind(["iterable", "start"], required: 1)
            let start = try values[1]?.intValue("enumerate() start") ?? 0
            let items = try Self.elements(of: values[0]!)
            guard items.isEmpty || start <= Int.max - (items.count - 1) else { throw PyError(.overflowError, "enumerate() counts past 64 bits") }
            return PyIterator(elements: items.enumerated().map { PyTuple([PyInt.make(start + $0.offset), $0.element]) as PyObject },
                              visible: true)
        }
        builtin("zip") { _, arguments throws(PyError) in
            if let keyword = arguments.keywords.first {
                throw PyError(.notImplementedError, "zip() keyword '\(keyword.name)' is not supported")
            }
            var columns: [[PyObject]] = []
            for value in arguments.positional { columns.append(try Self.elements(of: value)) }
            let count = columns.map(\.count).min() ?? 0
            return PyIterator(elements: (0..<count).map { row in PyTuple(columns.map { $0[row] }) as PyObject }, visible: true)
        }
        for name in ["min", "max"] {
            builtin(name) { interpreter, arguments throws(PyError) in
                let options = try Arguments(positional: [], keywords: arguments.keywords, function: name).bind(["key", "default"])
                let items = arguments.positional.count == 1 ? try Self.elements(of: arguments.positional[0]) : arguments.positional
                guard !arguments.positional.isEmpty else { throw PyError(.typeError, "\(name) expected at least 1 argument, got 0") }
                guard var best = items.first else {
                    if let fallback = options[1] { return fallback }
                    throw PyError(.valueError, "\(name)() arg is an empty sequence")
                }
                let key = options[0].flatMap { $0.kind == .none ? nil : $0 }
                var bestKey = try key.map { (key) throws(PyError) in try interpreter.invoke(key, [best]) } ?? best
                for item in items.dropFirst() {
                    let itemKey = try key.map { (key) throws(PyError) in try interpreter.invoke(key, [item]) } ?? item
                    // The first of equal items wins, as in Python.
                    if try Self.compare(name == "min" ? .less : .greater, itemKey, bestKey) { (best, bestKey) = (item, itemKey) }
                }
                return best
            }
        }
        builtin("sum") { _, arguments throws(PyError) in
            let values = try arguments.bind(["iterable", "start"], required: 1)
            var total = values[1] ?? PyInt.make(0)
            if total.kind == .str { throw PyError(.typeError, "sum() can't sum strings [use ''.join(seq) instead]") }
            for item in try Self.elements(of: values[0]!) { total = try Self.binary(.add, total, item) }
            return total
        }
        builtin("any") { _, arguments throws(PyError) in
            PyBool.of(try Self.elements(of: try arguments.exactly(1...1)[0]).contains(where: Self.truth))
        }
        builtin("all") { _, arguments throws(PyError) in
            PyBool.of(try Self.elements(of: try arguments.exactly(1...1)[0]).allSatisfy(Self.truth))
        }
        builtin("round") { _, arguments throws(PyError) in
            let values = try arguments.bind(["number", "ndigits"], required: 1)
            let number = values[0]!
            let digits = values[1].flatMap { $0.kind == .none ? nil : $0 }
            if number.kind == .int || number.kind == .bool {
                guard let digits else { return PyInt.make(try number.intValue("round()")) }
                let places = try digits.intValue("round() ndigits")
                guard places < 0 else { return PyInt.make(try number.intValue("round()")) }
                let value = try number.intValue("round()")
                guard -places <= 18 else { return PyInt.make(0) }
                let unit = (0..<(-places)).reduce(1) { total, _ in total * 10 }
                // Half to even on the integers themselves, as Python rounds ints.
                var quotient = value / unit, remainder = value % unit
                if remainder < 0 { quotient -= 1; remainder += unit }
                if remainder * 2 > unit || (remainder * 2 == unit && quotient % 2 != 0) { quotient += 1 }
                let (rounded, overflow) = quotient.multipliedReportingOverflow(by: unit)
                guard !overflow else { throw PyError(.overflowError, "round() overflows 64 bits") }
                return PyInt.make(rounded)
            }
            let value = try number.doubleValue("round()")
            guard let digits else {
                guard value.isFinite else {
                    throw PyError(value.isNaN ? .valueError : .overflowError, "cannot convert float \(Self.floatRepr(value)) to integer")
                }
                guard let rounded = Int(exactly: value.rounded(.toNearestOrEven)) else {
                    throw PyError(.overflowError, "round(\(Self.floatRepr(value))) does not fit GILLab's 64-bit ints")
                }
                return PyInt.make(rounded)
            }
            // Python rounds the decimal value half to even; printing with %.Nf does the same.
            let places = try digits.intValue("round() ndigits")
            guard places >= 0 else {
                let unit = pow10(-places)
                return PyFloat((value / unit).rounded(.toNearestOrEven) * unit)
            }
            return PyFloat(Double(try Self.format(PyFloat(value), ".\(min(places, 100))f")) ?? value)
        }
        builtin("divmod") { _, arguments throws(PyError) in
            let values = try arguments.exactly(2...2)
            return PyTuple([try Self.binary(.floorDivide, values[0], values[1]), try Self.binary(.modulo, values[0], values[1])])
        }
        builtin("pow") { _, arguments throws(PyError) in
            let values = try arguments.exactly(2...2)
            return try Self.binary(.power, values[0], values[1])
        }
        builtin("chr") { _, arguments throws(PyError) in
            let code = try arguments.exactly(1...1)[0].intValue("chr()")
            guard let scalar = UnicodeScalar(UInt32(clamping: max(code, 0))), code >= 0 else {
                throw PyError(.valueError, "chr() arg not in range(0x110000)")
            }
            return PyStr(String(Character(scalar)))
        }
        builtin("ord") { _, arguments throws(PyError) in
            let text = try arguments.exactly(1...1)[0].stringValue("ord() argument")
            guard text.unicodeScalars.count == 1 else {
                throw PyError(.typeError, "ord() expected a character, but string of length \(text.count) found")
            }
            return PyInt.make(Int(text.unicodeScalars.first!.value))
        }
        builtin("hex") { _, arguments throws(PyError) in
            let value = try arguments.exactly(1...1)[0].intValue("hex()")
            return PyStr((value < 0 ? "-0x" : "0x") + String(value.magnitude, radix: 16))
        }
        builtin("format") { _, arguments throws(PyError) in
            let values = try arguments.exactly(1...2)
            return PyStr(try Self.format(values[0], values.count == 2 ? try values[1].stringValue("format() spec") : ""))
        }
        builtin("isinstance") { _, arguments throws(PyError) in
            let values = try arguments.exactly(2...2)
            return PyBool.of(try Self.isInstance(values[0], values[1]))
        }
        builtin("print") { interpreter, arguments throws(PyError) in
            let options = try Arguments(positional: [], keywords: arguments.keywords, function: "print").bind(["sep", "end", "flush"])
            func text(_ object: PyObject?, _ fallback: String, _ what: String) throws(PyError) -> String {
                guard let object, object.kind != .none else { return fallback }
                guard object.kind == .str else { throw PyError(.typeError, "\(what) must be None or a string, not \(object.typeName)") }
                return unsafeDowncast(object, to: PyStr.self).value
            }
            let line = try arguments.positional.map { (value) throws(PyError) in try Interpreter.str(value) }.joined(separator: try text(options[0], " ", "sep"))
                + (try text(options[1], "\n", "end"))
            interpreter.program.write(line)
            return PyNone.shared
        }
        for kind in PyError.Kind.allCases where kind != .queueEmpty && kind != .queueFull {
            program.define(kind.rawValue, PyExceptionType.all[kind]!)
        }
        for name in ["map", "filter"] {
            unsupported(name, "\(name)() is not supported; use a list comprehension")
        }
        for name in ["open", "input"] { unsupported(name, "\(name)() is not supported: programs do no file or console input") }
        for name in ["set", "frozenset"] { unsupported(name, "sets are not supported; use a dict with True values") }
        for name in ["iter", "next"] { unsupported(name, "\(name)() is not supported; use a for loop") }
        for name in ["getattr", "setattr", "hasattr", "type", "id", "hash", "globals", "locals", "eval", "exec",
                     "super", "object", "bytes", "bytearray", "complex", "vars", "dir", "callable"] {
            unsupported(name, "\(name)() is not supported by GILLab's interpreter")
        }
    }

    /// Registers a builtin that takes keywords and sees the calling interpreter.
    func builtin(_ name: String, _ body: @escaping (Interpreter, Arguments) throws(PyError) -> PyObject) {
        program.define(name, PyNative(builtin: name, body))
    }

    private func unsupported(_ name: String, _ message: String) {
        builtin(name) { _, _ throws(PyError) in throw PyError(.notImplementedError, message) }
    }

    /// `isinstance(value, classes)`: the builtin types by their conversion functions (`int`,
    /// `str`, ...), exception classes, or a tuple of them.
    static func isInstance(_ value: PyObject, _ classes: PyObject) throws(PyError) -> Bool {
        switch classes.kind {
        case .tuple:
            for candidate in unsafeDowncast(classes, to: PyTuple.self).items where try isInstance(value, candidate) { return true }
            return false
        case .exceptionType:
            let kind = unsafeDowncast(classes, to: PyExceptionType.self).exceptionKind
            return value.kind == .exception && unsafeDowncast(value, to: PyException.self).error.kind.isSubclass(of: kind)
        case .native:
            let name = unsafeDowncast(classes, to: PyNative.self).name
            switch name {
            case "int": return value.kind == .int || value.kind == .bool  // bool is a subclass of int
            case "float", "str", "list", "dict", "tuple", "bool", "range": return value.typeName == name
            default: break
            }
        default: break
        }
        throw PyError(.typeError, "isinstance() arg 2 must be a type or tuple of types (GILLab knows int, float, str, bool, list, dict, tuple, range and the exception classes)")
    }
}

private func pow10(_ exponent: Int) -> Double {
    var value = 1.0
    for _ in 0..<min(exponent, 400) { value *= 10 }
    return value
}

extension PyIterator {
    /// The remaining elements.
    func drain() -> [PyObject] {
        var items: [PyObject] = []
        while let next = advance() { items.append(next) }
        return items
    }
}
