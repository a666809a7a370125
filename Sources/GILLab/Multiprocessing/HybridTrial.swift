import Synchronization

/// Where `hybrid` runs the compute.
public enum HybridCompute: String, Sendable, Codable, CaseIterable {
    /// Threads in this process, sharing its lock, dgemm released.
    case release
    /// Worker processes, each with its own lock, reached over pipes.
    case processes
}

/// Runs `units` units in `hybrid` mode: `threads` orchestrating threads take units and hand
/// each to a compute pool of `computeWorkers`, waiting for the answer with the lock released
/// (a blocking wait, as on a `concurrent.futures` future). The pool is threads in this process
/// calling kernels with the lock released, or worker processes with locks of their own.
///
/// The time is from the gate opening (threads) or the first spawn (processes, whose start-up
/// is reported apart as for `processes` rows) to the last answer. Against `release` and
/// `processes` rows it shows what the hand-off costs.
func runHybridTrial(workload: any Workload, kind: WorkloadKind, units: Int, threads: Int, compute: HybridCompute,
                    computeWorkers: Int, transfer: Transfer, lock configuration: LockConfiguration, blasThreads: Int,
                    executable: String, timeout: Duration) throws -> TrialOutcome {
    switch compute {
    case .release:
        try hybridThreads(workload: workload, units: units, threads: threads, computeWorkers: computeWorkers,
                          lock: configuration)
    case .processes:
        try hybridProcesses(workload: workload, kind: kind, units: units, threads: threads,
                            computeWorkers: computeWorkers, transfer: transfer, lock: configuration,
                            blasThreads: blasThreads, executable: executable, timeout: timeout)
    }
}

private struct HybridJob {
    let unit: Int
    let answer: Mailbox<UInt64?>
}

private func hybridThreads(workload: any Workload, units: Int, threads: Int, computeWorkers: Int,
                           lock configuration: LockConfiguration) throws(WorkloadError) -> TrialOutcome {
    let lock = InterpreterLock(configuration: configuration)
    let queue = UnitQueue(count: units)
    let jobs = Mailbox<HybridJob>()
    let gate = StartGate()
    let orchestratorsDone = Atomic<Int>(0)
    let failure = Locked<WorkloadError?>(nil)
    let checksum = Atomic<UInt64>(0)
    let perThread = Locked<[LockStatistics]>([])
    let spawned = (0..<threads + computeWorkers).map { index in
        NativeThread {
            let isCompute = index >= threads
            let thread = lock.makeThreadState(name: isCompute ? "compute-\(index - threads)" : "orchestrator-\(index)",
                                                 interpreter: index % lock.interpreterCount)
            var worker: (any WorkloadWorker)?
            if isCompute {
                thread.acquire()
                do throws(WorkloadError) { worker = try workload.makeWorker(on: thread, discipline: .release) } catch {
                    failure.withLock { $0 = $0 ?? error }
                }
                thread.release(reason: .exit)
            }
            thread.resetStatistics()
            gate.arriveAndWait()
            thread.acquire()
            if isCompute {
                // Take a unit (waiting released), run it under the lock, answer.
                while var running = worker, let job = thread.withoutLock(reason: .io, { jobs.take() }) {
                    do throws(WorkloadError) {
                        job.answer.put(try running.run(unit: job.unit, on: thread))
                        worker = running
                    } catch {
                        failure.withLock { $0 = $0 ?? error }
                        job.answer.put(nil)
                        worker = nil
                    }
                }
                if worker == nil {
                    // A failed or missing worker still answers, so no orchestrator waits forever.
                    while let job = thread.withoutLock(reason: .io, { jobs.take() }) { job.answer.put(nil) }
                }
            } else {
                let answer = Mailbox<UInt64?>()
                var sum: UInt64 = 0
                while failure.withLock({ $0 }) == nil, let unit = queue.next() {
                    jobs.put(HybridJob(unit: unit, answer: answer))
                    guard let digest = thread.withoutLock(reason: .io, { answer.take() ?? nil }) else { break }
                    sum &+= digest
                }
                checksum.wrappingAdd(sum, ordering: .relaxed)
                if orchestratorsDone.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue == threads { jobs.close() }
            }
            thread.detach()
            perThread.withLock { $0.append(thread.statistics) }
        }
    }
    let timed = gate.openAndJoin(spawned, lock: lock)
    if let error = failure.withLock({ $0 }) { throw error }
    return TrialOutcome(wallNanoseconds: timed.wall, lock: lock.statistics, perThread: perThread.withLock { $0 },
                        checksum: checksum.load(ordering: .relaxed), residentBytes: timed.resident)
}

private func hybridProcesses(workload: any Workload, kind: WorkloadKind, units: Int, threads: Int, computeWorkers: Int,
                             transfer: Transfer, lock configuration: LockConfiguration, blasThreads: Int,
                             executable: String, timeout: Duration) throws(WorkerError) -> TrialOutcome {
    let start = monotonicNanoseconds()
    let (pool, ready, launch) = try startWorkers(workload: workload, kind: kind, units: units, count: computeWorkers,
                                                 transfer: transfer, lock: configuration, blasThreads: blasThreads,
                                                 executable: executable, timeout: timeout)

    let lock = InterpreterLock(configuration: configuration)
    let queue = UnitQueue(count: units)
    let idle = Mailbox<Int>()
    for index in 0..<computeWorkers { idle.put(index) }
    let channels = pool.channels
    let failure = Locked<WorkerError?>(nil)
    let checksum = Atomic<UInt64>(0)
    let exchanged = Atomic<Int>(0)
    let workerStatistics = Locked(LockStatistics())
    let timeoutNanoseconds = timeout.wholeNanoseconds
    let orchestrators = (0..<threads).map { index in
        NativeThread {
            let thread = lock.makeThreadState(name: "orchestrator-\(index)", interpreter: index % lock.interpreterCount)
            thread.acquire()
            var sum: UInt64 = 0
            while failure.withLock({ $0 }) == nil, let unit = queue.next() {
                // Making the message is Python-level (pickling the arguments); the rest waits.
                guard let message = try? encodeWireMessage(WorkerTask(start: unit, end: unit + 1)) else { break }
                let outcome = thread.withoutLock(reason: .io) { () -> Result<(result: WorkerResult, bytes: Int), WorkerError> in
                    let worker = idle.take()!
                    defer { idle.put(worker) }
                    return Result { () throws(WorkerError) in try channels[worker].exchange(message, .task, timeout: timeoutNanoseconds) }
                }
                switch outcome {
                case .success(let (result, bytes)):
                    sum &+= result.checksum
                    exchanged.wrappingAdd(bytes, ordering: .relaxed)
                    workerStatistics.withLock { $0 = $0.adding(result.statistics) }
                case .failure(let error):
                    failure.withLock { $0 = $0 ?? error }
                }
            }
            thread.detach()
            checksum.wrappingAdd(sum, ordering: .relaxed)
        }
    }
    for thread in orchestrators { thread.join() }
    let end = monotonicNanoseconds()
    if let error = failure.withLock({ $0 }) {
        pool.stopAll()
        throw error
    }
    try pool.finish()
    var outcome = TrialOutcome(
        wallNanoseconds: end - start, lock: lock.statistics.adding(workerStatistics.withLock { $0 }), perThread: [],
        checksum: checksum.load(ordering: .relaxed),
        residentBytes: residentBytes() + ready.reduce(0) { $0 + $1.residentBytes })
    outcome.processes = launch.figures(pool: pool, ready: ready, extraPipeBytes: exchanged.load(ordering: .relaxed))
    return outcome
}
