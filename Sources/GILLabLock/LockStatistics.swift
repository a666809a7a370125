/// Counters for one interpreter lock, or for one thread's use of it.
///
/// Every field is a plain integer updated in place, so keeping statistics allocates nothing
/// and costs a few adds per acquisition. Times are in nanoseconds of the monotonic clock; under
/// ``LockTiming/untimed`` only contended waits are timed, and the other times stay zero.
public struct LockStatistics: Sendable, Equatable, Codable {
    /// Times the lock was taken.
    public var acquisitions: UInt64 = 0
    /// Acquisitions that found the lock held and had to wait; 0 under `free`, which never waits.
    public var contendedAcquisitions: UInt64 = 0
    /// Time spent waiting for the lock, summed over all waits.
    public var totalWaitNanoseconds: UInt64 = 0
    /// The longest single wait.
    public var maxWaitNanoseconds: UInt64 = 0
    /// Time the lock was held, summed over all holds.
    public var totalHoldNanoseconds: UInt64 = 0
    /// Drop requests set while none was pending: a waiter timed out after a whole switch
    /// interval with no switch (under `io-priority`, also a thread back from I/O, or a waiter at
    /// its bound). Setting a request already pending changes nothing, since CPython's
    /// `SET_GIL_DROP_REQUEST` (3.11 `Python/ceval.c`) just stores 1, so it is not counted.
    public var dropRequests: UInt64 = 0
    /// Drops on request that then waited for another thread to take the lock (FORCE_SWITCHING).
    public var forcedSwitches: UInt64 = 0
    /// Acquisitions by a thread other than the previous holder (CPython's `switch_number`); 0
    /// under `free`, which has no holder.
    public var switches: UInt64 = 0
    /// `free`: acquisitions (attaches) that found another thread holding at the same moment.
    /// Under a GIL each of these would have been a wait; under `free` both threads ran.
    public var concurrentAcquisitions: UInt64 = 0
    /// `free`: the most threads that held at once.
    public var maxConcurrentHolders: UInt64 = 0
    /// `io-priority`: drop requests set by a thread coming back from I/O, at once or as soon as
    /// the holder has held the lock for a tenth of the switch interval.
    public var priorityRequests: UInt64 = 0
    /// `io-priority`: waiters that had waited a whole switch interval since they asked (checked
    /// at every wake-up) and so went ahead of every other waiter (the starvation bound).
    public var starvedWaiters: UInt64 = 0

    /// Time during which at least one thread was waiting for the lock (gil_load's "wait"): per
    /// lock only.
    public var someoneWaitingNanoseconds: UInt64 = 0

    /// Time neither holding nor waiting for the lock: released regions, and the spans before
    /// the first take and after the last drop. Per thread only. Hold + wait + released is the
    /// thread's ``lifetimeNanoseconds``.
    public var releasedNanoseconds: UInt64 = 0
    /// From the thread state's creation (or its last ``ThreadState/resetStatistics()``) to its
    /// ``ThreadState/detach()``; 0 until then. Per thread only.
    public var lifetimeNanoseconds: UInt64 = 0

    /// Time spent in `withoutLock` around kernels (any reason but I/O): per thread only.
    public var releasedKernelNanoseconds: UInt64 = 0
    /// Time spent in `withoutLock` around blocking I/O: per thread only.
    public var releasedIONanoseconds: UInt64 = 0

    /// All counters zero.
    public init() {}

    /// Total wait in seconds.
    public var totalWaitSeconds: Double { Double(totalWaitNanoseconds) / 1e9 }
    /// Total hold in seconds.
    public var totalHoldSeconds: Double { Double(totalHoldNanoseconds) / 1e9 }

    /// The field-wise sum of two sets of counters; the two maxima take the larger.
    public func adding(_ other: LockStatistics) -> LockStatistics {
        var sum = self
        sum.add(other)
        return sum
    }

    /// Adds `other` field by field, in place; the two maxima take the larger.
    public mutating func add(_ other: LockStatistics) {
        acquisitions += other.acquisitions
        contendedAcquisitions += other.contendedAcquisitions
        totalWaitNanoseconds += other.totalWaitNanoseconds
        maxWaitNanoseconds = max(maxWaitNanoseconds, other.maxWaitNanoseconds)
        totalHoldNanoseconds += other.totalHoldNanoseconds
        dropRequests += other.dropRequests
        forcedSwitches += other.forcedSwitches
        switches += other.switches
        priorityRequests += other.priorityRequests
        starvedWaiters += other.starvedWaiters
        concurrentAcquisitions += other.concurrentAcquisitions
        maxConcurrentHolders = max(maxConcurrentHolders, other.maxConcurrentHolders)
        releasedKernelNanoseconds += other.releasedKernelNanoseconds
        releasedIONanoseconds += other.releasedIONanoseconds
        someoneWaitingNanoseconds += other.someoneWaitingNanoseconds
        releasedNanoseconds += other.releasedNanoseconds
        lifetimeNanoseconds += other.lifetimeNanoseconds
    }

    mutating func recordAcquisition(waitedNanoseconds wait: UInt64?, switched: Bool) {
        acquisitions += 1
        if let wait {
            contendedAcquisitions += 1
            totalWaitNanoseconds += wait
            maxWaitNanoseconds = max(maxWaitNanoseconds, wait)
        }
        if switched { switches += 1 }
    }
}

extension LockStatistics: CustomStringConvertible {
    /// The counters in words, one line per group, leaving out what does not apply: the lines
    /// about one thread's life appear only for a thread's statistics (after its
    /// ``ThreadState/detach()``), and a policy's own counters only when that policy moved them.
    ///
    /// ```text
    /// acquisitions 412 (37 waited), switches 36
    /// held 210.31 ms; waited 180.20 ms in all, longest 5.12 ms
    /// drop requests 30, forced switches 29
    /// ```
    public var description: String {
        var lines = ["acquisitions \(acquisitions) (\(contendedAcquisitions) waited), switches \(switches)"]
        lines.append("held \(Self.milliseconds(totalHoldNanoseconds)); waited \(Self.milliseconds(totalWaitNanoseconds)) in all, "
                     + "longest \(Self.milliseconds(maxWaitNanoseconds))")
        lines.append("drop requests \(dropRequests), forced switches \(forcedSwitches)")
        if someoneWaitingNanoseconds > 0 {
            lines.append("someone waiting for \(Self.milliseconds(someoneWaitingNanoseconds)) (gil_load's wait)")
        }
        if lifetimeNanoseconds > 0 {
            lines.append("released \(Self.milliseconds(releasedNanoseconds)) of a \(Self.milliseconds(lifetimeNanoseconds)) life: "
                         + "\(Self.milliseconds(releasedKernelNanoseconds)) in kernels, \(Self.milliseconds(releasedIONanoseconds)) in I/O")
        }
        if concurrentAcquisitions > 0 || maxConcurrentHolders > 0 {
            lines.append("free: \(concurrentAcquisitions) acquisitions found another thread holding, at most \(maxConcurrentHolders) held at once")
        }
        if priorityRequests > 0 || starvedWaiters > 0 {
            lines.append("io-priority: \(priorityRequests) priority requests, \(starvedWaiters) waiters reached the starvation bound")
        }
        return lines.joined(separator: "\n")
    }

    private static func milliseconds(_ nanoseconds: UInt64) -> String {
        // Hundredths of a millisecond, rounded; no Foundation in this module.
        let hundredths = (nanoseconds + 5_000) / 10_000
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction) ms"
    }
}
