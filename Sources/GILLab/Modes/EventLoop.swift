#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CKernels

// Mode `eventloop`: the asyncio workaround. One thread holds the lock and runs T tasks; each task
// runs its units one after another, and a unit's blocking call becomes an operation in flight
// (a timer or a socket) that the loop waits on with poll(2), releasing the lock around the wait
// as asyncio's selector does. For I/O-bound work, T tasks in flight on one thread should match
// T threads; for CPU-bound work there is nothing to wait on, so the tasks simply take turns on
// one thread and the loop gains nothing over serial.

/// Runs `units` units of `workload` as `tasks` tasks on one event-loop thread, and times it like
/// ``runTrial(workload:units:threads:discipline:lock:)``.
func runEventLoopTrial(workload: any Workload, units: Int, tasks: Int,
                       lock configuration: LockConfiguration,
                       eventHook: (any LockEventHook)? = nil) throws(WorkloadError) -> TrialOutcome {
    let lock = InterpreterLock(configuration: configuration, eventHook: eventHook)
    let gate = StartGate()
    let outcome = Locked<Result<(UInt64, LockStatistics), WorkloadError>?>(nil)
    let loop = NativeThread {
        let thread = lock.makeThreadState(name: "event-loop")
        var result: Result<(UInt64, LockStatistics), WorkloadError>
        var arrived = false
        func arrive() {
            thread.release(reason: .exit)
            thread.resetStatistics()
            arrived = true
            gate.arriveAndWait()
            thread.acquire()
        }
        thread.acquire()
        do throws(WorkloadError) {
            // Set-up is not timed: every task's interpreter (and connection) is made first.
            let first = try workload.makeWorker(on: thread, discipline: .release)
            if first is any EventLoopWorker {
                var workers = [first as! any EventLoopWorker]
                for _ in 1..<max(tasks, 1) {
                    workers.append(try workload.makeWorker(on: thread, discipline: .release) as! any EventLoopWorker)
                }
                arrive()
                let ranges = (0..<tasks).map { (($0 * units) / tasks)..<((($0 + 1) * units) / tasks) }
                var loop = EventLoop(workers: workers, ranges: ranges)
                let checksum = try loop.run(on: thread)
                thread.detach()
                result = .success((checksum, thread.statistics))
            } else {
                // Nothing to wait on: the tasks take turns, which is running the units in order.
                var worker = first
                arrive()
                var checksum: UInt64 = 0
                for unit in 0..<units { checksum &+= try worker.run(unit: unit, on: thread) }
                thread.detach()
                result = .success((checksum, thread.statistics))
            }
        } catch {
            thread.detach()
            if !arrived { gate.arriveAndWait() }
            result = .failure(error)
        }
        outcome.withLock { $0 = result }
    }
    let timed = gate.openAndJoin([loop], lock: lock)
    switch outcome.withLock({ $0 }) {
    case .success(let (checksum, statistics))?:
        return TrialOutcome(wallNanoseconds: timed.wall, lock: lock.statistics, perThread: [statistics],
                            threadNames: ["event-loop"], startNanoseconds: timed.start, checksum: checksum,
                            residentBytes: timed.resident, locationNames: eventHook == nil ? [] : lock.locations.all)
    case .failure(let error)?:
        throw error
    case nil:
        throw .invalid("the event loop reported nothing")
    }
}

/// The loop itself: tasks, the operation each has in flight, and poll.
struct EventLoop {
    private var workers: [any EventLoopWorker]
    private let ranges: [Range<Int>]
    private var next: [Int]
    private var inFlight: [(any PendingIO)?]
    private var checksum: UInt64 = 0

    init(workers: [any EventLoopWorker], ranges: [Range<Int>]) {
        self.workers = workers
        self.ranges = ranges
        next = ranges.map(\.lowerBound)
        inFlight = Array(repeating: nil, count: workers.count)
    }

    /// Runs every task to the end of its range; `thread` holds the lock on entry and on return.
    /// - Returns: the sum of every unit's digest.
    mutating func run(on thread: ThreadState) throws(WorkloadError) -> UInt64 {
        for task in workers.indices { try start(task, on: thread) }
        var fds: [pollfd] = []
        var owners: [Int] = []
        while inFlight.contains(where: { $0 != nil }) {
            // Gather what the tasks wait for: descriptors, and the earliest deadline.
            fds.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
            var earliest = UInt64.max
            for (task, io) in inFlight.enumerated() {
                switch io?.wait {
                case .deadline(let deadline)?: earliest = min(earliest, deadline)
                case .readable(let fd)?: fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)); owners.append(task)
                case .writable(let fd)?: fds.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)); owners.append(task)
                case .done?, nil: break
                }
            }
            // The selector's wait, with the lock released (asyncio's select() does the same).
            let now = monotonicNanoseconds()
            let timeout: UInt64? = earliest == .max ? nil : (earliest > now ? earliest - now : 0)
            let status = thread.withoutLock(reason: .io) { Self.wait(&fds, timeout: timeout) }
            guard status == CK_OK else { throw .io(systemError("event loop: poll")) }

            // Advance every task whose descriptor is ready or whose deadline has passed.
            let after = monotonicNanoseconds()
            for (index, task) in owners.enumerated() where fds[index].revents != 0 {
                try inFlight[task]?.advance()
            }
            for io in inFlight {
                if case .deadline(let deadline)? = io?.wait, deadline <= after { try io?.advance() }
            }
            for task in inFlight.indices where inFlight[task]?.wait == .done {
                let io = inFlight[task]!
                inFlight[task] = nil
                checksum &+= try workers[task].finish(unit: next[task], io, on: thread)
                next[task] += 1
                thread.checkpoint()
                try start(task, on: thread)
            }
        }
        return checksum
    }

    /// Begins the task's next unit; units whose operation completes at once finish straight away.
    private mutating func start(_ task: Int, on thread: ThreadState) throws(WorkloadError) {
        while next[task] < ranges[task].upperBound {
            let io = try workers[task].begin(unit: next[task], on: thread)
            if io.wait != .done {
                inFlight[task] = io
                return
            }
            checksum &+= try workers[task].finish(unit: next[task], io, on: thread)
            next[task] += 1
            thread.checkpoint()
        }
    }

    /// poll(2) with a nanosecond timeout (`ck_poll_ns`), so that a 1 ms timer is not rounded to
    /// poll's milliseconds.
    private static func wait(_ fds: inout [pollfd], timeout: UInt64?) -> ck_status {
        var ready: Int32 = 0
        return ck_poll_ns(&fds, fds.count, timeout.map { Int64(clamping: $0) } ?? -1, &ready)
    }
}
