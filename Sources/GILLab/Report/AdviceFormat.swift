extension ReportRenderer {
    /// Renders advice: JSON, or lines of figures and reasons for the other formats.
    public static func render(_ advice: Advice, as format: ReportFormat) -> String {
        if format == .json { return json(advice) }
        let size = advice.size.map { " size \($0)" } ?? ""
        var lines = [machineLine(advice.machine),
                     "advise: \(advice.workload)\(size), profiled on 1 thread and on \(advice.threads), lock released around kernels and I/O",
                     ""]
        let header = ["threads", "held", "released_kernel", "released_io", "waiting"]
        let rows = [("1", advice.oneThread), ("\(advice.threads)", advice.manyThreads)].map { label, s in
            [label, fixed(s.held, 3), fixed(s.releasedKernel, 3), fixed(s.releasedIO, 3), fixed(s.waiting, 3)]
        }
        lines.append(alignedTable(header: header, rows: rows))
        lines.append("classification: \(advice.classification.rawValue)")
        lines.append("recommendation: \(advice.recommendation.rawValue), predicted \(fixed(advice.predictedSpeedup, 2))× on \(counted(advice.threads, "worker"))")
        for reason in Verdict.advice(advice) { lines.append("why: " + reason) }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Verdict {
    /// The figures behind advice, in words.
    public static func advice(_ a: Advice) -> [String] {
        func percent(_ x: Double) -> String { "\(fixed(x * 100, 0))%" }
        let (held, kernel, io) = a.oneThread.normalized
        var reasons = [
            "one thread's time: \(percent(held)) holding the lock, \(percent(kernel)) in released kernels, \(percent(io)) in released I/O",
            "measured on \(counted(a.threads, "thread")): \(fixed(a.measuredThreadSpeedup, 2))× one thread, \(percent(a.manyThreads.waiting)) of thread time waiting for the lock",
        ]
        switch a.classification {
        case .ioBound:
            reasons.append("the lock is released while threads block, so threads overlap the waits (Amdahl: \(fixed(a.predictedThreadSpeedup, 2))×); for thousands of connections an event loop does the same on one thread")
        case .cpuHoldingLock:
            reasons.append("\(percent(held)) of the work needs the lock, so threads take turns (Amdahl: \(fixed(a.predictedThreadSpeedup, 2))×); processes each have their own lock (\(fixed(a.predictedSpeedup, 2))×) at the price of start-up, memory and IPC. Or move the hot loop into a kernel that releases the lock, or use a free-threaded runtime")
        case .cpuReleased:
            reasons.append("the kernels release the lock, so threads run them on every core with shared memory and no IPC (Amdahl: \(fixed(a.predictedThreadSpeedup, 2))×); keep OpenBLAS threads at max(1, cores ÷ threads) = \(OversubscriptionPlan.fix(appThreads: a.threads, cores: a.machine.cores))")
        case .mixed:
            reasons.append("no part reaches \(percent(Advisor.dominantShare)): I/O threads overlap the blocking calls while a compute pool of one worker per core runs the rest (\(fixed(a.predictedSpeedup, 2))×; plain threads: \(fixed(a.predictedThreadSpeedup, 2))×)")
        }
        return reasons
    }
}
