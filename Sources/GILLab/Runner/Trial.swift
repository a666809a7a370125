/// What one timed run of one (mode, threads) configuration produced.
struct TrialOutcome {
    var wallNanoseconds: UInt64
    /// The lock's own counters.
    var lock: LockStatistics
    /// Each thread's counters, in thread order.
    var perThread: [LockStatistics]
    /// The wrapping sum of every unit's digest.
    var checksum: UInt64
}

/// Runs `units` units of `workload` on `threads` threads sharing one fresh lock, and times the
/// span from opening the start gate to the last join.
func runTrial(workload: any Workload, units: Int, threads: Int, discipline: CallDiscipline,
              lock configuration: LockConfiguration) throws(KernelError) -> TrialOutcome {
    let lock = InterpreterLock(configuration: configuration)
    let slots = Slots(count: threads)
    let gate = StartGate()

    let spawned = (0..<threads).map { index in
        // Strong scaling: thread k takes units [k·U/T, (k+1)·U/T).
        let mine = (index * units / threads)..<((index + 1) * units / threads)
        return NativeThread {
            let thread = lock.makeThreadState(name: "worker-\(index)")
            var slot = Slot()
            // Buffers are made before the gate, so allocation is not timed.
            var worker: (any WorkloadWorker)?
            do throws(KernelError) { worker = try workload.makeWorker() } catch { slot.error = error }
            gate.arriveAndWait()
            if var worker {
                thread.acquire()
                do throws(KernelError) {
                    for unit in mine {
                        slot.checksum &+= try worker.run(unit: unit, on: thread, discipline: discipline)
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
    gate.waitUntilReady(threads)
    let start = monotonicNanoseconds()
    gate.open()
    for thread in spawned { thread.join() }
    let end = monotonicNanoseconds()

    let results = slots.collect()
    if let error = results.lazy.compactMap(\.error).first { throw error }
    return TrialOutcome(wallNanoseconds: end - start, lock: lock.statistics, perThread: results.map(\.statistics),
                        checksum: results.reduce(0) { $0 &+ $1.checksum })
}

private struct Slot {
    var checksum: UInt64 = 0
    var statistics = LockStatistics()
    var error: KernelError?
}

/// Per-thread results in a fixed buffer. Each thread writes only its own element, and the runner
/// reads after every join, which orders the writes before the reads.
private final class Slots: @unchecked Sendable {
    private let buffer: UnsafeMutableBufferPointer<Slot>

    init(count: Int) {
        buffer = .allocate(capacity: count)
        buffer.initialize(repeating: Slot())
    }

    deinit {
        buffer.deinitialize()
        buffer.deallocate()
    }

    subscript(index: Int) -> Slot {
        get { buffer[index] }
        set { buffer[index] = newValue }
    }

    func collect() -> [Slot] { Array(buffer) }
}
