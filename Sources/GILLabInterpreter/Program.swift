import GILLabLock

/// What the threads of one program share: its globals, its imported modules, where `print`
/// writes, and the threads it started. Each thread runs its own ``Interpreter`` (its eval loop,
/// reference counter and recursion depth) over one `ProgramState`, as CPython's threads each
/// have a thread state over one interpreter state. Touched only with the lock held.
final class ProgramState {
    /// Whether the program's threads may run at once (policy `free`, made with
    /// `sharedByThreads`): its globals, lists and dicts are then locked per access, its own
    /// fields under `mutex`, and its code is not specialised in place (as 3.13t does not).
    let concurrent: Bool
    /// Guards the globals and the fields below when `concurrent`.
    let mutex = PosixMutex()
    @exclusivity(unchecked) var globals: [PyObject?] = []
    var globalIndex: [String: Int] = [:]
    var globalNames: [String] = []
    /// Modules imported so far.
    var modules: [String: PyModule] = [:]
    /// The modules `import` can name, each made on its first import by the importing interpreter.
    var moduleMakers: [String: (Interpreter) -> [String: PyObject]] = [:]
    /// `sys.argv`.
    var argv: [String] = [""]
    /// Where `print` writes.
    var output: (String) -> Void = { text in writeStandardOutput(text) }
    /// Where an uncaught exception in a thread is reported.
    var errorOutput: (String) -> Void = { text in writeStandardError(text) }
    /// The threads `threading.Thread.start` started, kept alive until the program ends.
    var threads: [PyThreadObject] = []
    /// `Thread-N` numbering, as CPython's `_counter`.
    var threadCount = 0
    /// The lock states of the threads the program started, in the order they started running.
    var threadStates: [ThreadState] = []
    /// Per thread (by lock state id): nanoseconds blocked waiting for another thread of the
    /// program (join, a Lock, a Queue, an Event), which the lock counts as released for I/O.
    var synchronizationNanoseconds: [Int: UInt64] = [:]

    init(concurrent: Bool) { self.concurrent = concurrent }

    /// Runs `body` under `mutex` when the program's threads run at once; else as is (the
    /// interpreter lock already orders them).
    @inline(__always)
    func exclusive<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        guard concurrent else { return try body() }
        mutex.lock()
        defer { mutex.unlock() }
        return try body()
    }

    /// Global `index`, read under `mutex` when concurrent.
    @inline(__always)
    func global(_ index: Int) -> PyObject? {
        guard concurrent else { return globals[index] }
        mutex.lock()
        defer { mutex.unlock() }
        return globals[index]
    }

    /// Sets global `index`, under `mutex` when concurrent; the old value is released after.
    @inline(__always)
    func setGlobal(_ index: Int, _ value: PyObject?) {
        guard concurrent else { globals[index] = value; return }
        mutex.lock()
        let old = globals[index]
        globals[index] = value
        mutex.unlock()
        _ = old
    }

    func slot(for name: String) -> Int {
        if let index = globalIndex[name] { return index }
        globalIndex[name] = globals.count
        globalNames.append(name)
        globals.append(nil)
        return globals.count - 1
    }

    func define(_ name: String, _ value: PyObject) {
        globals[slot(for: name)] = value
    }

    func write(_ text: String) { output(text) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private func writeStandardOutput(_ text: String) { writeAll(1, text) }

private func writeStandardError(_ text: String) { writeAll(2, text) }

/// Writes all of `text` to a file descriptor, unbuffered, so that a program's output and the
/// lab's interleave in order.
private func writeAll(_ descriptor: Int32, _ text: String) {
    var text = text
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 { if written < 0 && errno == EINTR { continue }; return }
            offset += written
        }
    }
}

/// What a blocking call waits on (a thread's end, a lock, a queue's items): a mutex, a condition,
/// and the state they guard. It is kept apart from the interpreter object that owns it, so that a
/// thread waiting without the interpreter lock touches no interpreter object, not even its
/// reference count, which the lock's holder may be changing with plain adds.
final class WaitState<State>: @unchecked Sendable {
    let mutex = PosixMutex()
    let condition = PosixCondition()
    /// Guarded by `mutex`: read or write it only holding that (``withLock(_:)`` does).
    var state: State

    init(_ state: State) { self.state = state }

    /// Runs `body` on the state, holding the mutex.
    func withLock<T, E: Error>(_ body: (inout State) throws(E) -> T) throws(E) -> T {
        mutex.lock()
        defer { mutex.unlock() }
        return try body(&state)
    }
}

extension Interpreter {
    /// Blocks the calling thread, with the interpreter lock released (as CPython releases it
    /// around every blocking call), until `claim` succeeds or `seconds` pass (`nil`: no limit).
    /// `claim` runs under the wait state's mutex, sees no interpreter object, and takes what it
    /// waits for (a lock, a queue slot) when it returns true, so that no other waiter takes it
    /// first. Waits in slices of at most 20 ms so that Ctrl-C
    /// (``/GILLabLock/InterpreterLock/requestInterrupt()``) ends the wait, with KeyboardInterrupt.
    /// - Returns: whether `claim` succeeded; false when the time ran out.
    func block<State>(_ waits: WaitState<State>, seconds: Double?, synchronizing: Bool = true,
                      until claim: (inout State) -> Bool) throws(PyError) -> Bool {
        // Past about 292 years a deadline does not fit the clock: as CPython, an OverflowError.
        if let seconds, seconds > 9.2e9 { throw PyError(.overflowError, "timeout value is too large") }
        let deadline = seconds.map { monotonicNanoseconds() &+ UInt64(max($0, 0) * 1e9) }
        if waits.withLock(claim) { return true }
        // A call that does not wait (blocking=False, get_nowait, a zero timeout) keeps the lock.
        if seconds == 0 { return false }
        let lock = thread.lock
        let blockedSince = monotonicNanoseconds()
        let released = thread.releaseLock(reason: .io)
        waits.mutex.lock()
        var claimed = false
        while !lock.isInterruptRequested {
            if claim(&waits.state) { claimed = true; break }
            let now = monotonicNanoseconds()
            if let deadline, now >= deadline { break }
            let slice = min(deadline.map { $0 - now } ?? .max, 20_000_000)
            _ = waits.condition.wait(waits.mutex, nanoseconds: slice)
        }
        waits.mutex.unlock()
        released.reacquire()
        // From before the release to after the take: the lock's released span for this wait lies
        // inside it, so that a thread's waits on others never show as I/O.
        let blocked = monotonicNanoseconds() &- blockedSince
        if synchronizing {
            let id = thread.id
            program.exclusive { program.synchronizationNanoseconds[id, default: 0] &+= blocked }
        }
        if !claimed && lock.isInterruptRequested { throw PyError(.keyboardInterrupt, "") }
        return claimed
    }

    /// Sleeps `seconds` with the lock released, ending early with KeyboardInterrupt on Ctrl-C.
    func sleep(seconds: Double) throws(PyError) {
        // A condition nobody signals: a sleep that Ctrl-C can cut short.
        _ = try block(WaitState(()), seconds: seconds, synchronizing: false) { _ in false }
    }
}
