/// How an interpreter lock hands itself between threads.
public enum LockPolicy: String, Sendable, CaseIterable, Codable {
    /// CPython 3.2+ (`Python/ceval_gil.h` until 3.11, `Python/ceval_gil.c` since 3.12): a waiter
    /// asks the holder to drop after one switch interval, and the holder waits until another
    /// thread has taken the lock (forced switching). A thread's final release does not wait, as
    /// in 3.12+; the eval breaker is polled where 3.11's `Python/ceval.c` polls it. See
    /// ``InterpreterLock``.
    case newGIL = "new-gil"
    /// CPython 2.7 (`Python/ceval.c`, `_Py_Ticker`): one ticker per lock, starting at 0, loses a
    /// tick per checkpoint; when it goes below 0 it is reset to ``LockConfiguration/checkInterval``
    /// and the holder releases a plain lock and at once asks for it again, so a release comes
    /// every `checkInterval` + 1 ticks. The interpreter ticks where 2.7 does, once per opcode
    /// that goes back to the top of 2.7's eval loop; other code ticks once per
    /// ``ThreadState/checkpoint()``. Nothing hands the lock over, so on a multicore machine the
    /// releaser, already running, usually wins it back: the "GIL battle".
    case legacyGIL = "legacy-gil"
    /// PEP 703, free-threaded (CPython 3.13t): no mutual exclusion at all. Acquire and release
    /// are 3.13t's attach and detach (`Python/pystate.c`), a compare-and-swap on the thread's own
    /// state, with no shared mutex. GILLab adds a shared atomic add per acquire and per release
    /// to count ``LockStatistics/concurrentAcquisitions`` and
    /// ``LockStatistics/maxConcurrentHolders``; no wait is ever recorded.
    case free
    /// PEP 684, a lock per interpreter: ``LockConfiguration/interpreters`` interpreters, each
    /// with its own `new-gil` lock. A thread joins the interpreter its maker names in
    /// ``InterpreterLock/makeThreadState(name:interpreter:)``, or, with none named, interpreter
    /// `(id - 1) % interpreters`, the states counted in the order they are made. The lab puts its
    /// thread i in interpreter i mod `interpreters`. Threads of different interpreters never
    /// contend.
    case perInterpreter = "per-interpreter"
    /// GILLab's fix for the convoy effect (bpo-7946): `new-gil`, except that a thread coming back
    /// from a blocking call sets the drop request as soon as the holder has held the lock for a
    /// tenth of the switch interval, instead of after a whole interval, and is served before
    /// CPU-bound waiters. Bounded so that no stream of I/O threads can starve a CPU-bound
    /// thread: a waiter that has waited a whole switch interval since it asked, checked at every
    /// wake-up, asks a holder back from I/O to drop and goes before the threads back from I/O.
    /// Among CPU-bound threads it is `new-gil`. See ``InterpreterLock``.
    case ioPriority = "io-priority"

    /// What the policy does, in one line.
    public var summary: String {
        switch self {
        case .newGIL:
            "CPython 3.2+: timed drop request after the switch interval, eval breaker, forced switching"
        case .legacyGIL:
            "CPython 2.7: one ticker; release and re-request a plain lock every check interval + 1 ticks; no handoff"
        case .free:
            "PEP 703 free-threading (3.13t): no mutual exclusion; counts threads that hold at once"
        case .perInterpreter:
            "PEP 684: several interpreters, each with its own new-gil lock; thread i joins interpreter i mod N"
        case .ioPriority:
            "convoy fix: a thread back from I/O asks for the lock once the holder has had a tenth of an interval; a waiter waiting a whole interval goes before I/O threads"
        }
    }
}

/// What a lock's statistics time.
public enum LockTiming: String, Sendable, CaseIterable, Codable {
    /// Every hold, wait and released span is timed, so that per thread hold + wait + released
    /// is the thread's life: two clock reads per release round trip. The default, and what the
    /// runner's held share, waiting share and projections need.
    case timed
    /// Counts only: acquisitions, switches, drop requests and forced switches, plus the length
    /// of contended waits (a contended wait sleeps anyway). Hold and released times stay zero.
    /// An uncontended release round trip then reads no clock at all: the cheapest lock, for a
    /// library user who wants the GIL's behaviour and not its accounting. A lock with an event
    /// hook times everything regardless, since every event carries a time.
    case untimed
}

/// Errors in a lock configuration.
public enum LockConfigurationError: Error, Equatable, CustomStringConvertible {
    /// The switch interval is zero or negative.
    case nonPositiveSwitchInterval(Duration)
    /// The switch interval is longer than ``LockConfiguration/maximumSwitchInterval``.
    case switchIntervalTooLong(Duration)
    /// The check interval is below 1.
    case nonPositiveCheckInterval(Int)
    /// The interpreter count is below 1 or above ``LockConfiguration/maximumInterpreters``.
    case interpretersOutOfRange(Int)
    /// The handoff spin is negative or longer than ``LockConfiguration/maximumSpin``.
    case spinOutOfRange(Duration)

    /// A one-line message naming the bad value.
    public var description: String { "\(subject) \(problem)" }

    /// The ``LockConfiguration`` property that holds the bad value, such as `"switchInterval"`.
    public var setting: String {
        switch self {
        case .nonPositiveSwitchInterval, .switchIntervalTooLong: "switchInterval"
        case .nonPositiveCheckInterval: "checkInterval"
        case .interpretersOutOfRange: "interpreters"
        case .spinOutOfRange: "spin"
        }
    }

    /// The setting in words, as ``description`` begins.
    public var subject: String {
        switch self {
        case .nonPositiveSwitchInterval, .switchIntervalTooLong: "switch interval"
        case .nonPositiveCheckInterval: "check interval"
        case .interpretersOutOfRange: "interpreters"
        case .spinOutOfRange: "handoff spin"
        }
    }

    /// The rule that was broken, and the bad value.
    public var problem: String {
        switch self {
        case .nonPositiveSwitchInterval(let interval):
            "must be positive, got \(interval)"
        case .switchIntervalTooLong(let interval):
            "must be at most \(LockConfiguration.maximumSwitchInterval), got \(interval)"
        case .nonPositiveCheckInterval(let ticks):
            "must be at least 1, got \(ticks)"
        case .interpretersOutOfRange(let count):
            "must be between 1 and \(LockConfiguration.maximumInterpreters), got \(count)"
        case .spinOutOfRange(let spin):
            "must be between 0 and \(LockConfiguration.maximumSpin), got \(spin)"
        }
    }
}

/// The settings of one interpreter lock.
public struct LockConfiguration: Sendable, Equatable {
    /// CPython's default, `sys.getswitchinterval()` = 0.005.
    public static let defaultSwitchInterval: Duration = .milliseconds(5)

    /// The longest switch interval accepted: an hour, far past any useful setting, and well
    /// inside the nanosecond arithmetic of a timed wait.
    public static let maximumSwitchInterval: Duration = .seconds(3600)

    /// The handoff policy.
    public var policy: LockPolicy
    /// How long a waiter waits before it sets the drop request (`sys.setswitchinterval`).
    /// Used by `new-gil`, `per-interpreter` and `io-priority`.
    public var switchInterval: Duration
    /// CPython 2.7's `_Py_CheckInterval` (`sys.setcheckinterval`, 100): what the ticker is reset
    /// to at each periodic release, which therefore comes every `checkInterval` + 1 ticks. Used
    /// by `legacy-gil`.
    public var checkInterval: Int

    /// Interpreters, each with its own lock, under `per-interpreter`; the others use one.
    public var interpreters: Int
    /// Fast handoff (`new-gil`, `per-interpreter`): how long a thread that finds the lock held
    /// spins, watching for the holder to drop it, before it sleeps on the condition variable,
    /// as an adaptive mutex does. Zero (the default, and CPython) sleeps at once. A short
    /// release then hands the lock over without waking a sleeping thread.
    public var spin: Duration = .zero
    /// What the statistics time; ``LockTiming/timed`` by default. The lock's behaviour is
    /// the same either way.
    public var timing: LockTiming = .timed
    /// The longest spin accepted.
    public static let maximumSpin: Duration = .milliseconds(10)

    /// CPython 2.7's default check interval, in ticks.
    public static let defaultCheckInterval = 100
    /// Interpreters under `per-interpreter` unless told otherwise.
    public static let defaultInterpreters = 2
    /// The most interpreters accepted; as many as the runner's thread limit.
    public static let maximumInterpreters = 4096

    /// Creates a configuration.
    /// - Parameters:
    ///   - policy: the handoff policy; CPython 3.2+ by default.
    ///   - switchInterval: a positive duration; 5 ms by default.
    ///   - checkInterval: `legacy-gil`'s check interval, a release every `checkInterval` + 1
    ///     ticks; 100 by default.
    ///   - interpreters: interpreters under `per-interpreter`; 2 by default.
    ///   - spin: the fast handoff: how long a `new-gil` waiter spins before it sleeps; 0 (CPython's
    ///     behaviour) by default, at most 10 ms.
    ///   - timing: what the statistics time; everything by default.
    /// - Throws: ``LockConfigurationError`` naming the bad value.
    public init(policy: LockPolicy = .newGIL, switchInterval: Duration = defaultSwitchInterval,
                checkInterval: Int = defaultCheckInterval,
                interpreters: Int = defaultInterpreters, spin: Duration = .zero,
                timing: LockTiming = .timed) throws(LockConfigurationError) {
        self.timing = timing
        guard spin >= .zero, spin <= Self.maximumSpin else { throw .spinOutOfRange(spin) }
        self.spin = spin
        guard switchInterval > .zero else { throw .nonPositiveSwitchInterval(switchInterval) }
        guard switchInterval <= Self.maximumSwitchInterval else { throw .switchIntervalTooLong(switchInterval) }
        guard checkInterval >= 1 else { throw .nonPositiveCheckInterval(checkInterval) }
        guard (1...Self.maximumInterpreters).contains(interpreters) else { throw .interpretersOutOfRange(interpreters) }
        self.policy = policy
        self.switchInterval = switchInterval
        self.checkInterval = checkInterval
        self.interpreters = interpreters
    }

    /// How many locks the policy makes: `interpreters` under `per-interpreter`, else one.
    public var lockCount: Int { policy == .perInterpreter ? interpreters : 1 }

    /// CPython's defaults: policy `new-gil`, 5 ms switch interval.
    public static let `default` = try! LockConfiguration()

    package var switchIntervalNanoseconds: UInt64 {
        switchInterval.wholeNanoseconds
    }
}
