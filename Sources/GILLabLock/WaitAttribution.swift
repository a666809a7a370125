// Who waited behind whom, and behind which code.
//
// Sampling tools see the lock from outside: gil_load and py-spy know that a thread was waiting,
// not whom it was waiting for. The lock's own events say both. Every wait runs from the
// waiter's `wants` to its `acquired`; every hold runs from a holder's `acquired` to its
// `released`, and the holder's `location` events say where in its code it was meanwhile. So a
// sweep over all threads' events in time order can charge each moment of each wait to whoever
// held the lock at that moment, at the location it was at: exactly, to the clock's resolution,
// and with nothing left over. A moment when nobody held the lock, because the last holder has
// let go and the next has not yet woken up, is charged to the handoff.

/// Each waiter's wait, split by whom it waited behind and where that holder was.
///
/// Made from a recording of a lock's events (``LockEventRecorder``): under every policy that
/// has a holder (all but `free`), and per interpreter under `per-interpreter`.
///
/// ```swift
/// let recorder = LockEventRecorder()
/// let gil = InterpreterLock(eventHook: recorder)
/// // … threads run, report their locations, and finish …
/// let waits = WaitAttribution(recorder, locations: gil.locations)
/// for blocker in waits.blockers { print(blocker.location, blocker.nanoseconds, blocker.handoffs) }
/// ```
///
/// For each waiter, the charges add up to its waits (`wants` to `acquired`) exactly, and so
/// to its ``LockStatistics/totalWaitNanoseconds`` when every event was kept.
public struct WaitAttribution: Sendable, Equatable {
    /// One thread of the recording.
    public struct Thread: Sendable, Equatable {
        /// Its ``ThreadState/id``.
        public var id: Int
        /// Its name.
        public var name: String
        /// Its time in the window: from its first event (or the window's start) to its last.
        public var lifeNanoseconds: UInt64
        /// The sum of its waits in the window.
        public var waitNanoseconds: UInt64
    }

    /// Time one thread spent waiting behind another (or behind the handoff).
    public struct Charge: Sendable, Equatable {
        /// The waiter's ``ThreadState/id``.
        public var waiter: Int
        /// The holder's ``ThreadState/id``; `nil` while nobody held the lock: the handoff from
        /// one holder to the next (the next one waking up).
        public var holder: Int?
        /// The time, in nanoseconds.
        public var nanoseconds: UInt64
    }

    /// A place in code that held the lock while others waited.
    public struct Blocker: Sendable, Equatable {
        /// The location's name (``LockLocations``), or ``WaitAttribution/handoffName`` for the
        /// time nobody held.
        public var location: String
        /// The time others spent waiting while a holder was here, summed over the waiters.
        public var nanoseconds: UInt64
        /// Times a holder let the lock go from here while another thread was waiting for it.
        public var handoffs: Int
    }

    /// The name of the blocker that stands for the time nobody held the lock.
    public static let handoffName = "(handoff)"

    /// Every thread, in the recording's order.
    public var threads: [Thread]
    /// The waits, by waiter and holder, largest first; pairs with no time are left out.
    public var charges: [Charge]
    /// The locations others waited behind, largest first.
    public var blockers: [Blocker]
    /// Per waiter, the locations it waited behind, largest first (their `handoffs` are 0).
    private var blockersByWaiter: [Int: [Blocker]]

    /// All the time threads spent waiting, summed.
    public var totalWaitNanoseconds: UInt64 { threads.reduce(0) { $0 + $1.waitNanoseconds } }

    /// Attributes the waits of a finished recording.
    /// - Parameters:
    ///   - recorder: the lock's recorder, read after its threads have finished.
    ///   - locations: the lock's ``InterpreterLock/locations``, for the names.
    ///   - window: only time within it counts (a run's timed region); all of it when `nil`.
    public init(_ recorder: LockEventRecorder, locations: LockLocations, window: Range<UInt64>? = nil) {
        self.init(threads: recorder.threads.map { ($0.id, $0.name, $0.interpreter, $0.events) },
                  locationNames: locations.all, window: window)
    }

    /// Attributes the waits in the given events.
    /// - Parameters:
    ///   - threads: each thread's id, name, interpreter and events, oldest first.
    ///   - locationNames: location names by index.
    ///   - window: only time within it counts; all of it when `nil`.
    public init(threads: [(id: Int, name: String, interpreter: Int, events: [LockEvent])], locationNames: [String],
                window: Range<UInt64>? = nil) {
        var totals = Totals()
        // Interpreters with locks of their own are swept apart: a thread waits only behind
        // holders of its own interpreter's lock.
        for interpreter in Set(threads.map(\.interpreter)).sorted() {
            Self.sweep(threads.filter { $0.interpreter == interpreter }, window: window, into: &totals)
        }
        self.threads = threads.map { thread in
            let first = thread.events.first?.nanoseconds ?? 0, last = thread.events.last?.nanoseconds ?? 0
            let from = max(first, window?.lowerBound ?? first), to = min(last, window?.upperBound ?? last)
            return Thread(id: thread.id, name: thread.name, lifeNanoseconds: to > from ? to - from : 0,
                          waitNanoseconds: totals.waits[thread.id] ?? 0)
        }
        charges = totals.charges.filter { $0.value > 0 }
            .map { Charge(waiter: $0.key.waiter, holder: $0.key.holder, nanoseconds: $0.value) }
            .sorted(by: Self.largestFirst)
        func name(_ key: Int) -> String {
            key == Self.handoffLocation ? Self.handoffName
                : locationNames.indices.contains(key) ? locationNames[key] : "location \(key)"
        }
        blockers = totals.byLocation.filter { $0.value.nanoseconds > 0 || $0.value.handoffs > 0 }
            .map { key, value in Blocker(location: name(key), nanoseconds: value.nanoseconds, handoffs: value.handoffs) }
            .sorted(by: Self.largestFirst)
        var byWaiter: [Int: [Blocker]] = [:]
        for (key, nanoseconds) in totals.byWaiterLocation where nanoseconds > 0 {
            byWaiter[key.waiter, default: []].append(Blocker(location: name(key.location), nanoseconds: nanoseconds, handoffs: 0))
        }
        blockersByWaiter = byWaiter.mapValues { $0.sorted(by: Self.largestFirst) }
    }

    /// The locations `waiter` waited behind, largest first; their `handoffs` are 0, since a
    /// drop is not made for one waiter.
    public func blockers(waitedBy waiter: Int) -> [Blocker] {
        blockersByWaiter[waiter] ?? []
    }

    /// The time `waiter` spent behind `holder` (`nil`: the handoff).
    public func nanoseconds(waiter: Int, behind holder: Int?) -> UInt64 {
        charges.first { $0.waiter == waiter && $0.holder == holder }?.nanoseconds ?? 0
    }

    /// The charges to `waiter`, summed: its wait, when the recording kept every event.
    public func chargedNanoseconds(waiter: Int) -> UInt64 {
        charges.reduce(0) { $0 + ($1.waiter == waiter ? $1.nanoseconds : 0) }
    }

    private static func largestFirst(_ a: Charge, _ b: Charge) -> Bool {
        if a.nanoseconds != b.nanoseconds { return a.nanoseconds > b.nanoseconds }
        if a.waiter != b.waiter { return a.waiter < b.waiter }
        return (a.holder ?? -1) < (b.holder ?? -1)
    }

    private static func largestFirst(_ a: Blocker, _ b: Blocker) -> Bool {
        a.nanoseconds != b.nanoseconds ? a.nanoseconds > b.nanoseconds : a.location < b.location
    }

    private struct Pair: Hashable {
        var waiter: Int
        var holder: Int?
    }

    private struct WaiterAt: Hashable {
        var waiter: Int
        var location: Int
    }

    private struct Totals {
        var byWaiterLocation: [WaiterAt: UInt64] = [:]
        var charges: [Pair: UInt64] = [:]
        var waits: [Int: UInt64] = [:]
        var byLocation: [Int: (nanoseconds: UInt64, handoffs: Int)] = [:]
    }

    /// The key under which time with no holder is kept, apart from every real location.
    private static let handoffLocation = -1

    /// One event in the sweep's order.
    private struct Step {
        var time: UInt64
        /// At equal times: drops (0), then locations and the like (1), takes (2), asks (3).
        var rank: Int
        var thread: Int
        var sequence: Int
        var kind: LockEvent.Kind

        static func before(_ a: Step, _ b: Step) -> Bool {
            if a.time != b.time { return a.time < b.time }
            if a.rank != b.rank { return a.rank < b.rank }
            if a.thread != b.thread { return a.thread < b.thread }
            return a.sequence < b.sequence
        }
    }

    private static func sweep(_ threads: [(id: Int, name: String, interpreter: Int, events: [LockEvent])],
                              window: Range<UInt64>?, into totals: inout Totals) {
        // Every event in time order. At equal times a drop goes before a take, so that a take
        // stamped with the very time of the drop before it (the fast path does that) finds the
        // lock free; and a `wants` after both, so that it is charged no time before it. One
        // thread's own events keep their order whatever their ranks.
        var steps: [Step] = []
        steps.reserveCapacity(threads.reduce(0) { $0 + $1.events.count })
        for (index, thread) in threads.enumerated() {
            var previous: (time: UInt64, rank: Int)?
            for (sequence, event) in thread.events.enumerated() {
                var rank: Int
                switch event.kind {
                case .released, .threadExit: rank = 0
                case .location, .dropRequest, .threadStart: rank = 1
                case .acquired: rank = 2
                case .wants: rank = 3
                }
                if let previous, previous.time == event.nanoseconds { rank = max(rank, previous.rank) }
                previous = (event.nanoseconds, rank)
                steps.append(Step(time: event.nanoseconds, rank: rank, thread: index, sequence: sequence, kind: event.kind))
            }
        }
        steps.sort(by: Step.before)

        var holder: Int?  // index into threads
        var location = [Int](repeating: LockLocations.glue, count: threads.count)
        var isWaiting = [Bool](repeating: false, count: threads.count)
        var waiting: [Int] = []  // indices of the threads waiting now
        let start = window?.lowerBound ?? steps.first?.time ?? 0
        let end = window?.upperBound ?? UInt64.max
        var last = start

        /// Charges the span from `last` to `time`, clipped to the window, to every waiter.
        func advance(to time: UInt64) {
            let to = min(time, end)
            if to > last && !waiting.isEmpty {
                let span = to - last
                let holderID = holder.map { threads[$0].id }
                let key = holder.map { location[$0] } ?? handoffLocation
                for waiter in waiting {
                    totals.charges[Pair(waiter: threads[waiter].id, holder: holderID), default: 0] += span
                    totals.waits[threads[waiter].id, default: 0] += span
                    totals.byLocation[key, default: (0, 0)].nanoseconds += span
                    totals.byWaiterLocation[WaiterAt(waiter: threads[waiter].id, location: key), default: 0] += span
                }
            }
            last = max(last, to)
        }

        for step in steps {
            advance(to: step.time)
            switch step.kind {
            case .wants:
                if !isWaiting[step.thread] {
                    isWaiting[step.thread] = true
                    waiting.append(step.thread)
                }
            case .acquired:
                if isWaiting[step.thread] {
                    isWaiting[step.thread] = false
                    waiting.removeAll { $0 == step.thread }
                }
                holder = step.thread
            case .released, .threadExit:
                // Only the holder's own drop frees the lock: clocks read on different cores may
                // stamp a take a few nanoseconds before the drop that allowed it.
                if holder == step.thread {
                    if !waiting.isEmpty && step.time >= start && step.time < end {
                        totals.byLocation[location[step.thread], default: (0, 0)].handoffs += 1
                    }
                    holder = nil
                }
            case .location(let index):
                location[step.thread] = index
            case .dropRequest, .threadStart:
                break
            }
        }
        if end != .max { advance(to: end) }
    }
}
