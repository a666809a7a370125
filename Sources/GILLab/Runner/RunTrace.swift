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
    /// The traced rows, in the report's row order. Written only by the runner's thread, between
    /// trials.
    public private(set) var segments: [Segment] = []
    /// Each segment's row in the report, to keep `segments` in row order whatever the order the
    /// rows ran in.
    private var rows: [Int] = []

    /// Creates an empty trace that keeps up to `eventsPerThread` events of each thread per
    /// segment (24 bytes each).
    public init(eventsPerThread: Int = 1_000_000) {
        self.eventsPerThread = eventsPerThread
    }

    /// Events past the per-thread limit, over every segment.
    public var droppedEvents: Int { segments.reduce(0) { $0 + $1.recordings.reduce(0) { $0 + $1.dropped } } }

    /// The segment of the row with this mode and thread count, if it was traced.
    public func segment(mode: Mode, threads: Int) -> Segment? {
        segments.first { $0.mode == mode && $0.threads == threads }
    }

    func append(row: Int, mode: Mode, threads: Int, policy: LockPolicy, start: UInt64, wall: UInt64,
                recorder: LockEventRecorder, locationNames: [String] = []) {
        // Threads made at once register in any order; worker-2 goes after worker-1 and before worker-10.
        let recordings = recorder.threads.map {
            Thread(id: $0.id, name: $0.name, events: $0.events, dropped: $0.dropped, interpreter: $0.interpreter)
        }
            .sorted { $0.name.compare($1.name, options: .numeric) == .orderedAscending }
        let position = rows.firstIndex { $0 > row } ?? rows.count
        rows.insert(row, at: position)
        segments.insert(Segment(mode: mode, threads: threads, policy: policy, startNanoseconds: start,
                                endNanoseconds: start + wall, recordings: recordings, locationNames: locationNames), at: position)
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
}

extension RunTrace.Segment {
    /// Each wait in the timed region charged to the holder and location it waited behind.
    public var waitAttribution: WaitAttribution {
        WaitAttribution(threads: recordings.map { ($0.id, $0.name, $0.interpreter, $0.events) },
                        locationNames: locationNames, window: startNanoseconds..<endNanoseconds)
    }

    /// Waits shorter than this are uncontended takes, a few dozen nanoseconds of bookkeeping;
    /// they are left out of spans and of the waiter count.
    public static let shortestWait: UInt64 = 1_000

    /// One thread's spans, clipped to the timed region, oldest first.
    public func spans(of thread: RunTrace.Thread) -> [LockSpan] {
        var spans: [LockSpan] = []
        var open: (kind: LockSpan.Kind, start: UInt64)?
        func close(at time: UInt64) {
            guard let (kind, start) = open else { return }
            open = nil
            let from = max(start, startNanoseconds), to = min(time, endNanoseconds)
            guard to > from, kind != .wait || time - start >= Self.shortestWait else { return }
            spans.append(LockSpan(kind: kind, start: from, end: to))
        }
        for event in thread.events {
            switch event.kind {
            case .wants:
                close(at: event.nanoseconds)
                open = (.wait, event.nanoseconds)
            case .acquired:
                close(at: event.nanoseconds)
                open = (.hold, event.nanoseconds)
            case .released(let reason):
                close(at: event.nanoseconds)
                switch reason {
                case .kernel: open = (.kernel, event.nanoseconds)
                case .io: open = (.io, event.nanoseconds)
                default: break
                }
            case .threadStart, .threadExit:
                close(at: event.nanoseconds)
            case .location, .dropRequest:
                break
            }
        }
        close(at: endNanoseconds)
        return spans
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
