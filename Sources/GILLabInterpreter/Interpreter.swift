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
    private var globals: [PyObject?] = []
    private var globalIndex: [String: Int] = [:]
    private var globalNameList: [String] = []
    private var depth = 0

    /// Python's default recursion limit is 1000; Swift frames are larger, so ours is lower.
    static let maxDepth = 400

    /// Whether the lock is free-threaded, so that references count the PEP 703 way.
    let biased: Bool
    /// Whether the lock is `legacy-gil`, so that the eval loop counts 2.7's ticks instead of
    /// polling at 3.11's points.
    let ticking: Bool
    /// The running thread's `ob_tid`.
    let threadToken: UInt32

    /// Creates an interpreter with the builtins installed. The thread must hold the lock, and
    /// the interpreter is used on the thread that makes it.
    public init(thread: ThreadState) {
        self.thread = thread
        biased = thread.lock.configuration.policy == .free
        ticking = thread.lock.configuration.policy == .legacyGIL
        threadToken = currentThreadToken()
        installBuiltins()
    }

    /// PEP 703's INCREF/DECREF beyond the owner's plain count: immortal objects are skipped, and a
    /// reference by a thread other than the owner goes to the atomic shared count.
    @inline(__always)
    static func countShared(_ object: PyObject, _ delta: Int32, _ thread: UInt32) {
        // The owner's test first: it is the common case, and it settles it with one load.
        guard object.owner != thread, !object.isImmortal else { return }
        object.sharedReferences.wrappingAdd(delta, ordering: .relaxed)
    }

    // MARK: - Loading and calling

    /// Compiles `source` and runs its module body, which defines its functions and globals.
    /// - Throws: ``PyError`` for a syntax error or an exception raised by the module body.
    public func load(_ source: String) throws(PyError) {
        _ = try run(try compile(source), [])
    }

    func compile(_ source: String) throws(PyError) -> CodeObject {
        // Code objects keep `globalNames` for their disassembly and may outlive the interpreter
        // (a function can be returned to Swift), so they hold it weakly.
        let compiler = Compiler(globalSlot: { [unowned self] in self.slot(for: $0) },
                                globalNames: { [weak self] in self?.globalNameList ?? [] })
        return try compiler.compileModule(try Parser.parse(source))
    }

    /// The `dis`-style listing of `source`, compiled but not run. Instructions that poll the
    /// eval breaker are marked `*` in the first column; the second gives the ticks CPython 2.7
    /// counts for each (what `legacy-gil` counts; `?` where it depends on the value).
    public func disassemble(_ source: String) throws(PyError) -> String {
        try compile(source).disassembly
    }

    /// Calls the global function `name` with `arguments`.
    /// - Throws: `NameError` when there is no such global, and whatever the call raises.
    public func call(_ name: String, _ arguments: [PyObject]) throws(PyError) -> PyObject {
        guard let index = globalIndex[name], let callee = globals[index] else {
            throw PyError(.nameError, "name '\(name)' is not defined")
        }
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
                throw PyError(.typeError, "\(code.name)() takes \(code.parameterCount) positional arguments but \(arguments.count) were given")
            }
            return try run(code, arguments)
        case .native:
            let native = unsafeDowncast(callee, to: PyNative.self)
            guard native.arity.contains(arguments.count) else {
                throw PyError(.typeError, "\(native.name)() takes \(Self.describe(native.arity)) arguments but \(arguments.count) were given")
            }
            return try native.body(thread, native.discipline, arguments)
        default:
            throw PyError(.typeError, "'\(callee.typeName)' object is not callable")
        }
    }

    private func run(_ code: CodeObject, _ arguments: [PyObject]) throws(PyError) -> PyObject {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw PyError(.recursionError, "maximum recursion depth exceeded") }
        let frame = Frame(code: code, arguments: arguments)
        defer { frame.clear(biased ? threadToken : nil) }
        return try frame.code.instructions.withUnsafeBufferPointer { (instructions) throws(PyError) in
            try evaluate(frame, instructions)
        }
    }

    /// The eval loop. The value stack and the locals are raw buffers owned by `frame`: a Swift
    /// array would check uniqueness and bounds on every push, which is most of the cost of a
    /// bytecode; CPython's frame is a raw array too.
    private func evaluate(_ frame: Frame, _ instructions: UnsafeBufferPointer<Instruction>) throws(PyError) -> PyObject {
        let code = frame.code
        let constants = code.constants
        let locals = frame.locals
        let stack = frame.stack
        let thread = self.thread
        let ticking = self.ticking
        let ticks = code.python27Ticks
        var pc = 0

        // PEP 703's biased reference counting, under `free` only (see PyObject): what a
        // free-threaded build adds to each INCREF on push and each DECREF on pop.
        let biased = self.biased
        let me = self.threadToken
        @inline(__always) func push(_ object: PyObject) {
            assert(frame.depth < stack.capacity, "value stack overflow in \(code.name)")
            if biased { Self.countShared(object, +1, me) }
            (stack.base + frame.depth).initialize(to: object)
            frame.depth += 1
        }
        @inline(__always) func pop() -> PyObject {
            frame.depth -= 1
            let object = (stack.base + frame.depth).move()
            if biased { Self.countShared(object, -1, me) }
            return object
        }
        @inline(__always) func top() -> PyObject { stack.base[frame.depth - 1] }
        @inline(__always) func popArguments(_ count: Int) -> [PyObject] {
            frame.depth -= count
            let arguments = Array(UnsafeBufferPointer(start: stack.base + frame.depth, count: count))
            (stack.base + frame.depth).deinitialize(count: count)
            if biased { for argument in arguments { Self.countShared(argument, -1, me) } }
            return arguments
        }

        while true {
            let at = pc
            let instruction = instructions[pc]
            pc += 1
            switch instruction {
            case .resume:
                if !ticking { thread.checkpoint() }  // 3.11's RESUME: CHECK_EVAL_BREAKER on entry
            case .loadConst(let index):
                push(constants[index])
            case .loadFast(let index):
                guard let value = locals[index] else {
                    throw PyError(.nameError, "local variable '\(code.localNames[index])' referenced before assignment")
                }
                push(value)
            case .storeFast(let index):
                locals[index] = pop()
            case .loadGlobal(let index):
                guard let value = globals[index] else {
                    throw PyError(.nameError, "name '\(globalNameList[index])' is not defined")
                }
                push(value)
            case .storeGlobal(let index):
                globals[index] = pop()
            case .binary(let op):
                let right = pop()
                let left = pop()
                push(try Self.binary(op, left, right))
            case .compare(let op):
                let right = pop()
                let left = pop()
                push(PyBool.of(try Self.compare(op, left, right)))
            case .compareJumpIfFalse(let op, let target):
                let right = pop()
                let left = pop()
                if !(try Self.compare(op, left, right)) { pc = target }
            case .negate:
                let operand = pop()
                switch operand.kind {
                case .int:
                    let (value, overflow) = (0).subtractingReportingOverflow(unsafeDowncast(operand, to: PyInt.self).value)
                    if overflow { throw PyError(.overflowError, "integer negation overflows 64 bits") }
                    push(PyInt.make(value))
                case .float: push(PyFloat(-unsafeDowncast(operand, to: PyFloat.self).value))
                default: throw PyError(.typeError, "bad operand type for unary -: '\(operand.typeName)'")
                }
            case .not:
                push(PyBool.of(!Self.truth(pop())))
            case .jump(let target):
                pc = target
            case .jumpBackward(let target):
                pc = target
                if !ticking { thread.checkpoint() }  // 3.11's JUMP_BACKWARD: JUMPBY, CHECK_EVAL_BREAKER
            // 2.7 takes its fast exit only on True and False; any other value ticks.
            case .popJumpIfFalse(let target):
                let value = pop()
                if ticking && value.kind != .bool { thread.checkpoint() }
                if !Self.truth(value) { pc = target }
            case .popJumpIfTrue(let target):
                let value = pop()
                if ticking && value.kind != .bool { thread.checkpoint() }
                if Self.truth(value) { pc = target }
            case .jumpIfFalseOrPop(let target):
                if ticking && top().kind != .bool { thread.checkpoint() }
                if Self.truth(top()) { _ = pop() } else { pc = target }
            case .jumpIfTrueOrPop(let target):
                if ticking && top().kind != .bool { thread.checkpoint() }
                if Self.truth(top()) { pc = target } else { _ = pop() }
            case .getIter:
                push(try Self.iterator(pop()))
            case .forIter(let target):
                if let next = unsafeDowncast(top(), to: PyIterator.self).advance() {
                    push(next)
                } else {
                    _ = pop()
                    pc = target
                    // 2.7's exhausted FOR_ITER: `JUMPBY(oparg); continue;`, one tick, of which the
                    // table below counted `ticks[at]` (1 unless a STORE_FAST follows).
                    if ticking && ticks[at] == 0 { thread.checkpoint() }
                }
            case .buildList(let count):
                push(PyList(popArguments(count)))
            case .buildDict(let count):
                let flat = popArguments(2 * count)
                let dict = PyDict()
                for pair in 0..<count { dict.entries[try PyKey(flat[2 * pair])] = flat[2 * pair + 1] }
                push(dict)
            case .getItem:
                let index = pop()
                let container = pop()
                push(try Self.getItem(container, index))
            case .setItem:
                let value = pop()
                let index = pop()
                let container = pop()
                try Self.setItem(container, index, value)
            case .dupTop2:
                let second = stack.base[frame.depth - 2]
                let first = top()
                push(second)
                push(first)
            case .call(let count):
                let arguments = popArguments(count)
                let callee = pop()
                push(try invoke(callee, arguments))
                // 3.11's CALL: CHECK_EVAL_BREAKER once a native callee returns, so a drop request
                // that came during a long call holding the lock is served here, before the next
                // instruction. A Python callee was polled at its RESUME, as in 3.11, which runs
                // it in the same eval loop and does not poll on its return.
                if !ticking && callee.kind != .function { thread.checkpoint() }
            case .callMethod(let name, let count):
                let arguments = popArguments(count)
                let receiver = pop()
                push(try Self.callMethod(receiver, code.names[name], arguments))
                if !ticking { thread.checkpoint() }  // a method of a builtin type: a native call
            case .makeFunction(let index):
                push(constants[index])
            case .pop:
                _ = pop()
            case .returnValue:
                return pop()
            }
            // legacy-gil: 2.7 decrements its ticker at the top of its loop, after every opcode
            // that ends with `continue`.
            if ticking {
                for _ in 0..<ticks[at] { thread.checkpoint() }
            }
        }
    }

    private static func describe(_ arity: ClosedRange<Int>) -> String {
        arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "\(arity.lowerBound) to \(arity.upperBound)"
    }
}

/// One activation: the value stack and the fast locals, in raw buffers.
private final class Frame {
    let code: CodeObject
    let locals: UnsafeMutableBufferPointer<PyObject?>
    let stack: (base: UnsafeMutablePointer<PyObject>, capacity: Int)
    /// Values on the stack now.
    var depth = 0

    init(code: CodeObject, arguments: [PyObject]) {
        self.code = code
        locals = .allocate(capacity: code.localNames.count)
        locals.initialize(repeating: nil)
        for (index, argument) in arguments.enumerated() { locals[index] = argument }
        // The compiler keeps every statement stack-neutral (a `for` loop keeps just its
        // iterator), so the depth never exceeds what the code's text pushes once, and no
        // instruction pushes more than two: twice the code length always suffices.
        let capacity = 2 * code.instructions.count + 2
        stack = (.allocate(capacity: capacity), capacity)
    }

    /// Releases what the frame still holds; runs on return and on throw.
    /// - Parameter thread: under biased reference counting, the running thread's token.
    func clear(_ thread: UInt32?) {
        if let thread {
            for index in 0..<depth { Interpreter.countShared(stack.base[index], -1, thread) }
        }
        stack.base.deinitialize(count: depth)
        depth = 0
    }

    deinit {
        stack.base.deallocate()
        locals.deinitialize()
        locals.deallocate()
    }
}
