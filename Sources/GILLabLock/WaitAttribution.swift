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
        /// Times a holder let the lock go from here while another thread was waiting for it, and
        /// a waiting thread other than that holder then took it.
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
    /// When some thread's recorder dropped events: the time after which its interpreter's waits
    /// were not attributed (that thread's last kept event, the earliest such). `nil` when every
    /// event was kept.
    public private(set) var truncatedAt: UInt64?
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
        self.init(threads: recorder.threads.map { ($0.id, $0.name, $0.interpreter, $0.events, $0.dropped) },
                  locationNames: locations.all, window: window)
    }

    /// Attributes the waits in the given events.
    /// - Parameters:
    ///   - threads: each thread's id, name, interpreter and events, oldest first, and how many
    ///     later events its recorder dropped.
    ///   - locationNames: location names by index.
    ///   - window: only time within it counts; all of it when `nil`.
    public init(threads: [(id: Int, name: String, interpreter: Int, events: [LockEvent], dropped: Int)],
                locationNames: [String], window: Range<UInt64>? = nil) {
        // At least the glue's column, where every thread starts, whatever names are given.
        var totals = Totals(threads: threads.count, locations: max(locationNames.count, LockLocations.glue + 1))
        // Each thread's window: the given one, or less where its interpreter's sweep was cut.
        var windows = [Range<UInt64>?](repeating: window, count: threads.count)
        // Interpreters with locks of their own are swept apart: a thread waits only behind
        // holders of its own interpreter's lock.
        for interpreter in Set(threads.map(\.interpreter)).sorted() {
            let members = threads.indices.filter { threads[$0].interpreter == interpreter }
            // Past a thread's last kept event nobody knows whether it held or waited: the sweep
            // of its interpreter stops there, unless only events after the window were lost.
            var bounded = window
            if let cut = members.filter({ threads[$0].dropped > 0 }).map({ threads[$0].events.last?.nanoseconds ?? 0 }).min(),
               cut < window?.upperBound ?? .max {
                let start = window?.lowerBound ?? 0
                bounded = start..<max(cut, start)
                truncatedAt = min(truncatedAt ?? cut, cut)
                for member in members { windows[member] = bounded }
            }
            Self.sweep(members.map { (threads[$0].events, $0) }, window: bounded, into: &totals)
        }
        self.threads = threads.enumerated().map { index, thread in
            let first = thread.events.first?.nanoseconds ?? 0, last = thread.events.last?.nanoseconds ?? 0
            let window = windows[index]
            let from = max(first, window?.lowerBound ?? first), to = min(last, window?.upperBound ?? last)
            return Thread(id: thread.id, name: thread.name, lifeNanoseconds: to > from ? to - from : 0,
                          waitNanoseconds: totals.waits[index])
        }
        var charges: [Charge] = []
        for waiter in threads.indices {
            for (column, nanoseconds) in totals.charges[waiter].enumerated() where nanoseconds > 0 {
                charges.append(Charge(waiter: threads[waiter].id, holder: column == 0 ? nil : threads[column - 1].id,
                                      nanoseconds: nanoseconds))
            }
        }
        self.charges = charges.sorted(by: Self.largestFirst)
        // Column 0 of the location tables is the handoff; location k is column k + 1.
        func name(_ column: Int) -> String {
            column == 0 ? Self.handoffName
                : locationNames.indices.contains(column - 1) ? locationNames[column - 1] : "location \(column - 1)"
        }
        blockers = totals.byLocation.indices.filter { totals.byLocation[$0] > 0 || totals.handoffs[$0] > 0 }
            .map { Blocker(location: name($0), nanoseconds: totals.byLocation[$0], handoffs: totals.handoffs[$0]) }
            .sorted(by: Self.largestFirst)
        var byWaiter: [Int: [Blocker]] = [:]
        for waiter in threads.indices {
            byWaiter[threads[waiter].id] = totals.byWaiterLocation[waiter].enumerated().filter { $0.element > 0 }
                .map { Blocker(location: name($0.offset), nanoseconds: $0.element, handoffs: 0) }
                .sorted(by: Self.largestFirst)
        }
        blockersByWaiter = byWaiter
    }

    /// The time the lock sat free while some thread waited for it: from each drop to the next
    /// take, the next holder waking up, and the takes that found it free but still had work to
    /// do. Counted once per moment however many waited (``blockers`` counts it per waiter), per
    /// interpreter's lock, summed: the lock's own cost in a run, in which no thread ran Python.
    /// - Parameters:
    ///   - threads: each thread's interpreter and events, oldest first.
    ///   - window: only time within it counts; all of it when `nil`.
    public static func handoffNanoseconds(threads: [(interpreter: Int, events: [LockEvent])],
                                          window: Range<UInt64>? = nil) -> UInt64 {
        var total: UInt64 = 0
        for interpreter in Set(threads.map(\.interpreter)) {
            // (time, thread, change: 1 wants, 2 acquired, 3 released or exit, place in the
            // thread's own events): ties in time keep each thread's own order.
            var merged: [(time: UInt64, thread: Int, kind: Int, order: Int)] = []
            for (index, thread) in threads.enumerated() where thread.interpreter == interpreter {
                for (order, event) in thread.events.enumerated() {
                    switch event.kind {
                    case .wants: merged.append((event.nanoseconds, index, 1, order))
                    case .acquired: merged.append((event.nanoseconds, index, 2, order))
                    case .released, .threadExit: merged.append((event.nanoseconds, index, 3, order))
                    default: break
                    }
                }
            }
            merged.sort { $0.time != $1.time ? $0.time < $1.time : $0.thread != $1.thread ? $0.thread < $1.thread : $0.order < $1.order }
            var waiting = Set<Int>(), holding = Set<Int>()
            var previous: UInt64?
            for event in merged {
                if let previous, holding.isEmpty, !waiting.isEmpty {
                    let from = max(previous, window?.lowerBound ?? previous), to = min(event.time, window?.upperBound ?? event.time)
                    if to > from { total += to - from }
                }
                previous = event.time
                switch event.kind {
                case 1: waiting.insert(event.thread)
                case 2:
                    waiting.remove(event.thread)
                    holding.insert(event.thread)
                default:
                    holding.remove(event.thread)
                    waiting.remove(event.thread)
                }
            }
        }
        return total
    }

    /// ``handoffNanoseconds(threads:window:)`` of a finished recording.
    public static func handoffNanoseconds(_ recorder: LockEventRecorder, window: Range<UInt64>? = nil) -> UInt64 {
        handoffNanoseconds(threads: recorder.threads.map { ($0.interpreter, $0.events) }, window: window)
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

    /// Dense tables, by thread index (in the order given) and location column (0: the handoff,
    /// k + 1: location k); they grow if an event names a location beyond the names given.
    private struct Totals {
        /// [waiter][0: the handoff, h + 1: behind thread h].
        var charges: [[UInt64]]
        var waits: [UInt64]
        var byLocation: [UInt64]
        var handoffs: [Int]
        /// [waiter][location column].
        var byWaiterLocation: [[UInt64]]

        init(threads: Int, locations: Int) {
            charges = Array(repeating: Array(repeating: 0, count: threads + 1), count: threads)
            waits = Array(repeating: 0, count: threads)
            byLocation = Array(repeating: 0, count: locations + 1)
            handoffs = Array(repeating: 0, count: locations + 1)
            byWaiterLocation = Array(repeating: Array(repeating: 0, count: locations + 1), count: threads)
        }

        mutating func makeRoom(forColumn column: Int) {
            guard column >= byLocation.count else { return }
            let extra = column + 1 - byLocation.count
            byLocation += Array(repeating: 0, count: extra)
            handoffs += Array(repeating: 0, count: extra)
            for waiter in byWaiterLocation.indices { byWaiterLocation[waiter] += Array(repeating: 0, count: extra) }
        }
    }

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

    /// Sweeps one interpreter's threads: `threads` pairs each one's events with its index in
    /// the tables.
    private static func sweep(_ threads: [(events: [LockEvent], index: Int)], window: Range<UInt64>?,
                              into totals: inout Totals) {
        // Every event in time order. At equal times a drop goes before a take, so that a take
        // stamped with the very time of the drop before it (the fast path does that) finds the
        // lock free; and a `wants` after both, so that it is charged no time before it. One
        // thread's own events keep their order whatever their ranks.
        var steps: [Step] = []
        steps.reserveCapacity(threads.reduce(0) { $0 + $1.events.count })
        for (member, thread) in threads.enumerated() {
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
                steps.append(Step(time: event.nanoseconds, rank: rank, thread: member, sequence: sequence, kind: event.kind))
            }
        }
        steps.sort(by: Step.before)

        var holder: Int?  // member index
        var column = [Int](repeating: 1 + LockLocations.glue, count: threads.count)  // each member's location column
        var isWaiting = [Bool](repeating: false, count: threads.count)
        var waiting: [Int] = []  // members waiting now
        // A drop while others waited, not yet counted: where it was, and who dropped.
        var pendingHandoff: (column: Int, from: Int)?
        let start = window?.lowerBound ?? steps.first?.time ?? 0
        let end = window?.upperBound ?? UInt64.max
        var last = start

        /// Charges the span from `last` to `time`, clipped to the window, to every waiter.
        func advance(to time: UInt64) {
            let to = min(time, end)
            if to > last && !waiting.isEmpty {
                let span = to - last
                let holderColumn = holder.map { threads[$0].index + 1 } ?? 0
                let place = holder.map { column[$0] } ?? 0
                for waiter in waiting {
                    let row = threads[waiter].index
                    totals.charges[row][holderColumn] += span
                    totals.waits[row] += span
                    totals.byLocation[place] += span
                    totals.byWaiterLocation[row][place] += span
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
                // A handoff is a drop, made while others waited, that a waiter other than the
                // dropper then took.
                if let pending = pendingHandoff, isWaiting[step.thread], step.thread != pending.from {
                    totals.handoffs[pending.column] += 1
                }
                pendingHandoff = nil
                if isWaiting[step.thread] {
                    isWaiting[step.thread] = false
                    waiting.removeAll { $0 == step.thread }
                }
                holder = step.thread
            case .released, .threadExit:
                // Only the holder's own drop frees the lock: clocks read on different cores may
                // stamp a take a few nanoseconds before the drop that allowed it.
                if holder == step.thread {
                    pendingHandoff = !waiting.isEmpty && step.time >= start && step.time < end
                        ? (column[step.thread], step.thread) : nil
                    holder = nil
                }
            case .location(let index):
                column[step.thread] = index + 1
                totals.makeRoom(forColumn: index + 1)
            case .dropRequest, .threadStart:
                break
            }
        }
        if end != .max { advance(to: end) }
    }
}
