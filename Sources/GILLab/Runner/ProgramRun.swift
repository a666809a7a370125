import GILLabInterpreter
import GILLabLock
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// `gillab exec`: a user's own Python program, run once in GILLab's interpreter under one lock
// policy, with its own threads. The run records the lock's events so that the load per thread
// and who waited behind whom come out exactly, as for a built-in workload's traced repeat.

/// What to run, and how.
public struct ProgramPlan: Sendable {
    /// The program's text.
    public var source: String
    /// The name its tracebacks and locations carry.
    public var filename: String
    /// The lock's policy, switch interval and spin.
    public var lock: LockConfiguration
    /// Stops the program after this long, as Ctrl-C does; `nil`: no limit.
    public var timeLimit: Duration?
    /// `sys.argv[1:]`.
    public var arguments: [String] = []
    /// Records events per thread up to this many (for wait attribution and `--trace`).
    public var eventsPerThread: Int = RunTrace.defaultEventsPerThread

    /// Creates a plan.
    public init(source: String, filename: String, lock: LockConfiguration = .default, timeLimit: Duration? = nil) {
        self.source = source
        self.filename = filename
        self.lock = lock
        self.timeLimit = timeLimit
    }

    /// Checks the settings before anything runs.
    /// - Throws: ``RunnerError/invalidSetting(_:)`` naming the bad value.
    public func validate() throws(RunnerError) {
        if let timeLimit, timeLimit <= .zero {
            throw .setting("timeLimit", "must be positive, got \(timeLimit)")
        }
    }
}

/// How a program ended.
public enum ProgramEnd: Sendable, Equatable {
    /// It ran to its end.
    case completed
    /// An exception nobody caught ended it (exit status 1).
    case exception(PyError)
    /// It does not parse or compile, or uses what GILLab's interpreter does not run (exit 65).
    case rejected(PyError)
    /// Ctrl-C stopped it (exit 130).
    case interrupted
    /// The time limit stopped it (exit 124, as `timeout` reports).
    case timedOut

    /// The exit status `gillab exec` reports.
    public var exitStatus: Int32 {
        switch self {
        case .completed: 0
        case .exception: 1
        case .rejected: 65
        case .interrupted: 130
        case .timedOut: 124
        }
    }
}

/// One thread of a program run: where its time went.
public struct ProgramThread: Sendable, Codable, Equatable {
    /// `MainThread`, `Thread-1 (worker)`, ...
    public var name: String
    /// Seconds from its first take of the lock to its last release.
    public var lifeSeconds: Double
    /// Holding the lock.
    public var heldSeconds: Double
    /// Waiting for it.
    public var waitingSeconds: Double
    /// Released around blocking calls that stand for I/O (`time.sleep`).
    public var releasedIOSeconds: Double
    /// Released while waiting for the program's other threads (join, Lock, Queue, Event).
    public var synchronizingSeconds: Double
    /// Released around kernels (`gillab.dgemm(release=True)`).
    public var releasedKernelSeconds: Double

    enum CodingKeys: String, CodingKey {
        case name, lifeSeconds = "life_s", heldSeconds = "held_s", waitingSeconds = "waiting_s"
        case releasedIOSeconds = "released_io_s", synchronizingSeconds = "synchronizing_s"
        case releasedKernelSeconds = "released_kernel_s"
    }
}

/// What a program run measured.
public struct ProgramRun: Sendable {
    /// The file name.
    public var filename: String
    /// The policy it ran under.
    public var policy: LockPolicy
    /// How it ended.
    public var end: ProgramEnd
    /// Seconds from the main thread's first take of the lock (before the interpreter is made and
    /// the module runs) to its last release, after its other threads have ended.
    public var wallSeconds: Double
    /// Its threads, the main thread first.
    public var threads: [ProgramThread]
    /// The lock's figures over the run, with who waited behind whom.
    public var lock: LockSummary
    /// Where the threads' time went, summed and divided by the wall time and thread count.
    public var shares: TimeShares
    /// The recorded events, as a trace segment (for `--trace` and `report`).
    public var segment: RunTrace.Segment?
}

/// Runs programs.
public enum ProgramRunner {
    /// Parses and compiles the plan's program without running it: the SyntaxError or
    /// NotImplementedError (at file:line:column) that `gillab exec` would refuse it with, or `nil`.
    public static func check(_ plan: ProgramPlan) -> PyError? {
        let lock = InterpreterLock(configuration: .default)
        let thread = lock.makeThreadState(name: "check")
        thread.acquire()
        defer { thread.detach() }
        let interpreter = Interpreter(thread: thread)
        GILLabModule.install(in: interpreter)
        do throws(PyError) {
            try interpreter.check(plan.source, filename: plan.filename)
            return nil
        } catch {
            return error
        }
    }

    /// Runs `plan`'s program to its end: loads it on a thread of its own (its main thread), then
    /// waits for every thread it started, as CPython waits for non-daemon threads at exit.
    /// - Parameters:
    ///   - plan: the program and the lock.
    ///   - stop: Ctrl-C; when requested, every thread of the program stops at its next poll
    ///     point or wait, with KeyboardInterrupt.
    ///   - output: where `print` writes.
    ///   - errorOutput: where tracebacks go, as they happen.
    ///   - prepare: called with the main interpreter before the program loads (the lab's
    ///     `gillab` module is registered here).
    /// - Throws: ``RunnerError`` for a bad setting.
    public static func run(_ plan: ProgramPlan, stop: StopRequest? = nil,
                           output: @escaping @Sendable (String) -> Void,
                           errorOutput: @escaping @Sendable (String) -> Void,
                           prepare: @escaping @Sendable (Interpreter) -> Void = { _ in }) throws(RunnerError) -> ProgramRun {
        try plan.validate()
        let recorder = LockEventRecorder(eventsPerThread: plan.eventsPerThread)
        let lock = InterpreterLock(configuration: plan.lock, eventHook: recorder)
        let result = Locked<(end: ProgramEnd, wall: UInt64, start: UInt64, threads: [ProgramThread], statistics: LockStatistics, names: [String])?>(nil)
        let timedOut = Atomic<Bool>(false)
        let finished = Atomic<Bool>(false)

        let main = NativeThread {
            let state = lock.makeThreadState(name: "MainThread", interpreter: 0)
            // The run's wall time spans the main thread's whole hold, from before its first take
            // to after its last release, so that the lock's held time never exceeds it.
            let start = monotonicNanoseconds()
            state.acquire()
            let interpreter = Interpreter(thread: state, sharedByThreads: true)
            interpreter.output = output
            interpreter.errorOutput = errorOutput
            interpreter.arguments = [plan.filename] + plan.arguments
            prepare(interpreter)
            var end = ProgramEnd.completed
            do throws(PyError) {
                try interpreter.load(plan.source, filename: plan.filename)
            } catch {
                end = error.position != nil ? .rejected(error) : error.kind == .keyboardInterrupt ? .interrupted : .exception(error)
                if case .exception = end { errorOutput(error.report + "\n") }
            }
            do throws(PyError) {
                try interpreter.joinThreads()
            } catch {
                end = .interrupted
            }
            if end == .interrupted && timedOut.load(ordering: .relaxed) { end = .timedOut }
            let names = lock.locations.all
            state.detach()
            let wall = monotonicNanoseconds() - start
            let threads = interpreter.threadStates.map { thread in
                let s = thread.statistics
                let synchronizing = interpreter.synchronizationSeconds(ofThread: thread.id)
                return ProgramThread(name: thread.name, lifeSeconds: Double(s.lifetimeNanoseconds) / 1e9,
                                     heldSeconds: Double(s.totalHoldNanoseconds) / 1e9,
                                     waitingSeconds: Double(s.totalWaitNanoseconds) / 1e9,
                                     releasedIOSeconds: max(Double(s.releasedIONanoseconds) / 1e9 - synchronizing, 0),
                                     synchronizingSeconds: synchronizing,
                                     releasedKernelSeconds: Double(s.releasedKernelNanoseconds) / 1e9)
            }
            result.withLock { $0 = (end, wall, start, threads, lock.statistics, names) }
            finished.store(true, ordering: .releasing)
        }
        // The watchdog: Ctrl-C and the time limit both ask every thread to stop.
        let began = monotonicNanoseconds()
        let limit = plan.timeLimit.map { UInt64($0.components.seconds) * 1_000_000_000 + UInt64($0.components.attoseconds / 1_000_000_000) }
        while !finished.load(ordering: .acquiring) {
            if stop?.isRequested == true { lock.requestInterrupt() }
            if let limit, monotonicNanoseconds() - began >= limit, !timedOut.load(ordering: .relaxed) {
                timedOut.store(true, ordering: .relaxed)
                lock.requestInterrupt()
            }
            usleep(5_000)
        }
        main.join()
        let (end, wall, start, threads, statistics, names) = result.withLock { $0! }
        var summary = LockSummary(statistics, wallNanoseconds: wall)
        let segment = recorder.threads.isEmpty ? nil
            : RunTrace.segment(mode: .hold, threads: threads.count, policy: plan.lock.policy, start: start, wall: wall,
                               recorder: recorder, locationNames: names)
        if let segment, let waits = AttributedWaits(segment) { summary.attribute(waits) }
        var total = LockStatistics()
        total.totalHoldNanoseconds = UInt64(threads.reduce(0) { $0 + $1.heldSeconds } * 1e9)
        total.releasedIONanoseconds = UInt64(threads.reduce(0) { $0 + $1.releasedIOSeconds } * 1e9)
        total.releasedKernelNanoseconds = UInt64(threads.reduce(0) { $0 + $1.releasedKernelSeconds } * 1e9)
        total.totalWaitNanoseconds = UInt64(threads.reduce(0) { $0 + $1.waitingSeconds } * 1e9)
        return ProgramRun(filename: plan.filename, policy: plan.lock.policy, end: end, wallSeconds: Double(wall) / 1e9,
                          threads: threads, lock: summary,
                          shares: TimeShares(total, wallNanoseconds: wall, threads: max(threads.count, 1)), segment: segment)
    }
}
