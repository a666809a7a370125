#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What multiprocessing cost in one processes trial.
struct ProcessTrialFigures: Sendable {
    var transfer: Transfer
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
    // Serializing the input is the parent's half of pickling.
    let input = transfer == .none ? [] : workload.encodedInput()
    var shared: SharedMemory?
    if transfer == .shm {
        let memory = try SharedMemory(creating: input.count)
        input.withUnsafeBytes { memory.bytes.copyMemory(from: $0) }
        shared = memory
    }
    let encoded = monotonicNanoseconds() - start

    let pool = try ProcessPool(executable: executable, count: processes, timeout: timeout)
    for index in 0..<processes {
        let job = WorkerJob(workload: kind, size: workload.size, units: units, policy: configuration.policy,
                            switchIntervalNanoseconds: configuration.switchIntervalNanoseconds,
                            checkInterval: configuration.checkInterval, blasThreads: blasThreads, transfer: transfer,
                            inputBytes: input.count, sharedMemoryName: shared?.name, index: index, fault: faults[index])
        try pool.send(job, .job, to: index)
        if transfer == .pipe { try pool.sendBytes(input, .input, to: index) }
    }
    let everyone = Array(0..<processes)
    let ready: [WorkerReady]
    do {
        ready = try pool.receive(WorkerReady.self, .ready, from: everyone)
    } catch .exited(let worker, let pid, let status) {
        throw .exited(worker: worker, pid: pid, status: "\(status) before it was ready (is \(executable) a gillab binary?)")
    }
    shared = nil  // every worker has mapped it; the name can go

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

    let receiving = ready.reduce(0) { $0 + $1.receiveNanoseconds }
    let outcome = TrialOutcome(
        wallNanoseconds: end - start,
        lock: results.reduce(LockStatistics()) { $0.adding($1.statistics) },
        perThread: results.map(\.statistics),
        checksum: results.reduce(0) { $0 &+ $1.checksum },
        residentBytes: residentBytes() + ready.reduce(0) { $0 + $1.residentBytes })
    let figures = ProcessTrialFigures(
        transfer: transfer,
        startupNanoseconds: zip(ready, pool.members).map { $0.readyAtNanoseconds &- $1.spawnedAt },
        pipeBytes: pool.pipeBytes, sharedBytes: transfer == .shm ? input.count : 0,
        ipcNanoseconds: transfer == .none ? 0 : encoded + receiving,
        peakResidentBytes: pool.members.map(\.peakResidentBytes))
    return (outcome, figures)
}
