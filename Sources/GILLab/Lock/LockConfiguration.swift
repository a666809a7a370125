/// How an interpreter lock hands itself between threads.
public enum LockPolicy: String, Sendable, CaseIterable, Codable {
    /// CPython 3.2+ (`Python/ceval_gil.c`): a waiter asks the holder to drop after one switch
    /// interval, and the holder waits until another thread has taken the lock (forced switching).
    case newGIL = "new-gil"

    /// One line for `gillab list`.
    public var summary: String {
        switch self {
        case .newGIL:
            "CPython 3.2+: timed drop request after the switch interval, eval breaker, forced switching"
        }
    }
}

/// Errors in a lock configuration.
public enum LockConfigurationError: Error, Equatable, CustomStringConvertible {
    /// The switch interval is zero or negative.
    case nonPositiveSwitchInterval(Duration)
    /// The switch interval is longer than ``LockConfiguration/maximumSwitchInterval``.
    case switchIntervalTooLong(Duration)

    /// A one-line message naming the bad value.
    public var description: String {
        switch self {
        case .nonPositiveSwitchInterval(let interval):
            "switch interval must be positive, got \(interval)"
        case .switchIntervalTooLong(let interval):
            "switch interval must be at most \(LockConfiguration.maximumSwitchInterval), got \(interval)"
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
    public var switchInterval: Duration

    /// Creates a configuration.
    /// - Parameters:
    ///   - policy: the handoff policy; CPython 3.2+ by default.
    ///   - switchInterval: a positive duration; 5 ms by default.
    /// - Throws: ``LockConfigurationError/nonPositiveSwitchInterval(_:)`` or
    ///   ``LockConfigurationError/switchIntervalTooLong(_:)``.
    public init(policy: LockPolicy = .newGIL, switchInterval: Duration = defaultSwitchInterval) throws(LockConfigurationError) {
        guard switchInterval > .zero else { throw .nonPositiveSwitchInterval(switchInterval) }
        guard switchInterval <= Self.maximumSwitchInterval else { throw .switchIntervalTooLong(switchInterval) }
        self.policy = policy
        self.switchInterval = switchInterval
    }

    /// CPython's defaults: policy `new-gil`, 5 ms switch interval.
    public static let `default` = try! LockConfiguration()

    var switchIntervalNanoseconds: UInt64 {
        let (seconds, attoseconds) = switchInterval.components
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
