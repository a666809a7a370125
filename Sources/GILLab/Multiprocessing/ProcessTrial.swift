#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif


/// Where the worker executable is: `explicit` when given, else this process's own binary,
/// which is gillab when gillab is running.
func workerExecutable(_ explicit: String?) -> String {
    if let explicit { return explicit }
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    return n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
}

/// Runs `units` units of `kind` on `processes` worker processes, each with its own lock, and
/// times the span from the first spawn to the last result: what `Pool(T).map(...)` costs,
/// start-up included (reported apart as well).
///
/// Units go out in contiguous chunks of ⌈units ÷ 4T⌉, as `Pool.map` chunks its input by
/// default, each worker getting the next chunk as it answers.
func runProcessTrial(workload: any Workload, kind: WorkloadKind, units: Int, processes: Int,
                     transfer: Transfer, lock configuration: LockConfiguration, blasThreads: Int,
                     executable: String, timeout: Duration,
                     faults: [Int: WorkerFault] = [:]) throws(WorkerError) -> (TrialOutcome, ProcessTrialFigures) {
    let start = monotonicNanoseconds()
    let (pool, ready, launch) = try startWorkers(workload: workload, kind: kind, units: units, count: processes,
                                                 transfer: transfer, lock: configuration, blasThreads: blasThreads,
                                                 executable: executable, timeout: timeout, faults: faults)
    let everyone = Array(0..<processes)

    // Pool.map's default chunking: divmod(units, 4 × processes), rounded up; each worker gets
    // the next chunk when it answers, so a worker on a slower core does fewer.
    let chunkSize = max(1, (units + 4 * processes - 1) / (4 * processes))
    var next = 0
    func sendChunk(to index: Int) throws(WorkerError) -> Bool {
        guard next < units else { return false }
        let end = min(next + chunkSize, units)
        try pool.send(WorkerTask(start: next, end: end), .task, to: index)
        next = end
        return true
    }
    var busy = Set<Int>()
    for index in everyone where try sendChunk(to: index) { busy.insert(index) }
    var results = Array(repeating: WorkerResult(checksum: 0, statistics: LockStatistics()), count: processes)
    while !busy.isEmpty {
        let (index, result) = try pool.receiveAny(WorkerResult.self, .result, from: busy)
        results[index].checksum &+= result.checksum
        results[index].statistics = results[index].statistics.adding(result.statistics)
        if try !sendChunk(to: index) { busy.remove(index) }
    }
    let end = monotonicNanoseconds()
    try pool.finish()

    let outcome = TrialOutcome(
        wallNanoseconds: end - start,
        lock: results.reduce(LockStatistics()) { $0.adding($1.statistics) },
        perThread: results.map(\.statistics),
        checksum: results.reduce(0) { $0 &+ $1.checksum },
        residentBytes: residentBytes() + ready.reduce(0) { $0 + $1.residentBytes })
    return (outcome, launch.figures(pool: pool, ready: ready))
}

/// What starting a pool of workers on a job produced, for the figures.
struct WorkerLaunch {
    let transfer: Transfer
    /// Input bytes sent down each pipe or placed in shared memory.
    let inputBytes: Int
    /// The parent's time serializing the input (and writing it into shared memory).
    let encodeNanoseconds: UInt64

    /// The trial's multiprocessing figures, once `pool` has finished.
    func figures(pool: ProcessPool, ready: [WorkerReady], extraPipeBytes: Int = 0) -> ProcessTrialFigures {
        ProcessTrialFigures(
            startupNanoseconds: zip(ready, pool.members).map { $0.readyAtNanoseconds &- $1.spawnedAt },
            pipeBytes: pool.pipeBytes + extraPipeBytes, sharedBytes: transfer == .shm ? inputBytes : 0,
            ipcNanoseconds: transfer == .none ? 0 : encodeNanoseconds + ready.reduce(0) { $0 + $1.receiveNanoseconds },
            peakResidentBytes: pool.members.map(\.peakResidentBytes))
    }
}

/// Starts `count` workers on `kind`, sends each its job and (under `pipe`) the input, or places
/// the input in shared memory (`shm`), and waits until every worker is ready.
/// - Throws: ``WorkerError``; a worker that exits before it is ready is named, with a hint
///   that `executable` may not call ``WorkerProcess/runIfWorker()``.
func startWorkers(workload: any Workload, kind: WorkloadKind, units: Int, count: Int, transfer: Transfer,
                  lock configuration: LockConfiguration, blasThreads: Int, executable: String, timeout: Duration,
                  faults: [Int: WorkerFault] = [:]) throws(WorkerError) -> (ProcessPool, [WorkerReady], WorkerLaunch) {
    let start = monotonicNanoseconds()
    // Serializing the input is the parent's half of pickling.
    let input = transfer == .none ? [] : workload.encodedInput()
    var shared: SharedMemory?
    if transfer == .shm {
        let memory = try SharedMemory(creating: input.count)
        input.withUnsafeBytes { memory.bytes.copyMemory(from: $0) }
        shared = memory
    }
    let launch = WorkerLaunch(transfer: transfer, inputBytes: input.count, encodeNanoseconds: monotonicNanoseconds() - start)

    let pool = try ProcessPool(executable: executable, count: count, timeout: timeout)
    do {
        for index in 0..<count {
            let job = WorkerJob(workload: kind, size: workload.size, units: units, policy: configuration.policy,
                                switchIntervalNanoseconds: configuration.switchIntervalNanoseconds,
                                checkInterval: configuration.checkInterval, blasThreads: blasThreads, transfer: transfer,
                                inputBytes: input.count, sharedMemoryName: shared?.name, index: index, fault: faults[index])
            try pool.send(job, .job, to: index)
            if transfer == .pipe { try pool.sendBytes(input, .input, to: index) }
        }
        let ready = try pool.receive(WorkerReady.self, .ready, from: Array(0..<count))
        // Every worker has mapped the shared memory by now, so its name can go (`shared` ends here).
        withExtendedLifetime(shared) {}
        return (pool, ready, launch)
    } catch .exited(let worker, let pid, let status) {
        // Whether the job could still be sent or not, a worker gone before it said it was
        // ready is most likely a binary that does not serve as a worker.
        throw .exited(worker: worker, pid: pid, status: "\(status) before it was ready (does \(executable)'s main call WorkerProcess.runIfWorker()?)")
    }
}
