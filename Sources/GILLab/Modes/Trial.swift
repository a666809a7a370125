import Synchronization

/// What one timed run of one (mode, threads) configuration produced.
struct TrialOutcome {
    var wallNanoseconds: UInt64
    /// The lock's own counters.
    var lock: LockStatistics
    /// Each thread's counters, in thread order.
    var perThread: [LockStatistics]
    /// Each thread's name, in the same order; empty where threads have no names (processes).
    var threadNames: [String] = []
    /// When the timed region began, on the monotonic clock: the origin of a trace.
    var startNanoseconds: UInt64 = 0
    /// The wrapping sum of every unit's digest.
    var checksum: UInt64
    /// Resident memory once every worker was set up, summed over the processes involved.
    var residentBytes: UInt64 = 0
    /// What multiprocessing cost, for a processes trial.
    var processes: ProcessTrialFigures?
    /// The lock's location names (``/GILLabLock/LockLocations``), by index, when it had an
    /// event hook: what a trace's location events refer to.
    var locationNames: [String] = []
}

/// What multiprocessing cost in one processes trial.
struct ProcessTrialFigures: Sendable {
    /// Per worker: from `posix_spawn` to the worker saying it is ready (exec, runtime start,
    /// receiving its job and input, building its interpreter).
    var startupNanoseconds: [UInt64]
    /// Bytes through the pipes, both ways: jobs, input under `pipe`, tasks and results.
    var pipeBytes: Int
    /// Bytes placed in shared memory under `shm` (written once, mapped by every worker).
    var sharedBytes: Int
    /// Time spent moving input, summed over processes: the parent serializing it (and writing it
    /// into shared memory), and each worker reading it from its pipe or mapping it. The
    /// parent's pipe writes are left out: they block until the worker has started, so they
    /// would count start-up twice; the worker's read covers the transfer.
    var ipcNanoseconds: UInt64
    /// Each worker's peak resident memory, from `wait4`.
    var peakResidentBytes: [UInt64]
}

/// Runs `units` units of `workload` on `threads` threads sharing one fresh lock, and times the
/// span from opening the start gate to the last join.
func runTrial(workload: any Workload, units: Int, threads: Int, discipline: CallDiscipline,
              lock configuration: LockConfiguration, eventHook: (any LockEventHook)? = nil) throws(WorkloadError) -> TrialOutcome {
    let lock = InterpreterLock(configuration: configuration, eventHook: eventHook)
    let slots = PerThreadResults(count: threads)
    let gate = StartGate()

    // Strong scaling: U units in all, handed out one at a time from a shared counter, as a
    // thread pool's queue does. A thread on a slower core (this VM's host is shared) then does
    // fewer units instead of leaving the others idle at the end; the checksum is a sum, so it
    // does not depend on who ran which unit.
    let queue = UnitQueue(count: units)
    let spawned = (0..<threads).map { index in
        NativeThread {
            let thread = lock.makeThreadState(name: "worker-\(index)", interpreter: index % lock.interpreterCount)
            var slot = ThreadResult()
            // Workers (buffers, interpreters) are made before the gate, so set-up is not timed.
            // Making interpreter objects needs the lock; the threads take turns.
            var worker: (any WorkloadWorker)?
            thread.acquire()
            do throws(WorkloadError) {
                worker = try workload.makeWorker(on: thread, discipline: discipline)
            } catch {
                slot.error = error
            }
            thread.release(reason: .exit)
            thread.resetStatistics()  // count only the timed region
            gate.arriveAndWait()
            if var worker {
                thread.acquire()
                do throws(WorkloadError) {
                    while let unit = queue.next() {
                        slot.checksum &+= try worker.run(unit: unit, on: thread)
                    }
                } catch {
                    slot.error = error
                }
                thread.detach()
            }
            slot.statistics = thread.statistics
            slots[index] = slot
        }
    }
    let timed = gate.openAndJoin(spawned, lock: lock)

    let results = slots.collect()
    if let error = results.lazy.compactMap(\.error).first { throw error }
    return TrialOutcome(wallNanoseconds: timed.wall, lock: lock.statistics, perThread: results.map(\.statistics),
                        threadNames: (0..<threads).map { "worker-\($0)" }, startNanoseconds: timed.start,
                        checksum: results.reduce(0) { $0 &+ $1.checksum }, residentBytes: timed.resident,
                        locationNames: eventHook == nil ? [] : lock.locations.all)
}

/// The units of a trial, handed out in order to whichever thread asks next.
final class UnitQueue: Sendable {
    private let taken = Atomic<Int>(0)
    let count: Int

    init(count: Int) { self.count = count }

    /// The next unit, or `nil` when all have been handed out.
    func next() -> Int? {
        let unit = taken.wrappingAdd(1, ordering: .relaxed).oldValue
        return unit < count ? unit : nil
    }
}

private struct ThreadResult {
    var checksum: UInt64 = 0
    var statistics = LockStatistics()
    var error: WorkloadError?
}

/// Per-thread results in a fixed buffer. Each thread writes only its own element, and the runner
/// reads after every join, which orders the writes before the reads.
private final class PerThreadResults: @unchecked Sendable {
    private let buffer: UnsafeMutableBufferPointer<ThreadResult>

    init(count: Int) {
        buffer = .allocate(capacity: count)
        buffer.initialize(repeating: ThreadResult())
    }

    deinit {
        buffer.deinitialize()
        buffer.deallocate()
    }

    subscript(index: Int) -> ThreadResult {
        get { buffer[index] }
        set { buffer[index] = newValue }
    }

    func collect() -> [ThreadResult] { Array(buffer) }
}
