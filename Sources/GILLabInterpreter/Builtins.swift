// The builtins programs use. Each is a native function that keeps the lock, as CPython's do.

extension Interpreter {
    func installBuiltins() {
        register("range", arity: 1...3) { _, _, args throws(PyError) in
            let values = try args.map { (arg) throws(PyError) -> Int in
                guard arg.kind == .int else { throw PyError(.typeError, "'\(arg.typeName)' object cannot be interpreted as an integer") }
                return unsafeDowncast(arg, to: PyInt.self).value
            }
            let (start, stop, step) = values.count == 1 ? (0, values[0], 1)
                : (values[0], values[1], values.count == 3 ? values[2] : 1)
            guard step != 0 else { throw PyError(.valueError, "range() arg 3 must not be zero") }
            return PyIterator(range: start, stop, step)
        }
        register("len", arity: 1...1) { _, _, args throws(PyError) in
            let object = args[0]
            switch object.kind {
            case .list: return PyInt.make(unsafeDowncast(object, to: PyList.self).items.count)
            case .dict: return PyInt.make(unsafeDowncast(object, to: PyDict.self).entries.count)
            case .str: return PyInt.make(unsafeDowncast(object, to: PyStr.self).value.count)
            default: throw PyError(.typeError, "object of type '\(object.typeName)' has no len()")
            }
        }
        register("int", arity: 1...1) { _, _, args throws(PyError) in
            let object = args[0]
            switch object.kind {
            case .int: return object
            case .bool: return PyInt.make(unsafeDowncast(object, to: PyBool.self).value ? 1 : 0)
            case .float:
                let value = unsafeDowncast(object, to: PyFloat.self).value
                guard let truncated = Int(exactly: value.rounded(.towardZero)) else {
                    throw PyError(.overflowError, "cannot convert float \(Interpreter.floatRepr(value)) to integer")
                }
                return PyInt.make(truncated)
            case .str:
                let text = unsafeDowncast(object, to: PyStr.self).value
                guard let value = Int(text.strippingWhitespace()) else {
                    throw PyError(.valueError, "invalid literal for int() with base 10: '\(text)'")
                }
                return PyInt.make(value)
            default: throw PyError(.typeError, "int() argument must be a string or a number, not '\(object.typeName)'")
            }
        }
        register("float", arity: 1...1) { _, _, args throws(PyError) in
            let object = args[0]
            switch object.kind {
            case .float: return object
            case .int: return PyFloat(Double(unsafeDowncast(object, to: PyInt.self).value))
            case .str:
                let text = unsafeDowncast(object, to: PyStr.self).value
                guard let value = Double(text.strippingWhitespace()) else {
                    throw PyError(.valueError, "could not convert string to float: '\(text)'")
                }
                return PyFloat(value)
            default: throw PyError(.typeError, "float() argument must be a string or a number, not '\(object.typeName)'")
            }
        }
        register("str", arity: 1...1) { _, _, args in PyStr(Interpreter.str(args[0])) }
        register("abs", arity: 1...1) { _, _, args throws(PyError) in
            switch args[0].kind {
            case .int:
                let value = unsafeDowncast(args[0], to: PyInt.self).value
                guard value != .min else { throw PyError(.overflowError, "abs() overflows 64 bits") }
                return PyInt.make(abs(value))
            case .float: return PyFloat(abs(unsafeDowncast(args[0], to: PyFloat.self).value))
            default: throw PyError(.typeError, "bad operand type for abs(): '\(args[0].typeName)'")
            }
        }
        register("sorted", arity: 1...1) { _, _, args throws(PyError) in
            var items = unsafeDowncast(try Interpreter.iterator(args[0]), to: PyIterator.self).drain()
            var failure: PyError?
            items.sort { a, b in
                do throws(PyError) { return try Interpreter.compare(.less, a, b) } catch {
                    failure = failure ?? error
                    return false
                }
            }
            if let failure { throw failure }
            return PyList(items)
        }
    }
}

extension PyIterator {
    /// The remaining elements.
    func drain() -> [PyObject] {
        var items: [PyObject] = []
        while let next = advance() { items.append(next) }
        return items
    }
}
