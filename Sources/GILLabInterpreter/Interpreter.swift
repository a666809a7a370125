internal import CShims
import GILLabLock
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small Python-subset interpreter: the "Python-level" work that runs under the lock.
///
/// Source compiles to bytecode for a stack machine whose eval loop polls the eval breaker at the
/// points where CPython 3.11's `ceval.c` polls it: RESUME (a frame's entry), backward jumps, and
/// the return from a call to a native function; nowhere else. So the lock changes hands at the
/// same kind of points as in CPython 3.11, and a call into a native function that keeps the lock
/// cannot be interrupted until it returns. (3.13's `Python/bytecodes.c` polls JUMP_BACKWARD
/// before the jump rather than after; GILLab follows 3.11.)
///
/// Under `legacy-gil` it polls nothing and counts CPython 2.7's ticks instead (2.7
/// `Python/ceval.c`), one per opcode that goes back to the top of 2.7's eval loop: not for an
/// opcode that ends with `goto fast_next_opcode`, nor for one entered by a successful PREDICT.
/// The table is on `Instruction.python27Ticks(before:)`.
///
/// One `Interpreter` belongs to one thread, and every method must be called with that thread
/// holding the lock.
///
/// ```swift
/// let interpreter = Interpreter(thread: thread)
/// try interpreter.load("""
///     def countdown(n):
///         while n > 0:
///             n -= 1
///         return n
///     """)
/// let result = try interpreter.call("countdown", [interpreter.int(1_000_000)])
/// ```
public final class Interpreter {
    /// The thread whose lock this interpreter polls and releases.
    public let thread: ThreadState
    // The interpreter's state is touched only by the thread that holds the lock, and the eval
    // loop never holds overlapping accesses to it: no run-time exclusivity checks (nor on the
    // objects' mutable fields; the compiler still checks exclusivity statically).
    /// What this thread shares with the program's other threads: globals, modules, output.
    let program: ProgramState
    /// `threading.current_thread()`.
    let currentThreadObject: PyThreadObject
    @exclusivity(unchecked) private var depth = 0

    /// Python's default recursion limit is 1000; Swift frames are larger, so ours is lower.
    static let maxDepth = 400
    /// Stack a call must leave free, in bytes: a few eval-loop frames even under AddressSanitizer.
    static let stackReserve = 128 * 1024

    /// Whether the lock is free-threaded, so that references count the PEP 703 way.
    let biased: Bool
    /// Whether the lock is `legacy-gil`, so that the eval loop counts 2.7's ticks instead of
    /// polling at 3.11's points.
    let ticking: Bool
    /// The running thread's `ob_tid`.
    let threadToken: UInt32
    /// Whether the lock records events, so that poll points and native calls report where the
    /// thread is (``/GILLabLock/ThreadState/enter(location:)``), for wait attribution.
    let tracking: Bool
    /// How the eval loop counts its references, and its free lists.
    let counter: ReferenceCounter

    /// Creates an interpreter with the builtins installed. The thread must hold the lock, and
    /// the interpreter is used on the thread that makes it.
    /// - Parameters:
    ///   - thread: the thread's lock state.
    ///   - sharedByThreads: under policy `free`, whether the program will start threads
    ///     (`threading.Thread`) that run at once and share its objects: its lists, dicts,
    ///     globals, modules and the iterators builtins return then take a lock per access, as
    ///     PEP 703's objects do, and its code is not
    ///     specialised in place (3.13t does not specialise either). Off by default, as for the
    ///     lab's workloads, whose threads each run an interpreter of their own; a program made
    ///     without it cannot start threads under `free`. The other policies ignore it: their
    ///     lock already keeps the threads apart.
    public convenience init(thread: ThreadState, sharedByThreads: Bool = false) {
        let program = ProgramState(concurrent: thread.lock.configuration.policy == .free && sharedByThreads)
        gl_set_shared_objects(program.concurrent ? 1 : 0)  // before the thread object is made
        self.init(thread: thread, program: program,
                  threadObject: PyThreadObject(name: "MainThread", target: nil, arguments: [], main: true))
        installBuiltins()
        installStandardModules()
    }

    /// The interpreter of a thread a program started (`threading.Thread.start`): its own eval
    /// state over the program's shared state. Made on that thread, holding the lock.
    init(thread: ThreadState, program: ProgramState, threadObject: PyThreadObject) {
        self.thread = thread
        biased = thread.lock.configuration.policy == .free
        ticking = thread.lock.configuration.policy == .legacyGIL
        threadToken = currentThreadToken()
        tracking = thread.tracksLocations
        counter = ReferenceCounter(biased: biased, thread: threadToken)
        self.program = program
        currentThreadObject = threadObject
        gl_set_shared_objects(program.concurrent ? 1 : 0)
    }

    /// The lock states of this interpreter's thread and of every thread its program started, in
    /// the order they started: their statistics are the program's per-thread load.
    public var threadStates: [ThreadState] { [thread] + program.exclusive { program.threadStates } }

    /// Seconds the thread with lock state `id` spent blocked on the program's other threads (in
    /// `join`, `Lock.acquire`, `Queue.get` and `put`, `Event.wait`): released time that is
    /// neither I/O nor a kernel. `time.sleep` is not counted: it stands for I/O.
    public func synchronizationSeconds(ofThread id: Int) -> Double {
        Double(program.synchronizationNanoseconds[id] ?? 0) / 1e9
    }

    /// `sys.argv`: the program's name, then its arguments. Set before the program loads.
    public var arguments: [String] {
        get { program.argv }
        set { program.argv = newValue }
    }

    /// Where `print` writes, one call per `print`; standard output by default.
    public var output: (String) -> Void {
        get { program.output }
        set { program.output = newValue }
    }

    /// Where an exception that ends a thread the program started is reported (as CPython's
    /// `threading.excepthook` does); standard error by default.
    public var errorOutput: (String) -> Void {
        get { program.errorOutput }
        set { program.errorOutput = newValue }
    }

    /// Waits, with the lock released, until every non-daemon thread the program started has
    /// ended, as CPython's interpreter does before it exits (`threading._shutdown`). Daemon
    /// threads still running then, which CPython abandons at exit, are stopped instead (a
    /// KeyboardInterrupt at their next poll point or wait, through
    /// ``/GILLabLock/InterpreterLock/requestInterrupt()``) and joined: a program's threads must
    /// not outlive the run that measures them. Ends early with KeyboardInterrupt on
    /// `requestInterrupt()`, once every thread has stopped.
    public func joinThreads() throws(PyError) {
        var interrupted = false
        var daemons: [PyThreadObject] = []
        var index = 0
        while let started = program.exclusive({ index < program.threads.count ? program.threads[index] : nil }) {
            index += 1
            if started.daemon {
                daemons.append(started)
                continue
            }
            do throws(PyError) {
                _ = try block(started.waits, seconds: nil) { $0.finished }
            } catch {
                // Ctrl-C: every thread stops at its next poll point or wait; keep joining.
                interrupted = true
                waitUntilFinished(started)
            }
            started.joinNative()
        }
        // An interrupt asked for before this point stops the program even when every thread had
        // already stopped at it before the join began (nothing left to interrupt the join). The
        // request below, for the daemons, is the join's own and does not count.
        if thread.lock.isInterruptRequested { interrupted = true }
        if daemons.contains(where: { !$0.isFinished }) { thread.lock.requestInterrupt() }
        for daemon in daemons {
            waitUntilFinished(daemon)
            daemon.joinNative()
        }
        if interrupted { throw PyError(.keyboardInterrupt, "") }
    }

    /// Waits, with the lock released, for a thread that has been asked to stop.
    private func waitUntilFinished(_ started: PyThreadObject) {
        let waits = started.waits
        let released = thread.releaseLock(reason: .io)
        while !waits.withLock({ $0.finished }) { usleep(1000) }
        released.reacquire()
    }

    // MARK: - Loading and calling

    /// Compiles `source` and runs its module body, which defines its functions and globals.
    /// - Parameters:
    ///   - source: the program.
    ///   - filename: the name its locations carry (`countdown.py:2 in unit (while n > 0:)`), in wait
    ///     attribution and the timeline.
    /// - Throws: ``PyError`` for a syntax error or an exception raised by the module body.
    public func load(_ source: String, filename: String = "<string>") throws(PyError) {
        defer { if tracking { thread.enter(location: LockLocations.glue) } }
        counter.decref(try run(Frame(code: try compile(source, filename: filename))))
    }

    /// Parses and compiles `source` without running it: what a linter or `gillab exec` checks
    /// before it runs anything.
    /// - Throws: ``PyError``: a SyntaxError, or a NotImplementedError for valid Python outside
    ///   the subset, with its file, line and column.
    public func check(_ source: String, filename: String = "<string>") throws(PyError) {
        _ = try compile(source, filename: filename)
    }

    func compile(_ source: String, filename: String = "<string>") throws(PyError) -> CodeObject {
        // Code objects keep `globalNames` for their disassembly and may outlive the interpreter
        // (a function can be returned to Swift), so they hold it weakly.
        let program = self.program
        var compiler = Compiler(globalSlot: { [unowned program] in program.slot(for: $0) },
                                globalNames: { [weak program] in program?.globalNames ?? [] })
        compiler.origin = CodeOrigin(filename: filename, source: source)
        compiler.modules = Set(program.moduleMakers.keys)
        let code = try compiler.compileModule(try Parser.parse(source, filename: filename))
        if tracking {
            var named: [String: Int] = [:]
            locate(code, &named)
        }
        return code
    }

    /// Names each instruction's line in the lock's locations, for `code` and the functions it
    /// defines; `named` keeps the indices of the names made so far.
    private func locate(_ code: CodeObject, _ named: inout [String: Int]) {
        let table = UnsafeMutablePointer<Int>.allocate(capacity: max(code.lines.count, 1))
        var byLine: [Int: Int] = [:]
        for (at, line) in code.lines.enumerated() {
            if byLine[line] == nil {
                let name = code.origin.locationName(line: line, function: code.name)
                byLine[line] = named[name] ?? thread.lock.locations.index(of: name)
                named[name] = byLine[line]
            }
            (table + at).initialize(to: byLine[line]!)
        }
        code.locations?.deallocate()
        code.locations = table
        for case let function as PyFunction in code.constants { locate(function.code, &named) }
    }

    /// The location of a native function: `name (hold)` for one registered to keep the lock,
    /// `name (native)` for one that may release it (its time holding: argument glue, or the
    /// whole call when it keeps the lock, as below a release threshold).
    private func location(of native: PyNative) -> Int {
        var index = native.location.load(ordering: .relaxed)
        if index < 0 {
            let what = native.discipline == .hold ? "hold" : "native"
            index = thread.lock.locations.index(of: "\(native.name) (\(what))")
            native.location.store(index, ordering: .relaxed)
        }
        return index
    }

    /// The `dis`-style listing of `source`, compiled but not run. Instructions that poll the
    /// eval breaker are marked `*` in the first column; the second gives the ticks CPython 2.7
    /// counts for each (what `legacy-gil` counts; `?` where it depends on the value).
    public func disassemble(_ source: String) throws(PyError) -> String {
        try compile(source).disassembly
    }

    /// The names of the quickened forms in global function `name`'s instructions as they stand
    /// now (CPython's names, as `dis.dis(adaptive=True)` prints them), for tests and listings.
    func quickenedNames(of name: String) throws(PyError) -> [String] {
        guard let index = program.globalIndex[name], let function = program.globals[index], function.kind == .function else {
            throw PyError(.nameError, "no function '\(name)'")
        }
        return unsafeDowncast(function, to: PyFunction.self).code.quickenedNames.filter { !$0.isEmpty }
    }

    /// Whether the program defines a global function `name`.
    public func hasFunction(_ name: String) -> Bool {
        guard let index = program.globalIndex[name], let value = program.globals[index] else { return false }
        return value.kind == .function
    }

    /// Calls the global function `name` with `arguments`.
    /// - Throws: `NameError` when there is no such global, and whatever the call raises.
    public func call(_ name: String, _ arguments: [PyObject]) throws(PyError) -> PyObject {
        guard let index = program.globalIndex[name], let callee = program.globals[index] else {
            throw PyError(.nameError, "name '\(name)' is not defined")
        }
        defer { if tracking { thread.enter(location: LockLocations.glue) } }  // back in Swift's glue
        return try invoke(callee, arguments)
    }

    /// Registers a native function: an "extension method" that Python code calls by `name`.
    ///
    /// - Parameters:
    ///   - name: the global name.
    ///   - discipline: whether the body keeps the lock or releases it around its C call. A body
    ///     registered with ``/GILLabLock/CallDiscipline/release`` receives that discipline and must copy its
    ///     inputs out of the argument objects before it calls ``/GILLabLock/ThreadState/call(_:reason:_:)``.
    ///   - arity: the accepted argument counts.
    ///   - body: the function; called with the lock held.
    public func register(_ name: String, discipline: CallDiscipline = .hold, arity: ClosedRange<Int>,
                         _ body: @escaping (ThreadState, CallDiscipline, [PyObject]) throws(PyError) -> PyObject) {
        program.define(name, PyNative(name: name, discipline: discipline, arity: arity, body: body))
    }

    // MARK: - Making objects

    /// A Python `int`.
    public func int(_ value: Int) -> PyObject { PyInt.make(value) }
    /// A Python `float`.
    public func float(_ value: Double) -> PyObject { PyFloat(value) }
    /// A Python `str`.
    public func str(_ value: String) -> PyObject { PyStr(value) }
    /// A Python `list`.
    public func list(_ items: [PyObject]) -> PyObject { PyList(items) }
    /// `None`.
    public var none: PyObject { PyNone.shared }

    // MARK: - The eval loop

    /// Calls `callee` with positional arguments.
    func invoke(_ callee: PyObject, _ arguments: [PyObject]) throws(PyError) -> PyObject {
        try invoke(callee, Arguments(positional: arguments, keywords: [], function: "?"))
    }

    /// Calls `callee`: a Python function (its parameters bound as CPython binds them), a native
    /// function, or an exception class.
    func invoke(_ callee: PyObject, _ arguments: Arguments) throws(PyError) -> PyObject {
        switch callee.kind {
        case .function:
            let function = unsafeDowncast(callee, to: PyFunction.self)
            let frame = Frame(code: function.code)
            for (index, argument) in try Self.bind(function, arguments).enumerated() {
                let ref = Ref.passUnretained(argument)
                counter.incref(ref)
                frame.locals[index] = ref
            }
            return counter.export(try run(frame))
        case .native:
            let native = unsafeDowncast(callee, to: PyNative.self)
            // The poll after the call names the caller's line again; no need to restore it here.
            if tracking { thread.enter(location: location(of: native)) }
            if let builtin = native.builtin {
                var arguments = arguments
                arguments.function = native.name
                return try builtin(self, arguments)
            }
            if let keyword = arguments.keywords.first {
                throw PyError(.typeError, "\(native.name)() takes no keyword arguments (got '\(keyword.name)')")
            }
            guard native.arity.contains(arguments.positional.count) else {
                throw PyError(.typeError, "\(native.name)() takes \(Self.describe(native.arity)) arguments but \(arguments.positional.count) were given")
            }
            return try native.body(thread, native.discipline, arguments.positional)
        case .exceptionType:
            var arguments = arguments
            arguments.function = unsafeDowncast(callee, to: PyExceptionType.self).exceptionKind.rawValue
            return try unsafeDowncast(callee, to: PyExceptionType.self).make(try arguments.exactly(0...Int.max))
        default:
            throw PyError(.typeError, "'\(callee.typeName)' object is not callable")
        }
    }

    /// The values of a Python function's parameters for a call: positional arguments first,
    /// then keywords, then defaults, with CPython's messages for what does not fit.
    private static func bind(_ function: PyFunction, _ arguments: Arguments) throws(PyError) -> [PyObject] {
        let code = function.code
        let count = code.parameterCount
        if arguments.keywords.isEmpty && arguments.positional.count == count { return arguments.positional }
        let names = code.localNames.prefix(count)
        guard arguments.positional.count <= count else {
            let defaults = function.defaults.count
            let takes = defaults == 0 ? "\(count)" : "from \(count - defaults) to \(count)"
            throw PyError(.typeError, "\(code.name)() takes \(takes) positional argument\(count == 1 ? "" : "s") but \(arguments.positional.count) \(arguments.positional.count == 1 ? "was" : "were") given")
        }
        var values: [PyObject?] = arguments.positional + Array(repeating: nil, count: count - arguments.positional.count)
        for (name, value) in arguments.keywords {
            guard let index = names.firstIndex(of: name) else {
                throw PyError(.typeError, "\(code.name)() got an unexpected keyword argument '\(name)'")
            }
            guard values[index] == nil else { throw PyError(.typeError, "\(code.name)() got multiple values for argument '\(name)'") }
            values[index] = value
        }
        let firstDefault = count - function.defaults.count
        for index in firstDefault..<count where values[index] == nil { values[index] = function.defaults[index - firstDefault] }
        let missing = (0..<count).filter { values[$0] == nil }.map { "'\(names[$0])'" }
        if !missing.isEmpty {
            let list = missing.count == 1 ? missing[0] : missing.dropLast().joined(separator: ", ") + " and " + missing.last!
            throw PyError(.typeError, "\(code.name)() missing \(missing.count) required positional argument\(missing.count == 1 ? "" : "s"): \(list)")
        }
        return values.map { $0! }
    }

    static let interrupted = PyError(.keyboardInterrupt, "")

    /// Runs `frame`, whose locals hold the arguments, and returns the result with its count.
    private func run(_ frame: Frame) throws(PyError) -> Ref {
        depth += 1
        defer {
            depth -= 1
            frame.clear(counter)
        }
        // CPython's limit is a depth; a thread's stack can run out first here (a Swift
        // concurrency worker has 512 KiB, and sanitizers multiply frame sizes), so the stack
        // left counts too, with room for the error's own path.
        guard depth <= Self.maxDepth, gl_stack_left() > Self.stackReserve else {
            throw PyError(.recursionError, "maximum recursion depth exceeded")
        }
        return try evaluate(frame)
    }

    /// The eval loop. The value stack and the locals are raw buffers of unmanaged references
    /// that `counter` counts by hand (see References.swift): a Swift array would check
    /// uniqueness and bounds on every push, and ARC would count atomically; CPython's frame is a
    /// raw array too. The instructions are the code object's quickened copy, which the adaptive
    /// instructions rewrite as they run (PEP 659).
    private func evaluate(_ frame: Frame) throws(PyError) -> Ref {
        let code = frame.code
        let instructions = code.quickened
        let constants = code.constantRefs
        let locals = frame.locals
        let base = frame.stack
        var sp = base
        let thread = self.thread
        let ticking = self.ticking
        let ticks = code.python27Ticks
        let counter = self.counter
        // Wait attribution: at each poll point, the line's location; the thread records it only
        // when it differs from its last. Read through `code` at the poll, not kept in a local:
        // a value live across the whole loop costs every instruction a register.
        @inline(__always) func enterLocation(_ at: Int) {
            if let locations = code.locations { thread.enter(location: locations[at]) }
        }
        let (trueRef, falseRef) = (Ref.passUnretained(PyBool.true as PyObject), Ref.passUnretained(PyBool.false as PyObject))
        // A program whose threads run at once shares its code: no instruction rewrites itself.
        let specializes = !program.concurrent
        var pc = 0

        // A pushed reference brings its count; a popped one hands its count to the caller.
        /// A poll point: the eval breaker, and KeyboardInterrupt once the lock asks every thread to stop.
        @inline(__always) func poll() throws(PyError) {
            if thread.checkpoint() { throw Self.interrupted }
        }
        @inline(__always) func push(_ ref: Ref) {
            sp.initialize(to: ref)
            sp += 1
        }
        @inline(__always) func pop() -> Ref {
            sp -= 1
            return sp.move()
        }
        @inline(__always) func loadFast(_ index: Int) throws(PyError) {
            guard let value = locals[index] else {
                throw PyError(.nameError, "local variable '\(code.localNames[index])' referenced before assignment")
            }
            counter.incref(value)
            push(value)
        }
        @inline(__always) func loadConst(_ index: Int) {
            counter.incref(constants[index])
            push(constants[index])
        }
        @inline(__always) func storeFast(_ index: Int) {
            let old = locals[index]
            locals[index] = pop()
            if let old { counter.decref(old) }
        }
        /// Replaces the top `count` values, whose counts are dropped, with `result`.
        @inline(__always) func replace(_ count: Int, with result: Ref) {
            for _ in 0..<count { counter.decref(pop()) }
            push(result)
        }
        /// Python's truth of a popped value, dropping its count; True and False are settled by
        /// identity, as CPython's POP_JUMP_IF_* settle them first. `jumping`: for a POP_JUMP_IF_*,
        /// whose tick under legacy-gil depends on the value.
        @inline(__always) func popTruth(jumping: Bool) throws(PyError) -> Bool {
            let value = pop()
            if value.toOpaque() == trueRef.toOpaque() { return true }
            if value.toOpaque() == falseRef.toOpaque() { return false }
            defer { counter.decref(value) }  // also when the poll below raises
            if ticking && jumping { try poll() }  // 2.7's fast exit is only for True and False
            return Self.truth(value.object)
        }
        /// The top `count` values as a Swift array, still counted on the stack.
        @inline(__always) func peekArguments(_ count: Int) -> [PyObject] {
            (0..<count).map { sp[$0 - count].object }
        }
        /// Pops the top `count` values into a Swift array, which takes over their counts and
        /// drops them when it goes (after the call, or when it throws).
        @inline(__always) func moveArguments(_ count: Int) -> [PyObject] {
            // No arguments: the empty array, which `unsafeUninitializedCapacity` would write its
            // count into (the process-wide empty storage, from every thread: a data race to TSan).
            guard count > 0 else { return [] }
            let arguments = [PyObject](unsafeUninitializedCapacity: count) { buffer, initialized in
                for index in 0..<count { (buffer.baseAddress! + index).initialize(to: counter.export(sp[index - count])) }
                initialized = count
            }
            sp -= count
            return arguments
        }

        /// The arguments of a call with keywords: `count` values on the stack (popped), the last
        /// of them named by the tuple constant at `namesIndex`.
        func keywordArguments(_ count: Int, _ namesIndex: Int, skippingFirst: Bool = false) -> Arguments {
            let names = unsafeDowncast(constants[namesIndex].object, to: PyTuple.self).items.dropFirst(skippingFirst ? 1 : 0).map {
                unsafeDowncast($0, to: PyStr.self).value
            }
            let values = moveArguments(count)
            let positional = Array(values.prefix(count - names.count))
            return Arguments(positional: positional, keywords: Array(zip(names, values.suffix(names.count))), function: "?")
        }

        while true {
        do throws(PyError) {
            while true {
                let at = pc
                let instruction = instructions[pc]
                pc &+= 1
                switch instruction {
                case .resume:
                    enterLocation(at)
                    if !ticking { try poll() }  // 3.11's RESUME: CHECK_EVAL_BREAKER on entry
                case .loadConst(let index):
                    loadConst(index)
                case .loadFast(let index):
                    try loadFast(index)
                case .storeFast(let index):
                    storeFast(index)
                case .loadFastLoadFast(let first, let second):
                    try loadFast(first)
                    try loadFast(second)
                    pc += 1
                case .loadFastLoadConst(let first, let second):
                    try loadFast(first)
                    loadConst(second)
                    pc += 1
                case .loadConstLoadFast(let first, let second):
                    loadConst(first)
                    try loadFast(second)
                    pc += 1
                case .storeFastLoadFast(let first, let second):
                    storeFast(first)
                    try loadFast(second)
                    pc += 1
                case .storeFastStoreFast(let first, let second):
                    storeFast(first)
                    storeFast(second)
                    pc += 1
                case .loadGlobal(let index):
                    guard let value = program.global(index) else {
                        throw PyError(.nameError, "name '\(program.globalNames[index])' is not defined")
                    }
                    push(counter.adopt(value))
                case .storeGlobal(let index):
                    program.setGlobal(index, counter.export(pop()))

                // BINARY_OP: adaptive, then specialised.
                case .binary(let op):
                    let (left, right) = (sp[-2], sp[-1])
                    if let specialised = Self.specialisedBinary(op, left.kind, right.kind) {
                        if specializes {
                            instructions[at] = specialised
                            pc = at
                            continue
                        }
                        // Shared code: the specialised form's work, the instruction left as it is.
                        if let result = counter.unshared(specialised, left, right) {
                            replace(2, with: result)
                            break
                        }
                    }
                    // Two ints, an operator with no specialised form (`%`, `//`, `&`, ...): computed on
                    // the references, so that no ARC count is taken on a shared small int (under
                    // `free`, threads doing so at once would fight over its cache line).
                    if left.kind == .int && right.kind == .int, let result = counter.intArithmetic(op, left.intValue, right.intValue) {
                        replace(2, with: result)
                        break
                    }
                    replace(2, with: counter.adopt(try Self.binary(op, left.object, right.object)))
                case .binaryAddInt, .binarySubtractInt, .binaryMultiplyInt:
                    let (left, right) = (sp[-2], sp[-1])
                    guard left.kind == .int && right.kind == .int else {
                        instructions[at] = instruction.unquickened
                        pc = at
                        continue
                    }
                    let (x, y) = (left.intValue, right.intValue)
                    let (value, overflow) = switch instruction {
                    case .binaryAddInt: x.addingReportingOverflow(y)
                    case .binarySubtractInt: x.subtractingReportingOverflow(y)
                    default: x.multipliedReportingOverflow(by: y)
                    }
                    if overflow { throw Self.overflow(instruction.unquickened) }
                    replace(2, with: counter.int(value))
                case .binaryAddFloat, .binarySubtractFloat, .binaryMultiplyFloat:
                    let (left, right) = (sp[-2], sp[-1])
                    guard left.kind == .float && right.kind == .float else {
                        instructions[at] = instruction.unquickened
                        pc = at
                        continue
                    }
                    let (x, y) = (left.floatValue, right.floatValue)
                    let value = switch instruction {
                    case .binaryAddFloat: x + y
                    case .binarySubtractFloat: x - y
                    default: x * y
                    }
                    replace(2, with: counter.float(value))
                case .binaryAddUnicode:
                    let (left, right) = (sp[-2], sp[-1])
                    guard left.kind == .str && right.kind == .str else {
                        instructions[at] = instruction.unquickened
                        pc = at
                        continue
                    }
                    replace(2, with: counter.adopt(try Self.binary(.add, left.object, right.object)))

                case .compare(let op):
                    let result = try Self.compare(op, sp[-2].object, sp[-1].object)
                    replace(2, with: result ? trueRef : falseRef)
                // COMPARE_AND_BRANCH: adaptive, then specialised.
                case .compareJumpIfFalse(let op, let target):
                    let (left, right) = (sp[-2], sp[-1])
                    if specializes, let specialised = Self.specialisedCompare(op, target, left.kind, right.kind) {
                        instructions[at] = specialised
                        pc = at
                        continue
                    }
                    let result = left.kind == .int && right.kind == .int ? Self.ordered(op, left.intValue, right.intValue)
                        : left.kind == .float && right.kind == .float ? Self.ordered(op, left.floatValue, right.floatValue)
                        : try Self.compare(op, left.object, right.object)
                    counter.decref(pop())
                    counter.decref(pop())
                    if !result { pc = target }
                case .compareJumpIfFalseInt(let op, let target):
                    let (left, right) = (sp[-2], sp[-1])
                    guard left.kind == .int && right.kind == .int else {
                        instructions[at] = instruction.unquickened
                        pc = at
                        continue
                    }
                    let result = Self.ordered(op, left.intValue, right.intValue)
                    counter.decref(pop())
                    counter.decref(pop())
                    if !result { pc = target }
                case .compareJumpIfFalseFloat(let op, let target):
                    let (left, right) = (sp[-2], sp[-1])
                    guard left.kind == .float && right.kind == .float else {
                        instructions[at] = instruction.unquickened
                        pc = at
                        continue
                    }
                    let result = Self.ordered(op, left.floatValue, right.floatValue)
                    counter.decref(pop())
                    counter.decref(pop())
                    if !result { pc = target }
                case .compareJumpIfFalseStr(let op, let target):
                    let (left, right) = (sp[-2], sp[-1])
                    guard left.kind == .str && right.kind == .str else {
                        instructions[at] = instruction.unquickened
                        pc = at
                        continue
                    }
                    let equal = unsafeDowncast(left.object, to: PyStr.self).value == unsafeDowncast(right.object, to: PyStr.self).value
                    counter.decref(pop())
                    counter.decref(pop())
                    if equal != (op == .equal) { pc = target }

                case .negate:
                    let operand = sp[-1]
                    let result: Ref
                    switch operand.kind {
                    case .int:
                        let (value, overflow) = (0).subtractingReportingOverflow(operand.intValue)
                        if overflow { throw PyError(.overflowError, "integer negation overflows 64 bits") }
                        result = counter.int(value)
                    case .float: result = counter.float(-operand.floatValue)
                    default: throw PyError(.typeError, "bad operand type for unary -: '\(operand.object.typeName)'")
                    }
                    replace(1, with: result)
                case .not:
                    push(try popTruth(jumping: false) ? falseRef : trueRef)
                case .jump(let target):
                    pc = target
                case .jumpBackward(let target):
                    pc = target
                    enterLocation(at)
                    if !ticking { try poll() }  // 3.11's JUMP_BACKWARD: JUMPBY, CHECK_EVAL_BREAKER
                case .popJumpIfFalse(let target):
                    if !(try popTruth(jumping: true)) { pc = target }
                case .popJumpIfTrue(let target):
                    if try popTruth(jumping: true) { pc = target }
                case .jumpIfFalseOrPop(let target):
                    let value = sp[-1]
                    if ticking && value.kind != .bool { try poll() }
                    if Self.truth(value.object) { counter.decref(pop()) } else { pc = target }
                case .jumpIfTrueOrPop(let target):
                    let value = sp[-1]
                    if ticking && value.kind != .bool { try poll() }
                    if Self.truth(value.object) { pc = target } else { counter.decref(pop()) }
                case .getIter:
                    replace(1, with: counter.adopt(try Self.iterator(sp[-1].object)))
                case .forIter(let target):
                    let iterator = Unmanaged<PyIterator>.fromOpaque(sp[-1].toOpaque())
                    if let next = iterator._withUnsafeGuaranteedRef({ $0.nextRef(counter) }) {
                        push(next)
                    } else {
                        counter.decref(pop())
                        pc = target
                        // 2.7's exhausted FOR_ITER: `JUMPBY(oparg); continue;`, one tick, of which the
                        // table counted `ticks[at]` (1 unless a STORE_FAST follows).
                        if ticking && ticks[at] == 0 { try poll() }
                    }
                case .buildList(let count):
                    replace(count, with: counter.adopt(PyList(peekArguments(count))))
                case .buildDict(let count):
                    let flat = peekArguments(2 * count)
                    let dict = PyDict()
                    for pair in 0..<count { dict.entries[try PyKey(flat[2 * pair])] = flat[2 * pair + 1] }
                    replace(2 * count, with: counter.adopt(dict))

                // BINARY_SUBSCR and STORE_SUBSCR: adaptive, then specialised.
                case .getItem:
                    let (container, index) = (sp[-2], sp[-1])
                    if specializes && container.kind == .list && index.kind == .int {
                        instructions[at] = .getItemListInt
                        pc = at
                        continue
                    }
                    replace(2, with: counter.adopt(try Self.getItem(container.object, index.object)))
                case .getItemListInt:
                    let (container, index) = (sp[-2], sp[-1])
                    guard container.kind == .list && index.kind == .int else {
                        instructions[at] = .getItem
                        pc = at
                        continue
                    }
                    let raw = index.intValue
                    let found = Unmanaged<PyList>.fromOpaque(container.toOpaque())
                        ._withUnsafeGuaranteedRef { $0.borrowedElement(atPythonIndex: raw) }
                    guard let element = found else { throw PyError(.indexError, "list index out of range") }
                    counter.incref(element)
                    replace(2, with: element)
                // STORE_SUBSCR: adaptive, then specialised. The value is below the container and index.
                case .storeSubscript:
                    let (container, index) = (sp[-2], sp[-1])
                    if specializes && container.kind == .list && index.kind == .int {
                        instructions[at] = .storeSubscriptListInt
                        pc = at
                        continue
                    }
                    try Self.setItem(container.object, index.object, sp[-3].object)
                    for _ in 0..<3 { counter.decref(pop()) }
                case .storeSubscriptListInt:
                    let (container, index) = (sp[-2], sp[-1])
                    guard container.kind == .list && index.kind == .int else {
                        instructions[at] = .storeSubscript
                        pc = at
                        continue
                    }
                    let raw = index.intValue
                    let item = counter.export(sp[-3])  // the list takes over the value's count
                    let stored = Unmanaged<PyList>.fromOpaque(container.toOpaque())
                        ._withUnsafeGuaranteedRef { $0.store(item, atPythonIndex: raw) }
                    guard stored else {
                        sp[-3] = counter.adopt(item)  // the stack holds its count again
                        throw PyError(.indexError, "list assignment index out of range")
                    }
                    counter.decref(pop())
                    counter.decref(pop())
                    sp -= 1  // the value's count went to the list
                case .dupTop2:
                    let (second, first) = (sp[-2], sp[-1])
                    counter.incref(second)
                    counter.incref(first)
                    push(second)
                    push(first)
                case .call(let count):
                    let callee = sp[-count - 1]
                    if callee.kind == .function,
                       count == Unmanaged<PyFunction>.fromOpaque(callee.toOpaque())._withUnsafeGuaranteedRef({ $0.code.parameterCount }) {
                        // 3.11's CALL_PY_EXACT_ARGS: the arguments move from this stack into
                        // the callee's locals, without touching their counts.
                        let code = unsafeDowncast(callee.object, to: PyFunction.self).code
                        let callee = Frame(code: code)
                        sp -= count
                        for index in 0..<count { callee.locals[index] = (sp + index).move() }
                        replace(1, with: try run(callee))
                        // Back in this frame: its call's line again, rather than the callee's last
                        // (3.11 does not poll here; only the location changes).
                        enterLocation(at)
                    } else {
                        let isFunction = callee.kind == .function
                        let result = try invoke(callee.object, moveArguments(count))
                        replace(1, with: counter.adopt(result))
                        // 3.11's CALL: CHECK_EVAL_BREAKER once a native callee returns, so a drop
                        // request that came during a long call holding the lock is served here,
                        // before the next instruction. A Python callee was polled at its RESUME,
                        // as in 3.11, which runs it in the same eval loop and does not poll on
                        // its return.
                        enterLocation(at)
                        if !ticking && !isFunction { try poll() }
                    }
                case .callKeywords(let count, let namesIndex):
                    let isFunction = sp[-count - 1].kind == .function
                    let arguments = keywordArguments(count, namesIndex)
                    let result = try invoke(sp[-1].object, arguments)
                    replace(1, with: counter.adopt(result))
                    enterLocation(at)
                    if !ticking && !isFunction { try poll() }
                case .callMethod(let name, let count):
                    let receiver = sp[-count - 1]
                    if specializes && count == 1 && receiver.kind == .list && code.names[name] == "append" {
                        instructions[at] = .callMethodListAppend(name)
                        pc = at
                        continue
                    }
                    let arguments = Arguments(positional: moveArguments(count), keywords: [], function: code.names[name])
                    let result = try callMethod(sp[-1].object, code.names[name], arguments)
                    replace(1, with: counter.adopt(result))
                    if !ticking { try poll() }  // a method of a builtin type: a native call
                case .callMethodKeywords(let count, let namesIndex):
                    let arguments = keywordArguments(count, namesIndex, skippingFirst: true)
                    let name = unsafeDowncast(unsafeDowncast(constants[namesIndex].object, to: PyTuple.self).items[0], to: PyStr.self).value
                    let result = try callMethod(sp[-1].object, name, arguments)
                    replace(1, with: counter.adopt(result))
                    if !ticking { try poll() }
                case .callMethodListAppend(let name):
                    guard sp[-2].kind == .list else {
                        instructions[at] = .callMethod(name, 1)
                        pc = at
                        continue
                    }
                    let item = counter.export(pop())
                    unsafeDowncast(sp[-1].object, to: PyList.self).items.append(item)
                    replace(1, with: Ref.passUnretained(PyNone.shared))
                    if !ticking { try poll() }
                case .makeFunction(let index, let defaults):
                    if defaults == 0 {
                        loadConst(index)
                    } else {
                        let function = PyFunction(unsafeDowncast(constants[index].object, to: PyFunction.self).code,
                                                  defaults: peekArguments(defaults))
                        replace(defaults, with: counter.adopt(function))
                    }
                case .dupTop:
                    counter.incref(sp[-1])
                    push(sp[-1])
                case .rotTwo:
                    (sp[-1], sp[-2]) = (sp[-2], sp[-1])
                case .rotThree:
                    (sp[-3], sp[-2], sp[-1]) = (sp[-1], sp[-3], sp[-2])
                case .loadAttr(let name):
                    replace(1, with: counter.adopt(try attribute(sp[-1].object, code.names[name])))
                case .storeAttr(let name):
                    try setAttribute(sp[-1].object, code.names[name], sp[-2].object)
                    counter.decref(pop())
                    counter.decref(pop())
                case .deleteFast(let index):
                    guard let old = locals[index] else {
                        throw PyError(.nameError, "local variable '\(code.localNames[index])' referenced before assignment")
                    }
                    locals[index] = nil
                    counter.decref(old)
                case .deleteGlobal(let index):
                    guard program.global(index) != nil else {
                        throw PyError(.nameError, "name '\(program.globalNames[index])' is not defined")
                    }
                    program.setGlobal(index, nil)
                case .deleteSubscript:
                    try Self.deleteItem(sp[-2].object, sp[-1].object)
                    counter.decref(pop())
                    counter.decref(pop())
                case .buildTuple(let count):
                    replace(count, with: counter.adopt(PyTuple(peekArguments(count))))
                case .buildSlice:
                    replace(3, with: counter.adopt(PySlice(sp[-3].object, sp[-2].object, sp[-1].object)))
                case .unpackSequence(let count):
                    let items = try Self.elements(of: sp[-1].object)
                    guard items.count == count else {
                        throw PyError(.valueError, items.count < count
                            ? "not enough values to unpack (expected \(count), got \(items.count))"
                            : "too many values to unpack (expected \(count))")
                    }
                    counter.decref(pop())
                    for item in items.reversed() { push(counter.adopt(item)) }
                case .contains(let negated):
                    let found = try Self.contains(sp[-1].object, sp[-2].object)
                    replace(2, with: found != negated ? trueRef : falseRef)
                case .identical(let negated):
                    let same = sp[-2].toOpaque() == sp[-1].toOpaque()
                    replace(2, with: same != negated ? trueRef : falseRef)
                case .listAppend(let depth):
                    let item = counter.export(pop())
                    unsafeDowncast(sp[-depth].object, to: PyList.self).items.append(item)
                case .mapAdd(let depth):
                    let value = counter.export(pop())
                    let key = pop()
                    defer { counter.decref(key) }
                    unsafeDowncast(sp[-depth].object, to: PyDict.self).entries[try PyKey(key.object)] = value
                case .formatValue(let conversion, let spec):
                    var value = sp[-1].object
                    if conversion == UInt8(ascii: "r") { value = PyStr(try Self.repr(value)) }
                    if conversion == UInt8(ascii: "s") { value = PyStr(try Self.str(value)) }
                    let text = spec < 0 ? try Self.str(value)
                        : try Self.format(value, unsafeDowncast(constants[spec].object, to: PyStr.self).value)
                    replace(1, with: counter.adopt(PyStr(text)))
                case .buildString(let count):
                    let text = peekArguments(count).map { unsafeDowncast($0, to: PyStr.self).value }.joined()
                    replace(count, with: counter.adopt(PyStr(text)))
                case .importName(let index):
                    push(counter.adopt(try importModule(unsafeDowncast(constants[index].object, to: PyStr.self).value)))
                case .importFrom(let name):
                    let module = unsafeDowncast(sp[-1].object, to: PyModule.self)
                    guard let value = module.lookup(code.names[name]) else {
                        throw PyError(.importError, "cannot import name '\(code.names[name])' from '\(module.name)'")
                    }
                    push(counter.adopt(value))
                case .setupExcept(let handler):
                    frame.handlers.append((handler, sp - base))
                case .popExcept:
                    frame.handlers.removeLast()
                case .raise:
                    let value = sp[-1].object
                    switch value.kind {
                    case .exceptionType: throw PyError(unsafeDowncast(value, to: PyExceptionType.self).exceptionKind, "")
                    case .exception:
                        var error = unsafeDowncast(value, to: PyException.self).error
                        error.lastFrame = nil
                        throw error
                    default: throw PyError(.typeError, "exceptions must derive from BaseException")
                    }
                case .reraise:
                    let value = sp[-1].object
                    guard value.kind == .exception else { throw PyError(.runtimeError, "No active exception to reraise") }
                    throw unsafeDowncast(value, to: PyException.self).error
                case .exceptionMatches:
                    let matches = try Self.exceptionMatches(sp[-2].object, sp[-1].object)
                    replace(2, with: matches ? trueRef : falseRef)
                case .raiseAssertion(let hasMessage):
                    throw PyError(.assertionError, hasMessage ? try Self.str(sp[-1].object) : "")
                case .pop:
                    counter.decref(pop())
                case .returnValue:
                    let result = pop()
                    frame.depth = sp - base
                    return result
                }
                // legacy-gil: 2.7 decrements its ticker at the top of its loop, after every opcode
                // that ends with `continue`.
                if ticking {
                    for _ in 0..<ticks[at] { try poll() }
                }
            }
        } catch {
            var error = error
            // The traceback gets this frame once: a re-raise in the same frame adds nothing.
            let identity = ObjectIdentifier(frame)
            if error.lastFrame != identity {
                error.lastFrame = identity
                let line = code.lines[max(pc - 1, 0)]
                error.traceback.append(.init(filename: code.origin.filename, line: line, function: code.name,
                                             text: code.origin.lineText(line)))
            }
            // SETUP_FINALLY's handler: unwind the stack to its depth, push the exception, go on there.
            if let handler = frame.handlers.popLast() {
                while sp - base > handler.depth { counter.decref(pop()) }
                push(counter.adopt(PyException(error)))
                pc = handler.target
                continue
            }
            frame.depth = sp - base  // what is still on the stack, for clear()
            throw error
        }
        }
    }

    /// Whether the exception `raised` is an instance of `classes` (a class or a tuple of them).
    private static func exceptionMatches(_ raised: PyObject, _ classes: PyObject) throws(PyError) -> Bool {
        let kind = unsafeDowncast(raised, to: PyException.self).error.kind
        switch classes.kind {
        case .exceptionType: return kind.isSubclass(of: unsafeDowncast(classes, to: PyExceptionType.self).exceptionKind)
        case .tuple:
            for candidate in unsafeDowncast(classes, to: PyTuple.self).items where try exceptionMatches(raised, candidate) { return true }
            return false
        default:
            throw PyError(.typeError, "catching classes that do not inherit from BaseException is not allowed")
        }
    }

    /// The specialised form an adaptive BINARY_OP takes for these operand types, if any.
    private static func specialisedBinary(_ op: BinaryOp, _ left: PyKind, _ right: PyKind) -> Instruction? {
        switch (op, left, right) {
        case (.add, .int, .int): .binaryAddInt
        case (.subtract, .int, .int): .binarySubtractInt
        case (.multiply, .int, .int): .binaryMultiplyInt
        case (.add, .float, .float): .binaryAddFloat
        case (.subtract, .float, .float): .binarySubtractFloat
        case (.multiply, .float, .float): .binaryMultiplyFloat
        case (.add, .str, .str): .binaryAddUnicode
        default: nil
        }
    }

    /// The specialised form an adaptive COMPARE_AND_BRANCH takes for these operand types, if any.
    private static func specialisedCompare(_ op: CompareOp, _ target: Int, _ left: PyKind, _ right: PyKind) -> Instruction? {
        switch (left, right) {
        case (.int, .int): .compareJumpIfFalseInt(op, target)
        case (.float, .float): .compareJumpIfFalseFloat(op, target)
        case (.str, .str) where op == .equal || op == .notEqual: .compareJumpIfFalseStr(op, target)
        default: nil
        }
    }

    private static func overflow(_ instruction: Instruction) -> PyError {
        guard case .binary(let op) = instruction else { return PyError(.overflowError, "integer overflow") }
        return PyError(.overflowError, "integer result of \(op.rawValue) overflows 64 bits")
    }

    private static func describe(_ arity: ClosedRange<Int>) -> String {
        arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "\(arity.lowerBound) to \(arity.upperBound)"
    }
}

extension ReferenceCounter {
    /// What the specialised arithmetic `form` computes, with its count, for code that threads
    /// running at once share and so is not rewritten; `nil` for an overflow or a form it does not
    /// cover (the generic path then raises or computes it).
    @inline(__always) func unshared(_ form: Instruction, _ left: Ref, _ right: Ref) -> Ref? {
        switch form {
        case .binaryAddInt, .binarySubtractInt, .binaryMultiplyInt:
            let (x, y) = (left.intValue, right.intValue)
            let (value, overflow) = switch form {
            case .binaryAddInt: x.addingReportingOverflow(y)
            case .binarySubtractInt: x.subtractingReportingOverflow(y)
            default: x.multipliedReportingOverflow(by: y)
            }
            return overflow ? nil : int(value)
        case .binaryAddFloat: return float(left.floatValue + right.floatValue)
        case .binarySubtractFloat: return float(left.floatValue - right.floatValue)
        case .binaryMultiplyFloat: return float(left.floatValue * right.floatValue)
        default: return nil
        }
    }

    /// `x op y` for two ints, with its count; `nil` where Python raises (a zero divisor, an
    /// overflow) or for an operator it does not cover (`/`, `**`, shifts), which the generic path handles.
    @inline(__always) func intArithmetic(_ op: BinaryOp, _ x: Int, _ y: Int) -> Ref? {
        switch op {
        case .add:
            let (value, overflow) = x.addingReportingOverflow(y)
            return overflow ? nil : int(value)
        case .subtract:
            let (value, overflow) = x.subtractingReportingOverflow(y)
            return overflow ? nil : int(value)
        case .multiply:
            let (value, overflow) = x.multipliedReportingOverflow(by: y)
            return overflow ? nil : int(value)
        case .floorDivide, .modulo:
            guard y != 0, !(x == .min && y == -1) else { return nil }
            // Python rounds the quotient toward negative infinity; the remainder takes y's sign.
            var quotient = x / y, remainder = x % y
            if remainder != 0 && (remainder < 0) != (y < 0) { quotient -= 1; remainder += y }
            return int(op == .floorDivide ? quotient : remainder)
        case .and: return int(x & y)
        case .or: return int(x | y)
        case .xor: return int(x ^ y)
        case .trueDivide, .power, .leftShift, .rightShift: return nil
        }
    }
}

/// One activation: the fast locals and the value stack, raw buffers of counted references.
private final class Frame {
    let code: CodeObject
    let locals: UnsafeMutablePointer<Ref?>
    let stack: UnsafeMutablePointer<Ref>
    /// Values on the stack, as the eval loop left it on return or throw.
    @exclusivity(unchecked) var depth = 0
    /// The open SETUP_FINALLY blocks: where each handler starts and the stack depth to unwind to.
    @exclusivity(unchecked) var handlers: [(target: Int, depth: Int)] = []

    init(code: CodeObject) {
        self.code = code
        locals = .allocate(capacity: max(code.localNames.count, 1))
        locals.initialize(repeating: nil, count: max(code.localNames.count, 1))
        // The compiler keeps every statement stack-neutral (a `for` loop keeps just its
        // iterator), so the depth never exceeds what the code's text pushes once, and no
        // instruction pushes more than two: twice the code length always suffices.
        stack = .allocate(capacity: 2 * code.instructions.count + 2)
    }

    /// Drops the counts the frame still holds; runs on return and on throw.
    func clear(_ counter: ReferenceCounter) {
        for index in 0..<depth { counter.decref(stack[index]) }
        depth = 0
        for index in 0..<code.localNames.count {
            if let local = locals[index] {
                locals[index] = nil
                counter.decref(local)
            }
        }
    }

    deinit {
        stack.deallocate()
        locals.deallocate()
    }
}
