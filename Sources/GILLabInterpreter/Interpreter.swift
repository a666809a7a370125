internal import CShims
import GILLabLock
import Synchronization

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
    @exclusivity(unchecked) private var globals: [PyObject?] = []
    private var globalIndex: [String: Int] = [:]
    private var globalNameList: [String] = []
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
    public init(thread: ThreadState) {
        self.thread = thread
        biased = thread.lock.configuration.policy == .free
        ticking = thread.lock.configuration.policy == .legacyGIL
        threadToken = currentThreadToken()
        tracking = thread.tracksLocations
        counter = ReferenceCounter(biased: biased, thread: threadToken)
        installBuiltins()
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

    func compile(_ source: String, filename: String = "<string>") throws(PyError) -> CodeObject {
        // Code objects keep `globalNames` for their disassembly and may outlive the interpreter
        // (a function can be returned to Swift), so they hold it weakly.
        var compiler = Compiler(globalSlot: { [unowned self] in self.slot(for: $0) },
                                globalNames: { [weak self] in self?.globalNameList ?? [] })
        compiler.origin = CodeOrigin(filename: filename, source: source)
        let code = try compiler.compileModule(try Parser.parse(source))
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
        if native.location < 0 {
            let what = native.discipline == .hold ? "hold" : "native"
            native.location = thread.lock.locations.index(of: "\(native.name) (\(what))")
        }
        return native.location
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
        guard let index = globalIndex[name], let function = globals[index], function.kind == .function else {
            throw PyError(.nameError, "no function '\(name)'")
        }
        return unsafeDowncast(function, to: PyFunction.self).code.quickenedNames.filter { !$0.isEmpty }
    }

    /// Calls the global function `name` with `arguments`.
    /// - Throws: `NameError` when there is no such global, and whatever the call raises.
    public func call(_ name: String, _ arguments: [PyObject]) throws(PyError) -> PyObject {
        guard let index = globalIndex[name], let callee = globals[index] else {
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
        globals[slot(for: name)] = PyNative(name: name, discipline: discipline, arity: arity, body: body)
    }

    private func slot(for name: String) -> Int {
        if let index = globalIndex[name] { return index }
        globalIndex[name] = globals.count
        globalNameList.append(name)
        globals.append(nil)
        return globals.count - 1
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

    private func invoke(_ callee: PyObject, _ arguments: [PyObject]) throws(PyError) -> PyObject {
        switch callee.kind {
        case .function:
            let code = unsafeDowncast(callee, to: PyFunction.self).code
            guard arguments.count == code.parameterCount else {
                throw Self.arityError(code, arguments.count)
            }
            let frame = Frame(code: code)
            for (index, argument) in arguments.enumerated() {
                let ref = Ref.passUnretained(argument)
                counter.incref(ref)
                frame.locals[index] = ref
            }
            return counter.export(try run(frame))
        case .native:
            let native = unsafeDowncast(callee, to: PyNative.self)
            guard native.arity.contains(arguments.count) else {
                throw PyError(.typeError, "\(native.name)() takes \(Self.describe(native.arity)) arguments but \(arguments.count) were given")
            }
            // The poll after the call names the caller's line again; no need to restore it here.
            if tracking { thread.enter(location: location(of: native)) }
            return try native.body(thread, native.discipline, arguments)
        default:
            throw PyError(.typeError, "'\(callee.typeName)' object is not callable")
        }
    }

    private static func arityError(_ code: CodeObject, _ count: Int) -> PyError {
        PyError(.typeError, "\(code.name)() takes \(code.parameterCount) positional arguments but \(count) were given")
    }

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
        var pc = 0

        // A pushed reference brings its count; a popped one hands its count to the caller.
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
        @inline(__always) func popTruth(jumping: Bool) -> Bool {
            let value = pop()
            if value.toOpaque() == trueRef.toOpaque() { return true }
            if value.toOpaque() == falseRef.toOpaque() { return false }
            if ticking && jumping { thread.checkpoint() }  // 2.7's fast exit is only for True and False
            defer { counter.decref(value) }
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

        do throws(PyError) {
            while true {
                let at = pc
                let instruction = instructions[pc]
                pc &+= 1
                switch instruction {
                case .resume:
                    enterLocation(at)
                    if !ticking { thread.checkpoint() }  // 3.11's RESUME: CHECK_EVAL_BREAKER on entry
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
                    guard let value = globals[index] else {
                        throw PyError(.nameError, "name '\(globalNameList[index])' is not defined")
                    }
                    push(counter.adopt(value))
                case .storeGlobal(let index):
                    globals[index] = counter.export(pop())

                // BINARY_OP: adaptive, then specialised.
                case .binary(let op):
                    let (left, right) = (sp[-2], sp[-1])
                    if let specialised = Self.specialisedBinary(op, left.kind, right.kind) {
                        instructions[at] = specialised
                        pc = at
                        continue
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
                    if let specialised = Self.specialisedCompare(op, target, left.kind, right.kind) {
                        instructions[at] = specialised
                        pc = at
                        continue
                    }
                    let result = try Self.compare(op, left.object, right.object)
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
                    push(popTruth(jumping: false) ? falseRef : trueRef)
                case .jump(let target):
                    pc = target
                case .jumpBackward(let target):
                    pc = target
                    enterLocation(at)
                    if !ticking { thread.checkpoint() }  // 3.11's JUMP_BACKWARD: JUMPBY, CHECK_EVAL_BREAKER
                case .popJumpIfFalse(let target):
                    if !popTruth(jumping: true) { pc = target }
                case .popJumpIfTrue(let target):
                    if popTruth(jumping: true) { pc = target }
                case .jumpIfFalseOrPop(let target):
                    let value = sp[-1]
                    if ticking && value.kind != .bool { thread.checkpoint() }
                    if Self.truth(value.object) { counter.decref(pop()) } else { pc = target }
                case .jumpIfTrueOrPop(let target):
                    let value = sp[-1]
                    if ticking && value.kind != .bool { thread.checkpoint() }
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
                        if ticking && ticks[at] == 0 { thread.checkpoint() }
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
                    if container.kind == .list && index.kind == .int {
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
                case .setItem:
                    let (container, index) = (sp[-3], sp[-2])
                    if container.kind == .list && index.kind == .int {
                        instructions[at] = .setItemListInt
                        pc = at
                        continue
                    }
                    try Self.setItem(container.object, index.object, sp[-1].object)
                    for _ in 0..<3 { counter.decref(pop()) }
                case .setItemListInt:
                    let (container, index) = (sp[-3], sp[-2])
                    guard container.kind == .list && index.kind == .int else {
                        instructions[at] = .setItem
                        pc = at
                        continue
                    }
                    let raw = index.intValue
                    let item = counter.export(pop())  // the list takes over the value's count
                    let stored = Unmanaged<PyList>.fromOpaque(container.toOpaque())
                        ._withUnsafeGuaranteedRef { $0.store(item, atPythonIndex: raw) }
                    guard stored else { throw PyError(.indexError, "list assignment index out of range") }
                    counter.decref(pop())
                    counter.decref(pop())
                case .dupTop2:
                    let (second, first) = (sp[-2], sp[-1])
                    counter.incref(second)
                    counter.incref(first)
                    push(second)
                    push(first)
                case .call(let count):
                    let callee = sp[-count - 1]
                    if callee.kind == .function {
                        // 3.11's CALL_PY_EXACT_ARGS: the arguments move from this stack into
                        // the callee's locals, without touching their counts.
                        let code = unsafeDowncast(callee.object, to: PyFunction.self).code
                        guard count == code.parameterCount else { throw Self.arityError(code, count) }
                        let callee = Frame(code: code)
                        sp -= count
                        for index in 0..<count { callee.locals[index] = (sp + index).move() }
                        replace(1, with: try run(callee))
                        // Back in this frame: its call's line again, rather than the callee's last
                        // (3.11 does not poll here; only the location changes).
                        enterLocation(at)
                    } else {
                        let result = try invoke(callee.object, moveArguments(count))
                        replace(1, with: counter.adopt(result))
                        // 3.11's CALL: CHECK_EVAL_BREAKER once a native callee returns, so a drop
                        // request that came during a long call holding the lock is served here,
                        // before the next instruction. A Python callee was polled at its RESUME,
                        // as in 3.11, which runs it in the same eval loop and does not poll on
                        // its return.
                        enterLocation(at)
                        if !ticking { thread.checkpoint() }
                    }
                case .callMethod(let name, let count):
                    let receiver = sp[-count - 1]
                    if count == 1 && receiver.kind == .list && code.names[name] == "append" {
                        instructions[at] = .callMethodListAppend(name)
                        pc = at
                        continue
                    }
                    let result = try Self.callMethod(receiver.object, code.names[name], moveArguments(count))
                    replace(1, with: counter.adopt(result))
                    if !ticking { thread.checkpoint() }  // a method of a builtin type: a native call
                case .callMethodListAppend(let name):
                    guard sp[-2].kind == .list else {
                        instructions[at] = .callMethod(name, 1)
                        pc = at
                        continue
                    }
                    let item = counter.export(pop())
                    unsafeDowncast(sp[-1].object, to: PyList.self).items.append(item)
                    replace(1, with: Ref.passUnretained(PyNone.shared))
                    if !ticking { thread.checkpoint() }
                case .makeFunction(let index):
                    loadConst(index)
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
                    for _ in 0..<ticks[at] { thread.checkpoint() }
                }
            }
        } catch {
            frame.depth = sp - base  // what is still on the stack, for clear()
            throw error
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

/// One activation: the fast locals and the value stack, raw buffers of counted references.
private final class Frame {
    let code: CodeObject
    let locals: UnsafeMutablePointer<Ref?>
    let stack: UnsafeMutablePointer<Ref>
    /// Values on the stack, as the eval loop left it on return or throw.
    @exclusivity(unchecked) var depth = 0

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
