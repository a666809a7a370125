internal import CShims
import GILLabLock
import Synchronization

// The objects a program reaches through names rather than literals: modules, exceptions and
// their classes, and the arguments a builtin receives. The modules themselves (threading, time,
// math, queue) are in StandardModules.swift; the lab adds `gillab`.

/// An object whose attributes a program reads (`time.sleep`, `t.name`) and whose methods it
/// calls: modules and the objects the standard modules make.
protocol AttributeHolder: PyObject {
    /// The attribute, or `nil` when there is none (the caller raises AttributeError).
    func attribute(_ name: String, in interpreter: Interpreter) throws(PyError) -> PyObject?
    /// Sets an attribute; the default refuses, as for builtin types.
    func setAttribute(_ name: String, to value: PyObject) throws(PyError)
}

extension AttributeHolder {
    func setAttribute(_ name: String, to value: PyObject) throws(PyError) {
        throw PyError(.attributeError, "'\(typeName)' object attribute '\(name)' is read-only")
    }
}

/// A module: a name and its attributes, made when a program first imports it.
public final class PyModule: PyObject, AttributeHolder {
    /// The module's name.
    public let name: String
    @exclusivity(unchecked) private var storage: [String: PyObject]
    /// As ``PyDict``'s: lock each access when threads running at once may share the module.
    private let shared: Bool
    private let guardWord = Atomic<UInt8>(0)

    init(name: String, attributes: [String: PyObject]) {
        self.name = name
        storage = attributes
        shared = gl_shared_objects() != 0
        super.init(kind: .module)
    }

    /// The module's namespace; locked per access for a module of a program under `free`.
    var attributes: [String: PyObject] {
        get {
            if shared { lockObject(guardWord); defer { unlockObject(guardWord) }; return storage }
            return storage
        }
        _modify {
            if shared { lockObject(guardWord) }
            defer { if shared { unlockObject(guardWord) } }
            yield &storage
        }
    }

    /// One attribute, read in place (the `attributes` getter would copy the namespace, and every
    /// thread would retain and release its one buffer).
    func lookup(_ name: String) -> PyObject? {
        if shared { lockObject(guardWord); defer { unlockObject(guardWord) }; return storage[name] }
        return storage[name]
    }

    func attribute(_ attribute: String, in interpreter: Interpreter) throws(PyError) -> PyObject? {
        lookup(attribute)
    }

    func setAttribute(_ name: String, to value: PyObject) throws(PyError) {
        attributes[name] = value
    }
}

/// An exception object: what `except ValueError as e` binds, and what `raise` raises.
public final class PyException: PyObject, AttributeHolder {
    /// The exception, with its traceback so far.
    public let error: PyError

    init(_ error: PyError) {
        self.error = error
        super.init(kind: .exception)
    }

    func attribute(_ name: String, in interpreter: Interpreter) throws(PyError) -> PyObject? {
        switch name {
        case "args": PyTuple(error.message.isEmpty ? [] : [PyStr(error.message)])
        default: nil
        }
    }
}

/// An exception class: `ValueError`. Calling it makes an exception object.
public final class PyExceptionType: PyObject {
    /// The class.
    public let exceptionKind: PyError.Kind

    private init(_ kind: PyError.Kind) {
        exceptionKind = kind
        super.init(kind: .exceptionType, immortal: true)
    }

    /// One immortal object per class, shared by every interpreter.
    nonisolated(unsafe) static let all: [PyError.Kind: PyExceptionType] = unlockedConstant {
        Dictionary(uniqueKeysWithValues: PyError.Kind.allCases.map { ($0, PyExceptionType($0)) })
    }

    /// The exception `ValueError(arguments...)` makes: its message is `str` of the one
    /// argument, or the arguments' tuple's repr, as `str(exception)` in CPython.
    func make(_ arguments: [PyObject]) throws(PyError) -> PyException {
        let message = switch arguments.count {
        case 0: ""
        case 1: exceptionKind == .keyError ? try Interpreter.repr(arguments[0]) : try Interpreter.str(arguments[0])
        default: try Interpreter.repr(PyTuple(arguments))
        }
        return PyException(PyError(exceptionKind, message))
    }
}

/// The arguments of a call to a builtin: positional values and keywords.
struct Arguments {
    var positional: [PyObject]
    var keywords: [(name: String, value: PyObject)]
    /// The builtin's name, for error messages.
    var function: String

    /// Binds the arguments to `parameters` by position, then by keyword, as CPython binds a
    /// call; `required` of them must be given. Raises TypeError for too many, an unknown or
    /// repeated keyword, or a missing one.
    func bind(_ parameters: [String], required: Int = 0) throws(PyError) -> [PyObject?] {
        guard positional.count <= parameters.count else {
            throw PyError(.typeError, "\(function)() takes at most \(parameters.count) argument\(parameters.count == 1 ? "" : "s") (\(positional.count) given)")
        }
        var values: [PyObject?] = positional.map { $0 } + Array(repeating: nil, count: parameters.count - positional.count)
        for (name, value) in keywords {
            guard let index = parameters.firstIndex(of: name) else {
                throw PyError(.typeError, "\(function)() got an unexpected keyword argument '\(name)'")
            }
            guard values[index] == nil else {
                throw PyError(.typeError, "\(function)() got multiple values for argument '\(name)'")
            }
            values[index] = value
        }
        for index in 0..<required where values[index] == nil {
            throw PyError(.typeError, "\(function)() missing required argument '\(parameters[index])' (pos \(index + 1))")
        }
        return values
    }

    /// The positional arguments, when there are `count` of them and no keywords.
    func exactly(_ count: ClosedRange<Int>) throws(PyError) -> [PyObject] {
        if let keyword = keywords.first {
            throw PyError(.typeError, "\(function)() takes no keyword arguments (got '\(keyword.name)')")
        }
        guard count.contains(positional.count) else {
            let expected = count.lowerBound == count.upperBound ? "exactly \(count.lowerBound)"
                : positional.count < count.lowerBound ? "at least \(count.lowerBound)" : "at most \(count.upperBound)"
            throw PyError(.typeError, "\(function)() takes \(expected) argument\(count.upperBound == 1 ? "" : "s") (\(positional.count) given)")
        }
        return positional
    }
}

// MARK: - Taking arguments apart

extension PyObject {
    /// The int value, or TypeError naming `what`.
    func intValue(_ what: String) throws(PyError) -> Int {
        switch kind {
        case .int: return unsafeDowncast(self, to: PyInt.self).value
        case .bool: return unsafeDowncast(self, to: PyBool.self).value ? 1 : 0
        default: throw PyError(.typeError, "\(what) must be an integer, not '\(typeName)'")
        }
    }

    /// The value as a double (ints convert), or TypeError naming `what`.
    func doubleValue(_ what: String) throws(PyError) -> Double {
        switch kind {
        case .float: return unsafeDowncast(self, to: PyFloat.self).value
        case .int: return Double(unsafeDowncast(self, to: PyInt.self).value)
        case .bool: return unsafeDowncast(self, to: PyBool.self).value ? 1 : 0
        default: throw PyError(.typeError, "\(what) must be a real number, not '\(typeName)'")
        }
    }

    /// The string value, or TypeError naming `what`.
    func stringValue(_ what: String) throws(PyError) -> String {
        guard kind == .str else { throw PyError(.typeError, "\(what) must be str, not '\(typeName)'") }
        return unsafeDowncast(self, to: PyStr.self).value
    }
}

// MARK: - Modules from outside the interpreter

extension Interpreter {
    /// Makes `import name` load a module whose attributes `make` returns, made on the module's
    /// first import, with the lock held (the lab registers `gillab` this way).
    public func registerModule(_ name: String, _ make: @escaping (Interpreter) -> [String: PyObject]) {
        program.moduleMakers[name] = make
    }

    /// A native function for a module, taking positional and keyword arguments as a Python
    /// function with these parameters would: `body` receives the calling thread's interpreter
    /// (its `thread` releases the lock) and each parameter's value, or `nil` for one left out
    /// (the first `required` cannot be). The body must not capture an interpreter: the module
    /// outlives none of them, and a captured one would never be freed.
    public func function(_ name: String, parameters: [String], required: Int,
                         _ body: @escaping (Interpreter, [PyObject?]) throws(PyError) -> PyObject) -> PyObject {
        PyNative(builtin: name) { interpreter, arguments throws(PyError) in
            try body(interpreter, try arguments.bind(parameters, required: required))
        }
    }
}

// MARK: - Reading objects from outside the interpreter

extension Interpreter {
    /// Python's truth of `object`.
    public func isTrue(_ object: PyObject) -> Bool { Self.truth(object) }
    /// The value of an int or bool; `nil` for anything else.
    public func intValue(of object: PyObject) -> Int? { try? object.intValue("") }
    /// The value of a float, int or bool; `nil` for anything else.
    public func doubleValue(of object: PyObject) -> Double? { try? object.doubleValue("") }
    /// The value of a str; `nil` for anything else.
    public func stringValue(of object: PyObject) -> String? { try? object.stringValue("") }
}
