#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Histogram
import Synchronization

// The production scenario: a request-processing service. Each request fetches a record from a
// backend over loopback (blocking I/O, about 2 ms), parses it (Python-level), transforms it with
// a BLAS kernel (dgemm), and serializes the answer (Python-level). A closed loop of `concurrency`
// clients issues a fixed number of requests; each strategy serves them its own way, and every
// answer is checked against the serial reference.

/// How the service is built.
public enum ServiceStrategy: String, Sendable, Codable, CaseIterable {
    /// One thread per client; dgemm called holding the lock (an extension that forgot to
    /// release): the bottleneck.
    case threadsHold = "threads+hold"
    /// One thread per client; the lock released around dgemm and around the fetch.
    case threadsRelease = "threads+release"
    /// One worker process per client, each with its own interpreter and lock, fetching and
    /// handling its share (a pre-fork server).
    case processes
    /// A pool of I/O threads fetches; the compute (parse, dgemm, serialize) goes to a compute
    /// pool of one worker per core: releasing threads or processes (``ServicePlan/compute``).
    case hybrid
    /// One thread, an event loop with every client's request in flight; dgemm releases the
    /// lock, though no other thread is there to use it.
    case eventloopRelease = "eventloop+release"

    /// One line for `gillab list`.
    public var summary: String {
        switch self {
        case .threadsHold: "a thread per client, dgemm called holding the lock: the bottleneck"
        case .threadsRelease: "a thread per client, the lock released around dgemm and the fetch (the extension fix)"
        case .processes: "a worker process per client, each with its own interpreter and lock (pre-fork)"
        case .hybrid: "I/O threads fetch; a pool of one worker per core computes (releasing threads or processes)"
        case .eventloopRelease: "one thread, an event loop with every request in flight; dgemm releases the lock"
        }
    }
}


/// What `gillab scenario service` runs.
public struct ServicePlan: Sendable, Equatable {
    /// The strategies to compare, in this order.
    public var strategies: [ServiceStrategy]
    /// Requests per strategy and round.
    public var requests: Int
    /// Clients in the closed loop: requests in flight at once.
    public var concurrency: Int
    /// The backend's answer delay: the fetch's latency.
    public var fetchDelay: Duration
    /// Matrix order of the transform's dgemm.
    public var size: Int
    /// Lines in each fetched record, which the parse step reads.
    public var lines: Int
    /// Rounds over the strategies, in alternating order; throughput is the median, latencies pool.
    public var rounds: Int
    /// Where `hybrid` computes.
    public var compute: HybridCompute
    /// Workers in `hybrid`'s compute pool; the core count by default.
    public var computeWorkers: Int
    /// The lock's policy and tuning, for every lock in every strategy.
    public var lock: LockConfiguration
    /// The gillab binary that process strategies start; `nil` means this process's own.
    public var workerExecutable: String?
    /// How long a worker process may take to answer before every worker is stopped.
    public var workerTimeout: Duration

    /// Every strategy; 8 clients, 400 requests, a 2 ms fetch, dgemm at n = 256.
    public init(strategies: [ServiceStrategy] = ServiceStrategy.allCases, requests: Int = 400, concurrency: Int = 8,
                fetchDelay: Duration = .milliseconds(2), size: Int = 256, lines: Int = 16, rounds: Int = 3,
                compute: HybridCompute = .processes, computeWorkers: Int = MachineInfo.onlineCores,
                lock: LockConfiguration = .default, workerExecutable: String? = nil,
                workerTimeout: Duration = .seconds(60)) {
        self.strategies = strategies
        self.requests = requests
        self.concurrency = concurrency
        self.fetchDelay = fetchDelay
        self.size = size
        self.lines = lines
        self.rounds = rounds
        self.compute = compute
        self.computeWorkers = computeWorkers
        self.lock = lock
        self.workerExecutable = workerExecutable
        self.workerTimeout = workerTimeout
    }

    /// Checks every setting.
    /// - Throws: ``RunnerError/invalidSetting(_:)`` naming the setting and the bad value.
    public func validate() throws(RunnerError) {
        guard !strategies.isEmpty else { throw .setting("strategies", "no strategies given", subject: "") }
        guard (1...1_000_000).contains(requests) else { throw .setting("requests", "must be between 1 and 1000000, got \(requests)") }
        guard (1...256).contains(concurrency) else { throw .setting("concurrency", "must be between 1 and 256, got \(concurrency)") }
        let longestDelay = Duration.seconds(1)
        guard fetchDelay >= .zero, fetchDelay <= longestDelay else {
            throw .setting("fetchDelay", "must be between 0 and \(longestDelay), got \(fetchDelay)")
        }
        guard (16...2048).contains(size) else { throw .setting("size", "must be between 16 and 2048, got \(size)") }
        guard (1...10_000).contains(lines) else { throw .setting("lines", "must be between 1 and 10000, got \(lines)") }
        guard (1...100).contains(rounds) else { throw .setting("rounds", "must be between 1 and 100, got \(rounds)") }
        guard (1...256).contains(computeWorkers) else {
            throw .setting("computeWorkers", "must be between 1 and 256, got \(computeWorkers)")
        }
        guard workerTimeout > .zero else { throw .setting("workerTimeout", "must be positive, got \(workerTimeout)") }
    }
}

/// One strategy's figures.
public struct ServiceResult: Sendable, Codable, Equatable {
    /// The strategy.
    public var strategy: ServiceStrategy
    /// Requests per second, median over rounds.
    public var throughputRPS: Double
    /// Throughput ÷ `threads+hold`'s, when that strategy ran.
    public var versusHold: Double?
    /// Request latency from issue to serialized answer, pooled over rounds (HdrHistogram).
    public var latencyMicroseconds: LatencyPercentiles
    /// CPU time (this process, less the backend's thread, plus worker processes) ÷ (wall ×
    /// cores), median over rounds.
    public var cpuUtilisation: Double
    /// Resident memory once set up, this process plus any workers, median over rounds.
    public var residentBytes: UInt64
    /// OS threads in this process serving requests.
    public var threads: Int
    /// Worker processes serving requests.
    public var processes: Int
    /// Answers checked against the serial reference, over all rounds; all matched, or the run fails.
    public var responsesChecked: Int
    /// Lock counters summed over rounds and processes.
    public var lock: LockStatistics

    enum CodingKeys: String, CodingKey {
        case strategy, throughputRPS = "throughput_rps", versusHold = "vs_threads_hold"
        case latencyMicroseconds = "latency_us", cpuUtilisation = "cpu_utilisation", residentBytes = "rss_bytes"
        case threads, processes, responsesChecked = "responses_checked", lock
    }
}

/// The settings, echoed into the report.
public struct ServiceSettings: Sendable, Codable, Equatable {
    /// Requests per strategy and round.
    public var requests: Int
    /// Clients in the closed loop.
    public var concurrency: Int
    /// The backend's answer delay, in microseconds.
    public var fetchDelayMicroseconds: Double
    /// Matrix order of the transform's dgemm.
    public var size: Int
    /// Lines per fetched record.
    public var lines: Int
    /// Counted rounds completed, after one warm-up: the plan's, or fewer when stopped early.
    public var rounds: Int
    /// Where `hybrid` computed.
    public var compute: HybridCompute
    /// Workers in `hybrid`'s compute pool.
    public var computeWorkers: Int
    /// The lock's policy.
    public var policy: LockPolicy
    /// The lock's switch interval, in seconds.
    public var switchIntervalSeconds: Double

    enum CodingKeys: String, CodingKey {
        case requests, concurrency, fetchDelayMicroseconds = "fetch_delay_us", size, lines, rounds, compute
        case computeWorkers = "compute_workers", policy, switchIntervalSeconds = "switch_interval_s"
    }
}

/// What the service scenario produced: `{"machine": …, "config": …, "results": […]}`.
public struct ServiceReport: Sendable, Codable, Equatable {
    /// What the machine was.
    public var machine: MachineInfo
    /// The settings.
    public var config: ServiceSettings
    /// One row per strategy, in plan order.
    public var results: [ServiceResult]
    /// Set when the run was stopped early: the rows cover the rounds completed by then.
    public var interrupted: Bool? = nil
}

extension ServiceReport: ScenarioReport {}
extension ServicePlan: ScenarioPlan {
    /// The defaults.
    public init() { self.init(strategies: ServiceStrategy.allCases) }
}

/// Why a response was wrong: a bug, never a timing artefact.
struct ServiceMismatch: Error {
    let request: Int
}

/// One thread's request handler: an interpreter with the service program, and A, B, C.
final class ServiceHandler {
    private let interpreter: Interpreter
    private let a: PyMatrix, b: PyMatrix, c: PyMatrix
    private let size: Int

    /// Builds the handler; `thread` must hold the lock.
    init(on thread: ThreadState, discipline: CallDiscipline, size n: Int) throws(WorkloadError) {
        size = n
        interpreter = try makeInterpreter(Programs.service, filename: "service.py", on: thread) {
            registerMatrixNatives($0, dgemmDiscipline: discipline)
        }
        do throws(KernelError) {
            let a = try Matrix(rows: n, columns: n) { i, j in inputValue(-1, i * n + j) }
            let b = try Matrix(rows: n, columns: n) { i, j in inputValue(-2, i * n + j) }
            var c = try Matrix(rows: n, columns: n)
            try Kernels.gemm(a, b, into: &c)  // OpenBLAS's per-thread set-up, outside the timing
            (self.a, self.b, self.c) = (PyMatrix(a), PyMatrix(b), PyMatrix(c))
        } catch {
            throw .kernel(error)
        }
    }

    /// Parses, transforms and serializes request `k`; the caller holds the lock.
    /// - Returns: the digest of the serialized answer.
    func handle(_ k: Int, text: String, on thread: ThreadState) throws(WorkloadError) -> UInt64 {
        let arguments = [interpreter.int(k), interpreter.str(text), interpreter.int(size), a, b, c]
        return Digest.of(unit: k, result: try call(interpreter, "handle", arguments))
    }
}

/// One strategy's round.
struct ServiceRound {
    var wallNanoseconds: UInt64
    var latencies: [UInt64]
    var cpuNanoseconds: UInt64
    var residentBytes: UInt64
    var lock: LockStatistics
    /// Every thread's own counters summed (released time by reason is only per thread).
    var threadStatistics = LockStatistics()
}

/// The service scenario.
public enum ServiceScenario: Scenario {
    public static let name = "service"
    public static let summary = "A request-processing service (fetch, parse, dgemm, serialize) under five strategies"

    /// Runs `plan`: the serial reference first, then every strategy in every round.
    /// - Parameters:
    ///   - plan: the strategies, requests, concurrency and rounds.
    ///   - stop: ends the run after the strategy in progress, with the rounds completed.
    ///   - progress: called before each strategy with (done, in all).
    /// - Throws: ``RunnerError``; a wrong answer fails the run as a checksum mismatch.
    public static func run(_ plan: ServicePlan, stop: StopRequest? = nil,
                           progress: (Int, Int) -> Void = { _, _ in }) throws(RunnerError) -> ServiceReport {
        try plan.validate()
        let machine = MachineInfo.current()
        let cores = MachineInfo.onlineCores
        return try BLAS.withThreads(1) { () throws(RunnerError) -> ServiceReport in
            let expected = try reference(plan)

            var rounds = Array(repeating: [ServiceRound](), count: plan.strategies.count)
            let whole = try interleavedRounds(plan.rounds + 1, over: plan.strategies.count, stop: stop,
                                              progress: progress) { (round, index) throws(RunnerError) in
                let outcome = try runRound(plan.strategies[index], plan, expected: expected)
                if round > 0 { rounds[index].append(outcome) }  // round 0 warms up
            }
            // Only whole rounds count, so that every strategy has as many.
            let completed = max(whole - 1, 0)
            var results = completed == 0 ? [] : plan.strategies.indices.map { index in
                summarize(Array(rounds[index].prefix(completed)), strategy: plan.strategies[index], plan: plan, cores: cores)
            }
            if let hold = results.first(where: { $0.strategy == .threadsHold })?.throughputRPS, hold > 0 {
                for index in results.indices { results[index].versusHold = results[index].throughputRPS / hold }
            }
            let settings = ServiceSettings(
                requests: plan.requests, concurrency: plan.concurrency,
                fetchDelayMicroseconds: Double(plan.fetchDelay.wholeNanoseconds) / 1e3, size: plan.size, lines: plan.lines,
                rounds: completed, compute: plan.compute, computeWorkers: plan.computeWorkers, policy: plan.lock.policy,
                switchIntervalSeconds: Double(plan.lock.switchIntervalNanoseconds) / 1e9)
            return ServiceReport(machine: machine, config: settings, results: results,
                                 interrupted: completed < plan.rounds ? true : nil)
        }
    }

    /// Every request's answer, computed on one thread without the backend.
    static func reference(_ plan: ServicePlan) throws(RunnerError) -> [UInt64] {
        let lock = InterpreterLock(configuration: plan.lock)
        let thread = lock.makeThreadState(name: "reference")
        thread.acquire()
        defer { thread.detach() }
        do throws(WorkloadError) {
            let handler = try ServiceHandler(on: thread, discipline: .release, size: plan.size)
            return try (0..<plan.requests).map { (k) throws(WorkloadError) in
                try handler.handle(k, text: String(decoding: ServiceBackend.record(k, lines: plan.lines), as: UTF8.self), on: thread)
            }
        } catch {
            throw .workload(error)
        }
    }

    private static func summarize(_ rounds: [ServiceRound], strategy: ServiceStrategy, plan: ServicePlan,
                                  cores: Int) -> ServiceResult {
        var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
        for round in rounds { for latency in round.latencies { histogram.record(max(latency, 1)) } }
        let microseconds = { (nanoseconds: UInt64) in Double(nanoseconds) / 1e3 }
        let (threads, processes) = shape(strategy, plan)
        return ServiceResult(
            strategy: strategy,
            throughputRPS: Summary(rounds.map { Double(plan.requests) / (Double($0.wallNanoseconds) / 1e9) }).median,
            versusHold: nil,
            latencyMicroseconds: LatencyPercentiles(p50: microseconds(histogram.valueAtPercentile(50)),
                                                    p99: microseconds(histogram.valueAtPercentile(99)),
                                                    max: microseconds(histogram.max)),
            cpuUtilisation: Summary(rounds.map { Double($0.cpuNanoseconds) / (Double($0.wallNanoseconds) * Double(cores)) }).median,
            residentBytes: UInt64(Summary(rounds.map { Double($0.residentBytes) }).median),
            threads: threads, processes: processes, responsesChecked: rounds.count * plan.requests,
            lock: rounds.reduce(LockStatistics()) { $0.adding($1.lock) })
    }

    /// (threads in this process, worker processes) for a strategy.
    static func shape(_ strategy: ServiceStrategy, _ plan: ServicePlan) -> (Int, Int) {
        switch strategy {
        case .threadsHold, .threadsRelease: (plan.concurrency, 0)
        case .processes: (0, plan.concurrency)
        case .hybrid: plan.compute == .release ? (plan.concurrency + plan.computeWorkers, 0) : (plan.concurrency, plan.computeWorkers)
        case .eventloopRelease: (1, 0)
        }
    }

    // MARK: - One round

    static func runRound(_ strategy: ServiceStrategy, _ plan: ServicePlan,
                                 expected: [UInt64]) throws(RunnerError) -> ServiceRound {
        let backend: ServiceBackend
        do { backend = try ServiceBackend(delay: plan.fetchDelay, lines: plan.lines) } catch { throw .workload(error) }
        defer { backend.stop() }
        let cpuBefore = processCPUNanoseconds()
        var round: ServiceRound
        do {
            switch strategy {
            case .threadsHold: round = try threaded(plan, port: backend.port, expected: expected, discipline: .hold)
            case .threadsRelease: round = try threaded(plan, port: backend.port, expected: expected, discipline: .release)
            case .eventloopRelease: round = try eventLoop(plan, port: backend.port, expected: expected)
            case .hybrid where plan.compute == .release: round = try hybridThreads(plan, port: backend.port, expected: expected)
            case .hybrid, .processes: round = try withProcesses(strategy, plan, port: backend.port, expected: expected)
            }
        } catch let mismatch as ServiceMismatch {
            throw .responseMismatch(strategy: strategy.rawValue, request: mismatch.request,
                                    expected: hex(expected[mismatch.request]))
        } catch {
            throw .wrapping(error)
        }
        backend.stop()
        let own = processCPUNanoseconds() &- cpuBefore &- backend.serverCPUNanoseconds
        round.cpuNanoseconds &+= own
        return round
    }

    /// Runs `clients` threads on one lock: each makes its state (holding the lock), waits at
    /// the gate, then runs `body`. Returns the wall time from the gate opening to the last join.
    private static func runThreads<State>(
        _ count: Int, lock: InterpreterLock, name: String,
        make: @escaping @Sendable (Int, ThreadState) throws -> State,
        body: @escaping @Sendable (Int, ThreadState, State) throws -> Void
    ) throws -> (wall: UInt64, resident: UInt64, lock: LockStatistics, threads: LockStatistics) {
        let gate = StartGate()
        let failure = Locked<(any Error)?>(nil)
        let perThread = Locked(LockStatistics())
        let threads = (0..<count).map { index in
            NativeThread { [make, body] in
                let thread = lock.makeThreadState(name: "\(name)-\(index)", interpreter: index % lock.interpreterCount)
                thread.acquire()
                var state: State?
                do { state = try make(index, thread) } catch { failure.withLock { $0 = $0 ?? error } }
                thread.release(reason: .exit)
                thread.resetStatistics()
                gate.arriveAndWait()
                // Every set-up has finished by the time the gate opens; if one failed, nobody runs.
                guard let state, failure.withLock({ $0 }) == nil else { return }
                thread.acquire()
                do { try body(index, thread, state) } catch { failure.withLock { $0 = $0 ?? error } }
                thread.detach()
                perThread.withLock { $0 = $0.adding(thread.statistics) }
            }
        }
        let timed = gate.openAndJoin(threads, lock: lock)
        if let error = failure.withLock({ $0 }) { throw error }
        return (timed.wall, timed.resident, lock.statistics, perThread.withLock { $0 })
    }

    /// threads+hold and threads+release: a thread per client, each fetching and computing.
    private static func threaded(_ plan: ServicePlan, port: UInt16, expected: [UInt64],
                                 discipline: CallDiscipline) throws -> ServiceRound {
        let lock = InterpreterLock(configuration: plan.lock)
        let queue = UnitQueue(count: plan.requests)
        let latencies = Locked<[UInt64]>([])
        let size = plan.size
        let run = try runThreads(plan.concurrency, lock: lock, name: "client", make: { _, thread in
            (try ServiceHandler(on: thread, discipline: discipline, size: size), try ServiceClient(port: port))
        }, body: { _, thread, state in
            let (handler, client) = state
            var mine: [UInt64] = []
            while let k = queue.next() {
                let start = monotonicNanoseconds()
                let text = try thread.withoutLock(reason: .io) { () throws(WorkloadError) in try client.fetch(k) }
                let digest = try handler.handle(k, text: String(decoding: text, as: UTF8.self), on: thread)
                mine.append(monotonicNanoseconds() - start)
                guard digest == expected[k] else { throw ServiceMismatch(request: k) }
            }
            latencies.withLock { $0 += mine }
        })
        return ServiceRound(wallNanoseconds: run.wall, latencies: latencies.withLock { $0 }, cpuNanoseconds: 0,
                            residentBytes: run.resident, lock: run.lock, threadStatistics: run.threads)
    }

    /// eventloop+release: one thread; every client's request in flight, waited on with poll.
    private static func eventLoop(_ plan: ServicePlan, port: UInt16, expected: [UInt64]) throws -> ServiceRound {
        let lock = InterpreterLock(configuration: plan.lock)
        let latencies = Locked<[UInt64]>([])
        let (size, concurrency, requests) = (plan.size, plan.concurrency, plan.requests)
        let run = try runThreads(1, lock: lock, name: "event-loop", make: { _, thread in
            (try ServiceHandler(on: thread, discipline: .release, size: size),
             try (0..<concurrency).map { _ throws(WorkloadError) in try ServiceClient(port: port) })
        }, body: { _, thread, state in
            let (handler, clients) = state
            var next = 0
            var inFlight: [Int: (k: Int, start: UInt64)] = [:]  // client index → request
            var mine: [UInt64] = []
            func issue(_ index: Int) throws {
                guard next < requests else { return }
                inFlight[index] = (next, monotonicNanoseconds())
                try clients[index].send(next)
                next += 1
            }
            for index in clients.indices { try issue(index) }
            while !inFlight.isEmpty {
                let waiting = inFlight.keys.sorted()
                var fds = waiting.map { pollfd(fd: clients[$0].fd, events: Int16(POLLIN), revents: 0) }
                let ready = thread.withoutLock(reason: .io) { poll(&fds, nfds_t(fds.count), -1) }
                if ready < 0 {
                    if errno == EINTR { continue }
                    throw WorkloadError.io(systemError("service: poll"))
                }
                for (slot, index) in waiting.enumerated() where fds[slot].revents != 0 {
                    // The backend writes each answer at once, so it is all there or nearly.
                    let text = try clients[index].receive()
                    let (k, start) = inFlight.removeValue(forKey: index)!
                    let digest = try handler.handle(k, text: String(decoding: text, as: UTF8.self), on: thread)
                    mine.append(monotonicNanoseconds() - start)
                    guard digest == expected[k] else { throw ServiceMismatch(request: k) }
                    try issue(index)
                }
            }
            latencies.withLock { $0 += mine }
        })
        return ServiceRound(wallNanoseconds: run.wall, latencies: latencies.withLock { $0 }, cpuNanoseconds: 0,
                            residentBytes: run.resident, lock: run.lock, threadStatistics: run.threads)
    }

    /// hybrid with compute release: I/O threads fetch and hand each request to a pool of
    /// compute threads in this process, waiting for the answer with the lock released.
    private static func hybridThreads(_ plan: ServicePlan, port: UInt16, expected: [UInt64]) throws -> ServiceRound {
        let lock = InterpreterLock(configuration: plan.lock)
        let queue = UnitQueue(count: plan.requests)
        let jobs = Mailbox<ComputeJob>()
        let latencies = Locked<[UInt64]>([])
        let (size, clients) = (plan.size, plan.concurrency)
        let ioDone = Atomic<Int>(0)
        let run = try runThreads(plan.concurrency + plan.computeWorkers, lock: lock, name: "hybrid", make: { index, thread in
            index < clients
                ? HybridThread.io(try ServiceClient(port: port), Mailbox<UInt64?>())
                : HybridThread.compute(try ServiceHandler(on: thread, discipline: .release, size: size))
        }, body: { _, thread, role in
            switch role {
            case .io(let client, let answer):
                // The last I/O thread out, by success or failure, lets the compute pool go.
                defer { if ioDone.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue == clients { jobs.close() } }
                var mine: [UInt64] = []
                while let k = queue.next() {
                    let start = monotonicNanoseconds()
                    let text = try thread.withoutLock(reason: .io) { () throws(WorkloadError) in try client.fetch(k) }
                    jobs.put(ComputeJob(k: k, text: String(decoding: text, as: UTF8.self), answer: answer))
                    guard let digest = thread.withoutLock(reason: .io, { answer.take() ?? nil }) else {
                        throw WorkloadError.invalid("service: the compute thread handling request \(k) failed")
                    }
                    mine.append(monotonicNanoseconds() - start)
                    guard digest == expected[k] else { throw ServiceMismatch(request: k) }
                }
                latencies.withLock { $0 += mine }
            case .compute(let handler):
                while let job = thread.withoutLock(reason: .io, { jobs.take() }) {
                    do {
                        job.answer.put(try handler.handle(job.k, text: job.text, on: thread))
                    } catch {
                        job.answer.put(nil)  // the waiting I/O thread must not wait forever
                        throw error
                    }
                }
            }
        })
        return ServiceRound(wallNanoseconds: run.wall, latencies: latencies.withLock { $0 }, cpuNanoseconds: 0,
                            residentBytes: run.resident, lock: run.lock, threadStatistics: run.threads)
    }

    /// processes (each worker fetches and computes a share) and hybrid with compute processes
    /// (I/O threads fetch; a free worker computes).
    private static func withProcesses(_ strategy: ServiceStrategy, _ plan: ServicePlan, port: UInt16,
                                      expected: [UInt64]) throws -> ServiceRound {
        let count = strategy == .processes ? plan.concurrency : plan.computeWorkers
        let pool = try ProcessPool(executable: workerExecutable(plan.workerExecutable), count: count,
                                   timeout: plan.workerTimeout)
        let settings = try encodeWireMessage(ServiceWorkerSettings(size: plan.size, port: port))
        for index in 0..<count {
            let job = WorkerJob(workload: .gemm, size: plan.size, units: 1, policy: plan.lock.policy,
                                switchIntervalNanoseconds: plan.lock.switchIntervalNanoseconds,
                                checkInterval: plan.lock.checkInterval, blasThreads: 1, transfer: .none, inputBytes: 0,
                                sharedMemoryName: nil, index: index, fault: nil,
                                handler: ServiceWorkerJob.name, settings: settings)
            try pool.send(job, .job, to: index)
        }
        let ready = try pool.receive(WorkerReady.self, .ready, from: Array(0..<count))
        let resident = residentBytes() + ready.reduce(0) { $0 + $1.residentBytes }
        var round: ServiceRound
        if strategy == .processes {
            // Request k goes to worker k mod count: each worker a pre-forked server's share.
            let start = monotonicNanoseconds()
            for index in 0..<count {
                let batch = ServiceBatch(requests: Array(stride(from: index, to: plan.requests, by: count)))
                try pool.send(ServiceCall.batch(batch), .call, to: index)
            }
            let results = try pool.receive(ServiceBatchResult.self, .reply, from: Array(0..<count))
            let wall = monotonicNanoseconds() - start
            for (index, result) in results.enumerated() {
                for (k, digest) in zip(stride(from: index, to: plan.requests, by: count), result.digests)
                where digest != expected[k] {
                    throw ServiceMismatch(request: k)
                }
            }
            round = ServiceRound(wallNanoseconds: wall, latencies: results.flatMap(\.latencyNanoseconds), cpuNanoseconds: 0,
                                 residentBytes: resident, lock: results.reduce(LockStatistics()) { $0.adding($1.statistics) })
        } else {
            round = try hybridProcesses(plan, pool: pool, port: port, expected: expected)
            round.residentBytes = resident
        }
        try pool.finish()
        // Workers' CPU after they were ready: their whole life less start-up.
        round.cpuNanoseconds = zip(pool.members, ready).reduce(0) { $0 + ($1.0.cpuNanoseconds &- $1.1.cpuNanoseconds) }
        return round
    }

    private static func hybridProcesses(_ plan: ServicePlan, pool: ProcessPool, port: UInt16,
                                        expected: [UInt64]) throws -> ServiceRound {
        let lock = InterpreterLock(configuration: plan.lock)
        let queue = UnitQueue(count: plan.requests)
        let idle = Mailbox<Int>()
        let channels = pool.channels
        for index in channels.indices { idle.put(index) }
        let latencies = Locked<[UInt64]>([])
        let statistics = Locked(LockStatistics())
        let timeout = plan.workerTimeout.wholeNanoseconds
        let run = try runThreads(plan.concurrency, lock: lock, name: "io", make: { _, _ in
            try ServiceClient(port: port)
        }, body: { _, thread, client in
            var mine: [UInt64] = []
            while let k = queue.next() {
                let start = monotonicNanoseconds()
                // Fetch, take a free worker, send the text, wait for the answer: all blocking,
                // all with the lock released. Building the message is Python-level (pickling).
                let text = try thread.withoutLock(reason: .io) { () throws(WorkloadError) in try client.fetch(k) }
                let message = try encodeWireMessage(ServiceCall.request(ServiceRequest(k: k, text: String(decoding: text, as: UTF8.self))))
                let worker = thread.withoutLock(reason: .io) { idle.take()! }
                let result = try thread.withoutLock(reason: .io) { () throws(WorkerError) -> WorkerResult in
                    defer { idle.put(worker) }
                    return try channels[worker].exchange(message, .call, timeout: timeout).result
                }
                statistics.withLock { $0 = $0.adding(result.statistics) }
                mine.append(monotonicNanoseconds() - start)
                guard result.checksum == expected[k] else { throw ServiceMismatch(request: k) }
            }
            latencies.withLock { $0 += mine }
        })
        return ServiceRound(wallNanoseconds: run.wall, latencies: latencies.withLock { $0 }, cpuNanoseconds: 0,
                            residentBytes: run.resident, lock: run.lock.adding(statistics.withLock { $0 }))
    }
}

private enum HybridThread {
    case io(ServiceClient, Mailbox<UInt64?>)
    case compute(ServiceHandler)
}

private struct ComputeJob {
    let k: Int
    let text: String
    let answer: Mailbox<UInt64?>
}
