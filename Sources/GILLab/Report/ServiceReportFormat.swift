extension ReportRenderer {
    /// The columns of the service table, CSV and Markdown forms.
    static let serviceColumns = ["strategy", "threads", "processes", "throughput_rps", "vs_hold", "p50_us", "p99_us",
                                 "max_us", "cpu_util", "rss_mib", "held_s", "switches", "checked"]

    static func serviceCells(_ r: ServiceResult) -> [String] {
        [r.strategy.rawValue, "\(r.threads)", "\(r.processes)", fixed(r.throughputRPS, 0),
         r.versusHold.map { fixed($0, 2) } ?? "-", fixed(r.latencyMicroseconds.p50, 0),
         fixed(r.latencyMicroseconds.p99, 0), fixed(r.latencyMicroseconds.max, 0), fixed(r.cpuUtilisation, 2),
         fixed(Double(r.residentBytes) / 1_048_576, 1), fixed(r.lock.totalHoldSeconds, 2), "\(r.lock.switches)",
         "\(r.responsesChecked)"]
    }

}

extension Verdict {
    /// One line per strategy: what its throughput and tail say.
    public static func service(_ report: ServiceReport) -> [String] {
        report.results.map { r in
            let head = "\(r.strategy.rawValue): \(fixed(r.throughputRPS, 0)) req/s"
                + (r.versusHold.map { " (\(fixed($0, 2))× threads+hold)" } ?? "")
                + ", p99 \(fixed(r.latencyMicroseconds.p99 / 1e3, 1)) ms"
            let meaning: String = switch r.strategy {
            case .threadsHold: "dgemm holds the lock, so the compute of all clients runs one at a time: the bottleneck"
            case .threadsRelease: "dgemm releases the lock, so the transforms of different requests run on different cores"
            case .processes: "a lock per process, so everything runs in parallel, for \(fixed(Double(r.residentBytes) / 1_048_576, 0)) MiB resident"
            case .hybrid: "I/O threads overlap the fetches while the compute pool keeps the cores busy"
            case .eventloopRelease: "the fetches overlap, but one thread computes, so the compute runs on one core"
            }
            return head + ": " + meaning
        }
    }
}

extension ServiceReport: TabularScenarioReport {
    public static var columns: [String] { ReportRenderer.serviceColumns }
    public static var narrowColumns: [String]? {
        ["strategy", "threads", "processes", "throughput_rps", "vs_hold", "p50_us", "p99_us", "cpu_util", "rss_mib"]
    }
    public var rows: [[String]] { results.map(ReportRenderer.serviceCells) }

    public var preamble: String {
        let c = config
        return "service: \(counted(c.requests, "request")) × \(counted(c.rounds, "round")) after 1 warm-up, \(c.concurrency) clients in a closed loop; "
             + "each request: fetch (loopback, \(fixed(c.fetchDelayMicroseconds / 1e3, 1)) ms), parse \(c.lines) lines (Python-level), "
             + "dgemm n=\(c.size), serialize (Python-level); hybrid computes on \(c.computeWorkers) \(c.compute == .release ? "threads" : "processes"); "
             + "policy \(c.policy.rawValue), switch interval \(fixed(c.switchIntervalSeconds * 1e3, 3)) ms; every answer checked against the serial reference\n"
             + "latency: issue to serialized answer (HdrHistogram); cpu_util: CPU time ÷ (wall × cores), the backend's thread left out\n"
    }
}
