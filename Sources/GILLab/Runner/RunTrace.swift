import Foundation

/// The lock events of a run, one segment per traced row: what `gillab run --trace` writes as a
/// Chrome trace and draws as a timeline strip.
///
/// Pass one to ``Runner/run(_:trace:stop:progress:)``. The runner records the first counted repeat of
/// every row that runs its threads in this process (`serial`, `hold`, `release`, `eventloop`);
/// `processes` and `hybrid` rows, whose locks live in worker processes or beside a pool, are not
/// traced. Each thread buffers its own events, and nothing is written until the run is over.
public final class RunTrace: @unchecked Sendable {
    /// One thread's events in one segment.
    public struct Thread: Sendable, Equatable {
        /// The thread's ``/GILLabLock/ThreadState/id`` within its lock.
        public var id: Int
        /// Its name (`worker-0`, …).
        public var name: String
        /// Its events, oldest first.
        public var events: [LockEvent]
        /// Events past the per-thread limit, counted but not kept.
        public var dropped: Int
        /// The interpreter it joined: 0 except under `per-interpreter`.
        public var interpreter: Int = 0
    }

    /// One traced row.
    public struct Segment: Sendable, Equatable {
        /// The row's mode.
        public var mode: Mode
        /// The row's thread count.
        public var threads: Int
        /// The row's lock policy.
        public var policy: LockPolicy
        /// When the timed region began, on the monotonic clock. Events outside the region are
        /// set-up and tear-down.
        public var startNanoseconds: UInt64
        /// When the timed region ended.
        public var endNanoseconds: UInt64
        /// Each thread's events.
        public var recordings: [Thread]
        /// The names of the locations the events refer to (``/GILLabLock/LockLocations``), by index.
        public var locationNames: [String] = []

        /// "release ×2", for labels.
        public var label: String { "\(mode.rawValue) ×\(threads)" }
    }

    /// Events kept per thread and segment.
    public let eventsPerThread: Int
    /// What a trace keeps per thread and segment unless told otherwise, and what the runner's
    /// recorders keep when it attributes waits without a trace.
    public static let defaultEventsPerThread = 1_000_000
    /// The traced rows, in the report's row order. Written only by the runner's thread, between
    /// trials.
    public private(set) var segments: [Segment] = []
    /// Each segment's row in the report, to keep `segments` in row order whatever the order the
    /// rows ran in.
    private var rows: [Int] = []

    /// Creates an empty trace that keeps up to `eventsPerThread` events of each thread per
    /// segment (32 bytes each).
    public init(eventsPerThread: Int = RunTrace.defaultEventsPerThread) {
        self.eventsPerThread = eventsPerThread
    }

    /// Events past the per-thread limit, over every segment.
    public var droppedEvents: Int { segments.reduce(0) { $0 + $1.recordings.reduce(0) { $0 + $1.dropped } } }

    /// The segment of the row with this mode and thread count, if it was traced.
    public func segment(mode: Mode, threads: Int) -> Segment? {
        segments.first { $0.mode == mode && $0.threads == threads }
    }

    /// One traced trial as a segment.
    static func segment(mode: Mode, threads: Int, policy: LockPolicy, start: UInt64, wall: UInt64,
                        recorder: LockEventRecorder, locationNames: [String] = []) -> Segment {
        // Threads made at once register in any order; worker-2 goes after worker-1 and before worker-10.
        let recordings = recorder.threads.map {
            Thread(id: $0.id, name: $0.name, events: $0.events, dropped: $0.dropped, interpreter: $0.interpreter)
        }
            .sorted { $0.name.compare($1.name, options: .numeric) == .orderedAscending }
        return Segment(mode: mode, threads: threads, policy: policy, startNanoseconds: start,
                       endNanoseconds: start + wall, recordings: recordings, locationNames: locationNames)
    }

    /// Adds a segment after the others (a program run's, say).
    public func append(_ segment: Segment) { append(segment, row: (rows.last ?? -1) + 1) }

    /// Adds a segment, kept in row order whatever the order the rows ran in.
    func append(_ segment: Segment, row: Int) {
        let position = rows.firstIndex { $0 > row } ?? rows.count
        rows.insert(row, at: position)
        segments.insert(segment, at: position)
    }
}

/// A span of one thread's time, rebuilt from its events.
public struct LockSpan: Sendable, Equatable {
    /// What the thread was doing.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// Holding the lock: running Python-level code.
        case hold
        /// Between asking for the lock and getting it.
        case wait
        /// Released around a kernel (or a C extension's block).
        case kernel
        /// Released around blocking I/O.
        case io
    }

    /// What the thread was doing.
    public var kind: Kind
    /// When the span began, in monotonic nanoseconds.
    public var start: UInt64
    /// When it ended, in monotonic nanoseconds.
    public var end: UInt64
    /// For a hold: the location (an index into the segment's ``RunTrace/Segment/locationNames``)
    /// the thread held at longest during it; `nil` for other spans.
    public var location: Int? = nil
}

/// A drop of the lock that let a waiting thread take it: the arrow a timeline draws.
public struct LockHandoff: Sendable, Equatable {
    /// The thread that let go (its ``/GILLabLock/ThreadState/id``), and when.
    public var from: Int
    /// When it let go.
    public var dropped: UInt64
    /// The thread that had been waiting and took the lock next.
    public var to: Int
    /// When it took it.
    public var taken: UInt64
}

extension RunTrace.Segment {
    /// Each wait in the timed region charged to the holder and location it waited behind.
    public var waitAttribution: WaitAttribution {
        WaitAttribution(threads: recordings.map { ($0.id, $0.name, $0.interpreter, $0.events, $0.dropped) },
                        locationNames: locationNames, window: startNanoseconds..<endNanoseconds)
    }

    /// Waits shorter than this are uncontended takes, a few dozen nanoseconds of bookkeeping;
    /// they are left out of spans and of the waiter count.
    public static let shortestWait: UInt64 = 1_000

    /// One thread's spans, clipped to the timed region, oldest first.
    public func spans(of thread: RunTrace.Thread) -> [LockSpan] {
        var spans: [LockSpan] = []
        var open: (kind: LockSpan.Kind, start: UInt64)?
        // Where the thread is, since when, and how long each location has held in the open hold.
        var location = LockLocations.glue, locationSince: UInt64 = 0
        var heldAt: [Int: UInt64] = [:]
        func close(at time: UInt64) {
            guard let (kind, start) = open else { return }
            open = nil
            let from = max(start, startNanoseconds), to = min(time, endNanoseconds)
            var longest: Int?
            if kind == .hold {
                heldAt[location, default: 0] += time &- max(locationSince, start)
                longest = heldAt.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
                heldAt = [:]
            }
            guard to > from, kind != .wait || time - start >= Self.shortestWait else { return }
            spans.append(LockSpan(kind: kind, start: from, end: to, location: longest))
        }
        for event in thread.events {
            switch event.kind {
            case .wants:
                close(at: event.nanoseconds)
                open = (.wait, event.nanoseconds)
            case .acquired:
                close(at: event.nanoseconds)
                open = (.hold, event.nanoseconds)
                locationSince = event.nanoseconds
            case .released(let reason):
                close(at: event.nanoseconds)
                switch reason {
                case .kernel: open = (.kernel, event.nanoseconds)
                case .io: open = (.io, event.nanoseconds)
                default: break
                }
            case .threadStart, .threadExit:
                close(at: event.nanoseconds)
            case .location(let index):
                if let (kind, start) = open, kind == .hold {
                    heldAt[location, default: 0] += event.nanoseconds &- max(locationSince, start)
                }
                location = index
                locationSince = event.nanoseconds
            case .dropRequest:
                break
            }
        }
        close(at: endNanoseconds)
        return spans
    }

    /// The drops that handed the lock to a waiting thread, in the timed region: for each take
    /// after a wait, the last drop by another thread of the same interpreter between the
    /// waiter's asking and its taking.
    public func handoffs() -> [LockHandoff] {
        // Every drop, by interpreter, in time order.
        var drops: [Int: [(time: UInt64, thread: Int)]] = [:]
        for thread in recordings {
            for event in thread.events {
                if case .released = event.kind { drops[thread.interpreter, default: []].append((event.nanoseconds, thread.id)) }
            }
        }
        for key in drops.keys { drops[key]!.sort { $0.time < $1.time } }
        var handoffs: [LockHandoff] = []
        for thread in recordings {
            let candidates = drops[thread.interpreter] ?? []
            var asked: UInt64?
            for event in thread.events {
                switch event.kind {
                case .wants: asked = event.nanoseconds
                case .acquired:
                    defer { asked = nil }
                    guard let since = asked, event.nanoseconds - since >= Self.shortestWait,
                          event.nanoseconds >= startNanoseconds, event.nanoseconds <= endNanoseconds else { continue }
                    // The last drop at or before the take (binary search), stepping back past this thread's own.
                    var low = 0, high = candidates.count
                    while low < high {
                        let middle = (low + high) / 2
                        if candidates[middle].time <= event.nanoseconds { low = middle + 1 } else { high = middle }
                    }
                    var index = low - 1
                    while index >= 0 && candidates[index].thread == thread.id { index -= 1 }
                    guard index >= 0, candidates[index].time >= since else { continue }
                    handoffs.append(LockHandoff(from: candidates[index].thread, dropped: candidates[index].time,
                                                to: thread.id, taken: event.nanoseconds))
                default: break
                }
            }
        }
        return handoffs.sorted { $0.taken < $1.taken }
    }

    /// The number of threads waiting, as (time, count) steps over the timed region, from every
    /// thread's wait spans.
    /// - Parameter spans: each thread's ``spans(of:)``, already made.
    public func waiterSteps(_ spans: [[LockSpan]]) -> [(nanoseconds: UInt64, waiters: Int)] {
        var changes: [(UInt64, Int)] = []
        for threadSpans in spans {
            for span in threadSpans where span.kind == .wait {
                changes.append((span.start, 1))
                changes.append((span.end, -1))
            }
        }
        changes.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var steps: [(nanoseconds: UInt64, waiters: Int)] = [(startNanoseconds, 0)]
        var count = 0
        for (time, change) in changes {
            count += change
            if steps.last!.nanoseconds == time { steps[steps.count - 1].waiters = count } else { steps.append((time, count)) }
        }
        return steps
    }
}
