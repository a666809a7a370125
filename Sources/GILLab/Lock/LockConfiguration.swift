/// How an interpreter lock hands itself between threads.
public enum LockPolicy: String, Sendable, CaseIterable, Codable {
    /// CPython 3.2+ (`Python/ceval_gil.c`): a waiter asks the holder to drop after one switch
    /// interval, and the holder waits until another thread has taken the lock (forced switching).
    case newGIL = "new-gil"
    /// CPython 2 (`Python/ceval.c`, `_Py_Ticker`): every `checkInterval` checkpoints the holder
    /// releases a plain lock and at once asks for it again. Nothing hands the lock over, so on a
    /// multicore machine the releaser, already running, usually wins it back: the "GIL battle".
    case legacyGIL = "legacy-gil"
    /// PEP 703, free-threaded: no mutual exclusion at all. Acquire and release still count, so
    /// the statistics show what would have been contended.
    case free

    /// One line for `gillab list`.
    public var summary: String {
        switch self {
        case .newGIL:
            "CPython 3.2+: timed drop request after the switch interval, eval breaker, forced switching"
        case .legacyGIL:
            "CPython 2: release and re-request a plain lock every --check-interval checkpoints; no handoff"
        case .free:
            "PEP 703 free-threading: no mutual exclusion; statistics still count"
        }
    }
}

/// Errors in a lock configuration.
public enum LockConfigurationError: Error, Equatable, CustomStringConvertible {
    /// The switch interval is zero or negative.
    case nonPositiveSwitchInterval(Duration)
    /// The switch interval is longer than ``LockConfiguration/maximumSwitchInterval``.
    case switchIntervalTooLong(Duration)
    /// The check interval is below 1.
    case nonPositiveCheckInterval(Int)

    /// A one-line message naming the bad value.
    public var description: String {
        switch self {
        case .nonPositiveSwitchInterval(let interval):
            "switch interval must be positive, got \(interval)"
        case .switchIntervalTooLong(let interval):
            "switch interval must be at most \(LockConfiguration.maximumSwitchInterval), got \(interval)"
        case .nonPositiveCheckInterval(let ticks):
            "check interval must be at least 1, got \(ticks)"
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
    /// Used by `new-gil`.
    public var switchInterval: Duration
    /// Checkpoints between the holder's periodic releases (`sys.setcheckinterval`, 100 in
    /// CPython 2). Used by `legacy-gil`.
    public var checkInterval: Int

    /// CPython 2's default check interval, in ticks.
    public static let defaultCheckInterval = 100

    /// Creates a configuration.
    /// - Parameters:
    ///   - policy: the handoff policy; CPython 3.2+ by default.
    ///   - switchInterval: a positive duration; 5 ms by default.
    ///   - checkInterval: checkpoints between `legacy-gil`'s releases; 100 by default.
    /// - Throws: ``LockConfigurationError`` naming the bad value.
    public init(policy: LockPolicy = .newGIL, switchInterval: Duration = defaultSwitchInterval,
                checkInterval: Int = defaultCheckInterval) throws(LockConfigurationError) {
        guard switchInterval > .zero else { throw .nonPositiveSwitchInterval(switchInterval) }
        guard switchInterval <= Self.maximumSwitchInterval else { throw .switchIntervalTooLong(switchInterval) }
        guard checkInterval >= 1 else { throw .nonPositiveCheckInterval(checkInterval) }
        self.policy = policy
        self.switchInterval = switchInterval
        self.checkInterval = checkInterval
    }

    /// CPython's defaults: policy `new-gil`, 5 ms switch interval.
    public static let `default` = try! LockConfiguration()

    var switchIntervalNanoseconds: UInt64 {
        let (seconds, attoseconds) = switchInterval.components
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
