extension ReportRenderer {
    /// The columns of the convoy table, CSV and Markdown forms.
    static let convoyColumns = ["policy", "cpu_threads", "samples", "p50_us", "p99_us", "max_us", "lock_p99_us", "lock_max_us",
                                "cpu_Mit_per_s", "cpu_vs_new_gil", "cpu_vs_alone", "cpu_max_wait_us", "io_req_per_s", "switches", "drop_req", "prio_req"]

    static func convoyCells(_ r: ConvoyResult) -> [String] {
        [r.policy.rawValue, "\(r.cpuThreads)", "\(r.samples)" + (r.truncated ? " (time limit)" : ""),
         fixed(r.latencyMicroseconds.p50, 0), fixed(r.latencyMicroseconds.p99, 0), fixed(r.latencyMicroseconds.max, 0),
         fixed(r.lockWaitMicroseconds.p99, 0), fixed(r.lockWaitMicroseconds.max, 0),
         r.cpuIterationsPerSecond.map { fixed($0 / 1e6, 2) } ?? "-",
         r.cpuThroughputVersusNewGIL.map { fixed($0, 2) } ?? "-",
         r.cpuThroughputVersusAlone.map { fixed($0, 2) } ?? "-",
         r.cpuMaxWaitMicroseconds.map { fixed($0, 0) } ?? "-",
         fixed(r.ioRequestsPerSecond, 0), "\(r.lock.switches)", "\(r.lock.dropRequests)", "\(r.lock.priorityRequests)"]
    }

}

extension Verdict {
    /// What the convoy scenario shows, one line per policy, from the rows with
    /// `cpuThreads` CPU threads (1 by default) and the I/O thread alone.
    public static func convoy(_ report: ConvoyReport, cpuThreads: Int = 1) -> [String] {
        let interval = report.config.switchIntervalSeconds * 1e6
        func row(_ policy: LockPolicy, _ count: Int) -> ConvoyResult? {
            report.results.first { $0.policy == policy && $0.cpuThreads == count }
        }
        func us(_ value: Double) -> String { "\(fixed(value, 0)) µs" }
        var lines: [String] = []
        for policy in report.config.policies {
            guard let busy = row(policy, cpuThreads) else { continue }
            let p50 = busy.latencyMicroseconds.p50
            let alone = row(policy, 0).map { " (alone: \(us($0.latencyMicroseconds.p50)))" } ?? ""
            let cpu = busy.cpuThroughputVersusNewGIL.map { ", CPU throughput \(fixed($0, 2))× new-gil's" } ?? ""
            let cpuWait = busy.cpuMaxWaitMicroseconds.map { "; the CPU threads' longest wait \(us($0)) (the I/O threads alone cannot make one wait much longer than a switch interval plus the holder's time to its next checkpoint)" } ?? ""
            let head = "\(policy.rawValue), \(counted(cpuThreads, "CPU thread")): p50 \(us(p50))\(alone)"
            let meaning: String = switch policy {
            case .newGIL:
                "\(fixed(p50 / interval, 2)) switch intervals: the returning I/O thread waits out a whole interval before it may ask (the convoy effect, bpo-7946)"
            case .ioPriority:
                "the returning I/O thread asks for the lock at once, or once the holder has had a tenth of the switch interval\(cpu)\(cpuWait)"
            case .legacyGIL:
                "p99 \(us(busy.latencyMicroseconds.p99)), max \(us(busy.latencyMicroseconds.max)): no handoff, so the I/O thread gets the lock only when it wins the race against the CPU thread's immediate re-request"
            case .free:
                "no lock to wait for\(cpu)"
            case .perInterpreter:
                perInterpreterMeaning(report.config, cpuThreads: cpuThreads) + cpu
            }
            lines.append(head + ": " + meaning)
        }
        return lines
    }

    /// For each row, the two locations the I/O thread waited behind most.
    public static func convoyWaitedBehind(_ report: ConvoyReport) -> [String] {
        report.results.compactMap { r in
            guard !r.ioWaitedBehind.isEmpty else { return nil }
            let top = r.ioWaitedBehind.prefix(2).map { "\($0.location) \(ReportRenderer.seconds($0.seconds)) (\(ReportRenderer.percent($0.share)))" }
            return "\(r.policy.rawValue), \(counted(r.cpuThreads, "CPU thread")): the I/O thread waited behind " + top.joined(separator: ", then ")
        }
    }

    /// Which threads share a lock under `per-interpreter`: thread i, the I/O threads first, is
    /// in interpreter i mod K.
    private static func perInterpreterMeaning(_ config: ConvoySettings, cpuThreads: Int) -> String {
        let k = config.interpreters
        let shared = (0..<cpuThreads).filter { (config.ioThreads + $0) % k < config.ioThreads }
        if shared.isEmpty {
            return "no CPU thread is in an interpreter with an I/O thread (thread i, counting the I/O threads first, is in interpreter i mod \(k)), so an I/O thread never waits for one"
        }
        let names = shared.map { "cpu-\($0)" }.joined(separator: ", ")
        return "\(names) share\(shared.count == 1 ? "s" : "") an interpreter, and so a lock, with an I/O thread (thread i, counting the I/O threads first, is in interpreter i mod \(k)): there the I/O thread waits as under new-gil"
    }
}

extension ConvoyReport: TabularScenarioReport {
    public static var columns: [String] { ReportRenderer.convoyColumns }
    public static var narrowColumns: [String]? {
        ["policy", "cpu_threads", "p50_us", "p99_us", "max_us", "lock_p99_us", "cpu_vs_new_gil", "cpu_max_wait_us"]
    }
    public var rows: [[String]] { results.map(ReportRenderer.convoyCells) }

    public var preamble: String {
        let c = config
        let io = c.ioThreads == 1 ? "one I/O thread blocks" : "\(c.ioThreads) I/O threads each block"
        return "convoy: \(io) \(fixed(c.blockMicroseconds, 0)) µs, then run\(c.ioThreads == 1 ? "s" : "") a little Python-level code; "
             + "\(counted(c.samples, "sample")) × \(counted(c.rounds, "round")) after \(c.warmup) warm-up; switch interval "
             + "\(fixed(c.switchIntervalSeconds * 1e3, 3)) ms, check interval \(c.checkInterval), \(counted(c.interpreters, "interpreter")), "
             + "I/O thread's timer slack \(c.timerSlackMicroseconds.map { "\(fixed($0, 0)) µs" } ?? "the system default")\n"
             + "latency: how much longer than the block each blocking call took, until the lock was held again; "
             + "lock_p99_us, lock_max_us: of that, the wait for the lock alone (the rest is the block's own overshoot); "
             + "cpu_vs_alone: the CPU threads' throughput ÷ theirs alone for \(fixed(Double(ConvoyPlan.aloneDuration.wholeNanoseconds) / 1e6, 0)) ms just before; "
             + "cpu_max_wait_us: their longest wait for the lock\n"
    }
}
