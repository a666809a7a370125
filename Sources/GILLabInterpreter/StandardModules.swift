import GILLabLock
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The standard modules a short script imports: `threading`, `time`, `math` and `queue`, with
// the parts of their APIs that the DocC article "Writing a program for GILLab" lists. Every call
// that blocks (sleep, join, a lock's or a queue's wait) releases the interpreter lock while it
// waits, as CPython's do (`Py_BEGIN_ALLOW_THREADS` around the wait), and ends on Ctrl-C.

extension Interpreter {
    func installStandardModules() {
        program.moduleMakers["time"] = { _ in Self.timeModule() }
        program.moduleMakers["math"] = { _ in Self.mathModule() }
        program.moduleMakers["threading"] = { _ in Self.threadingModule() }
        program.moduleMakers["queue"] = { _ in Self.queueModule() }
        program.moduleMakers["sys"] = { interpreter in
            [
                "argv": PyList(interpreter.program.argv.map { PyStr($0) as PyObject }),
                "getswitchinterval": PyNative(builtin: "getswitchinterval") { interpreter, arguments throws(PyError) in
                    _ = try arguments.exactly(0...0)
                    return PyFloat(Double(interpreter.thread.lock.configuration.switchIntervalNanoseconds) / 1e9)
                },
                "setswitchinterval": PyNative(builtin: "setswitchinterval") { _, _ throws(PyError) in
                    throw PyError(.notImplementedError, "the switch interval is set for the whole run: gillab exec --switch-interval")
                },
            ]
        }
    }

    /// The module `name`, made on its first import.
    func importModule(_ name: String) throws(PyError) -> PyModule {
        try program.exclusive { () throws(PyError) -> PyModule in
            if let module = program.modules[name] { return module }
            guard let make = program.moduleMakers[name] else {
                throw PyError(.moduleNotFoundError, "No module named '\(name)'; GILLab's modules are \(program.moduleMakers.keys.sorted().joined(separator: ", "))")
            }
            let module = PyModule(name: name, attributes: make(self))
            program.modules[name] = module
            return module
        }
    }

    private static func function(_ name: String, _ body: @escaping (Interpreter, Arguments) throws(PyError) -> PyObject) -> (String, PyObject) {
        (name, PyNative(builtin: name, body))
    }

    // MARK: time

    private static func timeModule() -> [String: PyObject] {
        Dictionary(uniqueKeysWithValues: [
            function("sleep") { interpreter, arguments throws(PyError) in
                let seconds = try arguments.exactly(1...1)[0].doubleValue("sleep() argument")
                guard seconds >= 0, seconds.isFinite else { throw PyError(.valueError, "sleep length must be non-negative") }
                try interpreter.sleep(seconds: seconds)
                return PyNone.shared
            },
            function("perf_counter") { _, arguments throws(PyError) in
                _ = try arguments.exactly(0...0)
                return PyFloat(Double(monotonicNanoseconds()) / 1e9)
            },
            function("monotonic") { _, arguments throws(PyError) in
                _ = try arguments.exactly(0...0)
                return PyFloat(Double(systemMonotonicNanoseconds()) / 1e9)
            },
            function("perf_counter_ns") { _, arguments throws(PyError) in
                _ = try arguments.exactly(0...0)
                return PyInt.make(Int(monotonicNanoseconds()))
            },
            function("monotonic_ns") { _, arguments throws(PyError) in
                _ = try arguments.exactly(0...0)
                return PyInt.make(Int(systemMonotonicNanoseconds()))
            },
            function("time") { _, arguments throws(PyError) in
                _ = try arguments.exactly(0...0)
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                return PyFloat(Double(now.tv_sec) + Double(now.tv_nsec) / 1e9)
            },
        ])
    }

    // MARK: math

    private static func mathModule() -> [String: PyObject] {
        func unary(_ name: String, _ body: @escaping (Double) -> Double, domain: ((Double) -> Bool)? = nil) -> (String, PyObject) {
            function(name) { _, arguments throws(PyError) in
                let x = try arguments.exactly(1...1)[0].doubleValue("math.\(name)() argument")
                if let domain, !domain(x) { throw PyError(.valueError, "math domain error") }
                return PyFloat(body(x))
            }
        }
        func rounding(_ name: String, _ rule: FloatingPointRoundingRule) -> (String, PyObject) {
            function(name) { _, arguments throws(PyError) in
                let value = try arguments.exactly(1...1)[0]
                if value.kind == .int || value.kind == .bool { return PyInt.make(try value.intValue(name)) }
                let x = try value.doubleValue("math.\(name)() argument")
                guard let result = Int(exactly: x.rounded(rule)) else {
                    throw PyError(x.isNaN ? .valueError : .overflowError, "cannot convert float \(Interpreter.floatRepr(x)) to integer")
                }
                return PyInt.make(result)
            }
        }
        var entries: [(String, PyObject)] = [
            ("pi", PyFloat(Double.pi)), ("e", PyFloat(M_E)), ("tau", PyFloat(2 * Double.pi)),
            ("inf", PyFloat(.infinity)), ("nan", PyFloat(.nan)),
            unary("sqrt", { $0.squareRoot() }, domain: { $0 >= 0 || $0.isNaN }),
            unary("exp", { Glibc.exp($0) }),
            unary("log2", { Glibc.log2($0) }, domain: { $0 > 0 || $0.isNaN }),
            unary("log10", { Glibc.log10($0) }, domain: { $0 > 0 || $0.isNaN }),
            unary("sin", { Glibc.sin($0) }), unary("cos", { Glibc.cos($0) }), unary("tan", { Glibc.tan($0) }),
            unary("asin", { Glibc.asin($0) }, domain: { abs($0) <= 1 || $0.isNaN }),
            unary("acos", { Glibc.acos($0) }, domain: { abs($0) <= 1 || $0.isNaN }),
            unary("atan", { Glibc.atan($0) }), unary("fabs", { abs($0) }),
            unary("degrees", { $0 * 180 / .pi }), unary("radians", { $0 * .pi / 180 }),
            rounding("floor", .down), rounding("ceil", .up), rounding("trunc", .towardZero),
        ]
        entries += [
            function("log") { _, arguments throws(PyError) in
                let values = try arguments.exactly(1...2)
                let x = try values[0].doubleValue("math.log() argument")
                guard x > 0 else { throw PyError(.valueError, "math domain error") }
                guard values.count == 2 else { return PyFloat(Glibc.log(x)) }
                let base = try values[1].doubleValue("math.log() base")
                guard base > 0 && base != 1 else { throw PyError(base == 1 ? .zeroDivisionError : .valueError, "math domain error") }
                return PyFloat(Glibc.log(x) / Glibc.log(base))
            },
            function("pow") { _, arguments throws(PyError) in
                let values = try arguments.exactly(2...2)
                return PyFloat(Glibc.pow(try values[0].doubleValue("math.pow() x"), try values[1].doubleValue("math.pow() y")))
            },
            function("atan2") { _, arguments throws(PyError) in
                let values = try arguments.exactly(2...2)
                return PyFloat(Glibc.atan2(try values[0].doubleValue("math.atan2() y"), try values[1].doubleValue("math.atan2() x")))
            },
            function("hypot") { _, arguments throws(PyError) in
                var total = 0.0
                for value in arguments.positional { let x = try value.doubleValue("math.hypot() argument"); total += x * x }
                return PyFloat(total.squareRoot())
            },
            function("isnan") { _, arguments throws(PyError) in PyBool.of(try arguments.exactly(1...1)[0].doubleValue("math.isnan()").isNaN) },
            function("isinf") { _, arguments throws(PyError) in PyBool.of(try arguments.exactly(1...1)[0].doubleValue("math.isinf()").isInfinite) },
            function("isclose") { _, arguments throws(PyError) in
                let values = try arguments.bind(["a", "b", "rel_tol", "abs_tol"], required: 2)
                let (a, b) = (try values[0]!.doubleValue("math.isclose() a"), try values[1]!.doubleValue("math.isclose() b"))
                let relative = try values[2]?.doubleValue("rel_tol") ?? 1e-9
                let absolute = try values[3]?.doubleValue("abs_tol") ?? 0
                if a == b { return PyBool.true }
                if a.isInfinite || b.isInfinite { return PyBool.false }
                let difference = abs(a - b)
                return PyBool.of(difference <= max(relative * max(abs(a), abs(b)), absolute))
            },
            function("gcd") { _, arguments throws(PyError) in
                var result = 0
                for value in arguments.positional {
                    var (a, b) = (abs(try value.intValue("math.gcd() argument")), result)
                    while a != 0 { (a, b) = (b % a, a) }
                    result = b
                }
                return PyInt.make(result)
            },
            function("factorial") { _, arguments throws(PyError) in
                let n = try arguments.exactly(1...1)[0].intValue("math.factorial() argument")
                guard n >= 0 else { throw PyError(.valueError, "factorial() not defined for negative values") }
                guard n <= 20 else { throw PyError(.overflowError, "factorial(\(n)) overflows 64 bits") }
                return PyInt.make((1...max(n, 1)).reduce(1, *))
            },
            function("fsum") { _, arguments throws(PyError) in
                // Kahan–Babuška summation: close to CPython's exact fsum for the sums scripts make.
                var (sum, compensation) = (0.0, 0.0)
                for value in try Interpreter.elements(of: try arguments.exactly(1...1)[0]) {
                    let x = try value.doubleValue("math.fsum() element")
                    let total = sum + x
                    compensation += abs(sum) >= abs(x) ? (sum - total) + x : (x - total) + sum
                    sum = total
                }
                return PyFloat(sum + compensation)
            },
        ]
        return Dictionary(uniqueKeysWithValues: entries)
    }

    // MARK: threading

    private static func threadingModule() -> [String: PyObject] {
        Dictionary(uniqueKeysWithValues: [
            function("Thread") { interpreter, arguments throws(PyError) in
                let values = try arguments.bind(["group", "target", "name", "args", "kwargs", "daemon"])
                if let group = values[0], group.kind != .none { throw PyError(.valueError, "group argument must be None for now") }
                if let kwargs = values[4], kwargs.kind != .none { throw PyError(.notImplementedError, "Thread(kwargs=) is not supported; pass args") }
                let target = values[1].flatMap { $0.kind == .none ? nil : $0 }
                let args = try values[3].map { (value) throws(PyError) in try Interpreter.elements(of: value) } ?? []
                let number = interpreter.program.exclusive { () -> Int in
                    interpreter.program.threadCount += 1
                    return interpreter.program.threadCount
                }
                var name = "Thread-\(number)"
                if let target, target.kind == .function { name += " (\(unsafeDowncast(target, to: PyFunction.self).code.name))" }
                if let given = values[2], given.kind != .none { name = try Interpreter.str(given) }
                let thread = PyThreadObject(name: name, target: target, arguments: args)
                if let daemon = values[5], daemon.kind != .none { thread.waits.withLock { $0.daemon = Interpreter.truth(daemon) } }
                return thread
            },
            function("Lock") { _, arguments throws(PyError) in
                _ = try arguments.exactly(0...0)
                return PyLockObject()
            },
            function("Event") { _, arguments throws(PyError) in
                _ = try arguments.exactly(0...0)
                return PyEventObject()
            },
            function("current_thread") { interpreter, arguments throws(PyError) in
                _ = try arguments.exactly(0...0)
                return interpreter.currentThreadObject
            },
            function("active_count") { interpreter, arguments throws(PyError) in
                _ = try arguments.exactly(0...0)
                return PyInt.make(1 + interpreter.program.exclusive { interpreter.program.threads }.filter(\.isAlive).count)
            },
            ("RLock", PyNative(builtin: "RLock") { _, _ throws(PyError) in
                throw PyError(.notImplementedError, "threading.RLock is not supported; use threading.Lock")
            }),
            ("Condition", PyNative(builtin: "Condition") { _, _ throws(PyError) in
                throw PyError(.notImplementedError, "threading.Condition is not supported; use queue.Queue or threading.Event")
            }),
        ])
    }

    // MARK: queue

    private static func queueModule() -> [String: PyObject] {
        Dictionary(uniqueKeysWithValues: [
            function("Queue") { _, arguments throws(PyError) in
                let values = try arguments.bind(["maxsize"])
                return PyQueueObject(capacity: try values[0]?.intValue("Queue() maxsize") ?? 0)
            },
            ("Empty", PyExceptionType.all[.queueEmpty]!),
            ("Full", PyExceptionType.all[.queueFull]!),
        ])
    }
}

// MARK: - Objects of the standard modules

/// The `block` and `timeout` arguments of a blocking call, as seconds to wait (`nil`: forever).
private func waitTime(_ block: PyObject?, _ timeout: PyObject?, _ function: String) throws(PyError) -> Double? {
    let blocking = block.map(Interpreter.truth) ?? true
    guard blocking else { return 0 }
    guard let timeout, timeout.kind != .none else { return nil }
    let seconds = try timeout.doubleValue("\(function)() timeout")
    guard seconds >= 0 else { throw PyError(.valueError, "'timeout' must be a non-negative number") }
    return seconds
}

/// `threading.Thread`: a native thread with its own thread state and interpreter, sharing the
/// program's globals.
final class PyThreadObject: PyExtensionObject, AttributeHolder {
    /// Cleared, with the lock held, when the thread ends, so that no reference to an
    /// interpreter object is dropped without the lock. Read and written only by the thread
    /// itself once it has started.
    @exclusivity(unchecked) var target: PyObject?
    @exclusivity(unchecked) var arguments: [PyObject]

    /// What others read and change while the thread runs (under `free`, at the same time), and
    /// what a join waits on.
    struct Fields {
        var name: String
        var daemon = false
        var started: Bool
        var finished = false
        var native: NativeThread?
    }
    let waits: WaitState<Fields>

    init(name: String, target: PyObject?, arguments: [PyObject], main: Bool = false) {
        waits = WaitState(Fields(name: name, started: main))
        self.target = target
        self.arguments = arguments
        super.init(typeName: "Thread")
    }

    var name: String {
        get { waits.withLock { $0.name } }
        set { waits.withLock { $0.name = newValue } }
    }

    var daemon: Bool { waits.withLock { $0.daemon } }
    var started: Bool { waits.withLock { $0.started } }
    var isFinished: Bool { waits.withLock { $0.finished } }

    var isAlive: Bool { started && !isFinished }

    func attribute(_ attribute: String, in interpreter: Interpreter) throws(PyError) -> PyObject? {
        switch attribute {
        case "name": return PyStr(name)
        case "daemon": return PyBool.of(daemon)
        case "start": return bound("start") { interpreter, arguments throws(PyError) in
            _ = try arguments.exactly(0...0)
            try self.start(in: interpreter)
            return PyNone.shared
        }
        case "join": return bound("join") { interpreter, arguments throws(PyError) in
            let values = try arguments.bind(["timeout"])
            guard self.started else { throw PyError(.runtimeError, "cannot join thread before it is started") }
            guard self !== interpreter.currentThreadObject else { throw PyError(.runtimeError, "cannot join current thread") }
            _ = try interpreter.block(self.waits, seconds: try waitTime(nil, values[0], "join")) { $0.finished }
            return PyNone.shared
        }
        case "is_alive": return bound("is_alive") { _, arguments throws(PyError) in
            _ = try arguments.exactly(0...0)
            return PyBool.of(self.isAlive)
        }
        default: return nil
        }
    }

    func setAttribute(_ attribute: String, to value: PyObject) throws(PyError) {
        switch attribute {
        case "name": name = try Interpreter.str(value)
        case "daemon":
            let daemon = Interpreter.truth(value)
            try waits.withLock { (fields) throws(PyError) in
                guard !fields.started else { throw PyError(.runtimeError, "cannot set daemon status of active thread") }
                fields.daemon = daemon
            }
        default: throw PyError(.attributeError, "'Thread' object attribute '\(attribute)' cannot be set")
        }
    }

    private func start(in interpreter: Interpreter) throws(PyError) {
        if interpreter.biased && !interpreter.program.concurrent {
            throw PyError(.runtimeError, "under policy free this interpreter runs one thread: make it with Interpreter(thread:sharedByThreads: true) to start threads that share its objects")
        }
        // The check and the change in one step, so that two threads starting it at once under
        // `free` cannot both pass.
        try waits.withLock { (fields) throws(PyError) in
            guard !fields.started else { throw PyError(.runtimeError, "threads can only be started once") }
            fields.started = true
        }
        interpreter.program.exclusive { interpreter.program.threads.append(self) }  // keeps it alive until the program ends
        let lock = interpreter.thread.lock
        let program = Unmanaged.passUnretained(interpreter.program)
        let me = Unmanaged.passUnretained(self)
        let lockInterpreter = interpreter.thread.interpreter
        let name = self.name
        let handoff = Handoff(program: program, thread: me)
        let waits = self.waits
        // Made and stored holding the mutex, which the new thread needs to mark itself finished:
        // whoever sees it finished also sees `native` set.
        waits.mutex.lock()
        defer { waits.mutex.unlock() }
        waits.state.native = NativeThread {
            let state = lock.makeThreadState(name: name, interpreter: lockInterpreter)
            state.acquire()
            // Every reference to an interpreter object ends inside this scope, before the lock is
            // released for good below: a release made without the lock would race the holder's counts.
            do {
            let program = handoff.program.takeUnretainedValue()
            program.exclusive { program.threadStates.append(state) }
            let threadObject = handoff.thread.takeUnretainedValue()
            do {
                let child = Interpreter(thread: state, program: program, threadObject: threadObject)
                if let target = threadObject.target {
                    do throws(PyError) {
                        _ = try child.invoke(target, threadObject.arguments)
                    } catch where error.kind == .keyboardInterrupt {
                        // Ctrl-C stops every thread; the main thread reports it.
                    } catch {
                        program.errorOutput("Exception in thread \(name):\n\(error.report)\n")
                    }
                }
                threadObject.target = nil
                threadObject.arguments = []
            }
            waits.withLock { $0.finished = true }
            waits.condition.broadcast()
            }
            state.detach()
        }
    }

    /// What a new thread takes across: unretained, since the program's thread list keeps both
    /// alive, and a retain or release made without the lock would race the holder's counts.
    private struct Handoff: @unchecked Sendable {
        let program: Unmanaged<ProgramState>
        let thread: Unmanaged<PyThreadObject>
    }

    /// Waits for the OS thread itself to end (after it has released the lock).
    func joinNative() { waits.withLock { $0.native }?.join() }
}

/// A method of a standard-module object, bound to its receiver.
private func bound(_ name: String, _ body: @escaping (Interpreter, Arguments) throws(PyError) -> PyObject) -> PyNative {
    PyNative(builtin: name, body)
}

/// `threading.Lock`: waiting for it releases the interpreter lock, as in CPython.
final class PyLockObject: PyExtensionObject, AttributeHolder {
    /// Whether it is taken.
    private let waits = WaitState(false)

    init() { super.init(typeName: "lock") }

    func attribute(_ name: String, in interpreter: Interpreter) throws(PyError) -> PyObject? {
        switch name {
        case "acquire", "__enter__":
            return bound(name) { interpreter, arguments throws(PyError) in
                let values = try arguments.bind(["blocking", "timeout"])
                var seconds = try waitTime(values[0], nil, "acquire")
                if let timeout = values[1], timeout.kind != .none {
                    let value = try timeout.doubleValue("acquire() timeout")
                    if value != -1 {
                        guard seconds == nil else { throw PyError(.valueError, "can't specify a timeout for a non-blocking call") }
                        guard value >= 0 else { throw PyError(.valueError, "timeout value must be a non-negative number") }
                        seconds = value
                    }
                }
                let acquired = try interpreter.block(self.waits, seconds: seconds) { locked in
                    if locked { return false }
                    locked = true
                    return true
                }
                return name == "__enter__" ? self : PyBool.of(acquired)
            }
        case "release", "__exit__":
            return bound(name) { _, _ throws(PyError) in
                try self.waits.withLock { (locked) throws(PyError) in
                    guard locked else { throw PyError(.runtimeError, "release unlocked lock") }
                    locked = false
                }
                self.waits.condition.signal()
                return name == "__exit__" ? PyBool.false : PyNone.shared
            }
        case "locked":
            return bound(name) { _, _ throws(PyError) in PyBool.of(self.waits.withLock { $0 }) }
        default: return nil
        }
    }
}

/// `threading.Event`.
final class PyEventObject: PyExtensionObject, AttributeHolder {
    /// Whether it is set.
    private let waits = WaitState(false)

    init() { super.init(typeName: "Event") }

    func attribute(_ name: String, in interpreter: Interpreter) throws(PyError) -> PyObject? {
        switch name {
        case "set", "clear":
            return bound(name) { _, arguments throws(PyError) in
                _ = try arguments.exactly(0...0)
                self.waits.withLock { $0 = name == "set" }
                if name == "set" { self.waits.condition.broadcast() }
                return PyNone.shared
            }
        case "is_set":
            return bound(name) { _, _ throws(PyError) in PyBool.of(self.waits.withLock { $0 }) }
        case "wait":
            return bound(name) { interpreter, arguments throws(PyError) in
                let values = try arguments.bind(["timeout"])
                return PyBool.of(try interpreter.block(self.waits, seconds: try waitTime(nil, values[0], "wait")) { $0 })
            }
        default: return nil
        }
    }
}

/// `queue.Queue`: a FIFO whose blocking `get` and `put` release the interpreter lock while
/// they wait. Its items are interpreter objects, held as retained unmanaged references: a
/// retain or release happens only with the lock held (in `put`, and in `get` once the lock is
/// back), so that a waiter without the lock moves an item's bits and never touches its count.
final class PyQueueObject: PyExtensionObject, AttributeHolder {
    struct Items {
        let capacity: Int
        var items: [Unmanaged<PyObject>] = []
        var head = 0
        var unfinished = 0
        var count: Int { items.count - head }
        var isFull: Bool { capacity > 0 && count >= capacity }
    }
    private let waits: WaitState<Items>

    init(capacity: Int) {
        waits = WaitState(Items(capacity: capacity))
        super.init(typeName: "Queue")
    }

    deinit {
        waits.withLock { queue in for item in queue.items[queue.head...] { item.release() } }
    }

    func attribute(_ name: String, in interpreter: Interpreter) throws(PyError) -> PyObject? {
        switch name {
        case "put", "put_nowait":
            return bound(name) { interpreter, arguments throws(PyError) in
                let values = try arguments.bind(["item", "block", "timeout"], required: 1)
                let seconds = name == "put_nowait" ? 0 : try waitTime(values[1], values[2], "put")
                let item = Unmanaged.passRetained(values[0]!)
                let put: Bool
                let waits = self.waits
                do throws(PyError) {
                    put = try interpreter.block(waits, seconds: seconds) { queue in
                        guard !queue.isFull else { return false }
                        queue.items.append(item)
                        queue.unfinished += 1
                        waits.condition.broadcast()
                        return true
                    }
                } catch {
                    item.release()  // with the lock held again
                    throw error
                }
                guard put else {
                    item.release()
                    throw PyError(.queueFull, "")
                }
                return PyNone.shared
            }
        case "get", "get_nowait":
            return bound(name) { interpreter, arguments throws(PyError) in
                let values = try arguments.bind(["block", "timeout"])
                let seconds = name == "get_nowait" ? 0 : try waitTime(values[0], values[1], "get")
                var taken: Unmanaged<PyObject>?
                let waits = self.waits
                let got = try interpreter.block(waits, seconds: seconds) { queue in
                    guard queue.count > 0 else { return false }
                    taken = queue.items[queue.head]
                    queue.head += 1
                    if queue.head > 64 && queue.head * 2 > queue.items.count {
                        queue.items.removeFirst(queue.head)
                        queue.head = 0
                    }
                    waits.condition.broadcast()
                    return true
                }
                guard got, let taken else { throw PyError(.queueEmpty, "") }
                return taken.takeRetainedValue()
            }
        case "qsize", "empty", "full":
            return bound(name) { _, _ throws(PyError) in
                let (count, full) = self.waits.withLock { ($0.count, $0.isFull) }
                switch name {
                case "qsize": return PyInt.make(count)
                case "empty": return PyBool.of(count == 0)
                default: return PyBool.of(full)
                }
            }
        case "task_done":
            return bound(name) { _, _ throws(PyError) in
                try self.waits.withLock { (queue) throws(PyError) in
                    guard queue.unfinished > 0 else { throw PyError(.valueError, "task_done() called too many times") }
                    queue.unfinished -= 1
                }
                self.waits.condition.broadcast()
                return PyNone.shared
            }
        case "join":
            return bound(name) { interpreter, _ throws(PyError) in
                _ = try interpreter.block(self.waits, seconds: nil) { $0.unfinished == 0 }
                return PyNone.shared
            }
        default: return nil
        }
    }
}
