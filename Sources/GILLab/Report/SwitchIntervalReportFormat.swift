import Foundation

extension SwitchIntervalReport: TabularScenarioReport {
    public static var columns: [String] {
        ["policy", "cpu_threads", "interval_ms", "samples", "p50_us", "p99_us", "max_us", "lock_p99_us", "cpu_vs_alone",
         "cpu_Mit_per_s", "switches_per_s", "drop_req_per_s", "handoff_pct", "handoff_us_per_switch"]
    }
    public static var narrowColumns: [String]? {
        ["policy", "cpu_threads", "interval_ms", "p50_us", "p99_us", "max_us", "cpu_vs_alone", "switches_per_s", "handoff_pct"]
    }

    public var rows: [[String]] {
        results.map { r in
            [r.policy.rawValue, "\(r.cpuThreads)", ReportRenderer.milliseconds(r.switchIntervalMilliseconds),
             "\(r.samples)" + (r.truncated ? " (time limit)" : ""),
             fixed(r.latencyMicroseconds.p50, 0), fixed(r.latencyMicroseconds.p99, 0), fixed(r.latencyMicroseconds.max, 0),
             fixed(r.lockWaitMicroseconds.p99, 0), fixed(r.cpuThroughputVersusAlone, 2), fixed(r.cpuIterationsPerSecond / 1e6, 2),
             fixed(r.switchesPerSecond, 0), fixed(r.dropRequestsPerSecond, 0), fixed(r.handoffShare * 100, 2),
             r.handoffMicrosecondsPerSwitch.map { fixed($0, 1) } ?? "-"]
        }
    }

    public var preamble: String {
        let c = config
        return "switch-interval: one I/O thread blocks \(fixed(c.blockMicroseconds, 0)) µs, then runs a little Python-level code, "
            + "beside CPU-bound threads; \(counted(c.samples, "sample")) × \(counted(c.rounds, "round")) per point after "
            + "\(c.warmup) warm-up; I/O thread's timer slack \(c.timerSlackMicroseconds.map { "\(fixed($0, 0)) µs" } ?? "the system default")\n"
            + "latency: how much longer than the block each blocking call took, until the lock was held again (lock_p99_us: "
            + "the wait for the lock alone); cpu_vs_alone: the CPU threads' throughput ÷ theirs alone just before, same policy "
            + "and interval; handoff_pct: share of the run the lock sat free while a thread waited for it (drop, wake-up, take)\n"
    }

    /// For each policy and CPU thread count: the largest interval that keeps the I/O thread's
    /// p99 under the target, and what that costs the CPU threads.
    public var verdicts: [String] { Verdict.switchInterval(self) }

    /// One trade-off chart per CPU thread count, for `gillab report --scenario switch-interval`.
    public var charts: [ScenarioChart] {
        config.cpuThreads.filter { count in results.contains { $0.cpuThreads == count } }.map { count in
            ScenarioChart(name: "switch-interval-\(count)cpu.svg", caption: "I/O p99 against CPU throughput, \(counted(count, "CPU thread"))",
                          svg: SVGChart.switchInterval(self, cpuThreads: count))
        }
    }
}

extension ReportRenderer {
    /// A duration in milliseconds with as many decimals as it needs: 0.05, 0.5, 5.
    static func milliseconds(_ value: Double) -> String {
        var text = String(format: "%.3f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}

extension Verdict {
    /// One line per policy and CPU thread count: the largest interval whose I/O p99 is within
    /// the target, the CPU threads' throughput and the handoffs' share there, the same at
    /// CPython's 5 ms default, and the interval the wait for the lock alone would allow when
    /// that differs (the rest of the latency is the block's overshoot, which no interval moves).
    public static func switchInterval(_ report: SwitchIntervalReport) -> [String] {
        let target = report.config.latencyTargetMicroseconds
        func us(_ value: Double) -> String { value >= 1000 ? "\(fixed(value / 1000, 1)) ms" : "\(fixed(value, 0)) µs" }
        func ms(_ row: SwitchIntervalResult) -> String { "\(ReportRenderer.milliseconds(row.switchIntervalMilliseconds)) ms" }
        func cost(_ row: SwitchIntervalResult) -> String {
            "CPU \(fixed(row.cpuThroughputVersusAlone, 2))× alone, lock in handoff \(fixed(row.handoffShare * 100, 1))% of the run"
        }
        var lines: [String] = []
        for policy in report.config.policies {
            for count in report.config.cpuThreads {
                let curve = report.curve(policy, cpuThreads: count)
                guard !curve.isEmpty else { continue }
                var line = "\(policy.rawValue), \(counted(count, "CPU thread")): "
                let largest = curve.last { $0.latencyMicroseconds.p99 <= target }
                if let largest {
                    line += "the largest interval with p99 ≤ \(us(target)) is \(ms(largest)) (p99 \(us(largest.latencyMicroseconds.p99)), \(cost(largest)))"
                } else {
                    let best = curve.min { $0.latencyMicroseconds.p99 < $1.latencyMicroseconds.p99 }!
                    line += "no interval keeps p99 ≤ \(us(target)); the lowest is at \(ms(best)) (p99 \(us(best.latencyMicroseconds.p99)), \(cost(best)))"
                }
                if let byLock = curve.last(where: { $0.lockWaitMicroseconds.p99 <= target }), byLock != largest {
                    line += "; by the wait for the lock alone (p99 \(us(byLock.lockWaitMicroseconds.p99))), \(ms(byLock))"
                }
                if let standard = curve.first(where: { abs($0.switchIntervalMilliseconds - 5) < 1e-9 }), standard != largest {
                    line += "; at CPython's 5 ms default, p99 \(us(standard.latencyMicroseconds.p99)), \(cost(standard))"
                }
                lines.append(line)
            }
        }
        return lines
    }
}

extension SVGChart {
    /// The trade-off at one CPU thread count: x = the I/O thread's p99 latency (log scale),
    /// y = the CPU threads' throughput ÷ theirs alone; one line per policy, each point labelled
    /// with its switch interval in ms, and the latency target as a dashed vertical line.
    public static func switchInterval(_ report: SwitchIntervalReport, cpuThreads: Int) -> String {
        let target = report.config.latencyTargetMicroseconds
        let curves = report.config.policies.map { ($0, report.curve($0, cpuThreads: cpuThreads).filter { $0.latencyMicroseconds.p99.isFinite }) }
        let latencies = curves.flatMap { $0.1.map { max($0.latencyMicroseconds.p99, 1) } } + [target]
        let low = pow(10, floor(log10(latencies.min() ?? 10))), high = pow(10, ceil(log10((latencies.max() ?? 1e5) * 1.01)))
        let throughputs = curves.flatMap { $0.1.map(\.cpuThroughputVersusAlone) }
        let bottomValue = max(0, floor(((throughputs.min() ?? 0.5) - 0.05) * 10) / 10)
        let topValue = max(ceil(((throughputs.max() ?? 1) + 0.05) * 10) / 10, bottomValue + 0.1)

        let width = 760.0, height = 460.0
        let left = 70.0, right = 170.0, topMargin = 50.0, bottom = 60.0
        let plotWidth = width - left - right, plotHeight = height - topMargin - bottom
        func x(_ microseconds: Double) -> Double {
            left + (log10(max(microseconds, low)) - log10(low)) / (log10(high) - log10(low)) * plotWidth
        }
        func y(_ ratio: Double) -> Double { topMargin + plotHeight - (ratio - bottomValue) / (topValue - bottomValue) * plotHeight }

        var svg = header(width: width, height: height)
        svg += text("Switch interval: I/O p99 against CPU throughput, \(counted(cpuThreads, "CPU thread"))",
                    x: width / 2, y: 26, size: 15, anchor: "middle", weight: "bold")
        for tick in stride(from: bottomValue, through: topValue + 1e-9, by: tickStep(topValue - bottomValue)) {
            svg += line(left, y(tick), left + plotWidth, y(tick), stroke: "#e5e5e5")
            svg += text(format(tick), x: left - 8, y: y(tick) + 4, size: 12, anchor: "end")
        }
        var decade = low
        while decade <= high * 1.0001 {
            svg += line(x(decade), topMargin, x(decade), topMargin + plotHeight, stroke: "#f0f0f0")
            let label = decade >= 1000 ? "\(format(decade / 1000)) ms" : "\(format(decade)) µs"
            svg += text(label, x: x(decade), y: topMargin + plotHeight + 18, size: 12, anchor: "middle")
            decade *= 10
        }
        svg += line(left, topMargin + plotHeight, left + plotWidth, topMargin + plotHeight, stroke: "#333")
        svg += line(left, topMargin, left, topMargin + plotHeight, stroke: "#333")
        svg += text("I/O thread's p99 latency (log scale)", x: left + plotWidth / 2, y: height - 18, size: 13, anchor: "middle")
        svg += #"<text x="18" y="\#(fmt(topMargin + plotHeight / 2))" font-size="13" text-anchor="middle" transform="rotate(-90 18 \#(fmt(topMargin + plotHeight / 2)))">CPU throughput ÷ alone</text>"# + "\n"
        svg += line(x(target), topMargin, x(target), topMargin + plotHeight, stroke: "#999", width: 1.5, dash: "6 4")

        var legend: [(label: String, colour: String, dash: String?)] = [("target p99 \(format(target / 1000)) ms", "#999", "6 4")]
        for (index, (policy, curve)) in curves.enumerated() where !curve.isEmpty {
            let colour = palette[index % palette.count]
            let points = curve.map { (x(max($0.latencyMicroseconds.p99, 1)), y($0.cpuThroughputVersusAlone)) }
            svg += polyline(points, stroke: colour, width: 2.5, dash: nil)
            for (row, point) in zip(curve, points) {
                svg += #"<circle cx="\#(fmt(point.0))" cy="\#(fmt(point.1))" r="4" fill="\#(colour)"/>"# + "\n"
                svg += text(ReportRenderer.milliseconds(row.switchIntervalMilliseconds), x: point.0 + 6, y: point.1 - 6, size: 11,
                            anchor: "start")
            }
            legend.append((policy.rawValue, colour, nil))
        }
        svg += Self.legend(legend, x: left + plotWidth + 20, y: topMargin + 10)
        svg += text("labels: switch interval, ms", x: left + plotWidth + 20, y: topMargin + 10 + Double(legend.count) * 22 + 4,
                    size: 11, anchor: "start")
        return svg + "</svg>\n"
    }
}

extension SwitchIntervalComparisonReport: TabularScenarioReport {
    public static var columns: [String] {
        ["interval_ms", "cpu_threads", "cpython_p50_us", "gillab_p50_us", "p50_ratio", "mean_ratio", "cpython_p99_us", "gillab_p99_us",
         "cpython_max_us", "gillab_max_us", "cpython_cpu_vs_alone", "gillab_cpu_vs_alone"]
    }
    public static var narrowColumns: [String]? {
        ["interval_ms", "cpu_threads", "cpython_p50_us", "gillab_p50_us", "p50_ratio", "mean_ratio", "cpython_p99_us", "gillab_p99_us",
         "gillab_cpu_vs_alone"]
    }

    public var rows: [[String]] {
        points.map { r in
            [ReportRenderer.milliseconds(r.switchIntervalMilliseconds), "\(r.cpuThreads)", fixed(r.cpython.p50, 0), fixed(r.gillab.p50, 0),
             fixed(r.p50Ratio, 2), r.meanRatio.isFinite ? fixed(r.meanRatio, 2) : "-", fixed(r.cpython.p99, 0), fixed(r.gillab.p99, 0), fixed(r.cpython.max, 0), fixed(r.gillab.max, 0),
             fixed(r.cpythonCPUVersusAlone, 2), fixed(r.gillabCPUVersusAlone, 2)]
        }
    }

    public var preamble: String {
        "switch-interval sweep, side by side: CPython \(python) (sys.setswitchinterval) and GILLab (\(policy.rawValue)), a thread "
            + "sleeping 1 ms beside CPU-bound countdown threads, \(counted(samples, "sleep")) per side and point after 10 warm-up, "
            + "the kernel's timer slack on both sides; each interval runs on both sides back to back\n"
            + "latency: how much longer than 1 ms each sleep took until the thread held the lock again; "
            + "cpu_vs_alone: the CPU threads' throughput beside the sleeper ÷ theirs alone just before\n"
    }

    /// Whether the ±15% goal on p50 holds at intervals of 1 ms and more, and what the rows
    /// below 1 ms show.
    public var verdicts: [String] { Verdict.switchIntervalComparison(self) }
}

extension Verdict {
    /// The sweep against CPython, per CPU thread count: the p50 goal at intervals ≥ 1 ms, then
    /// the shorter intervals.
    public static func switchIntervalComparison(_ report: SwitchIntervalComparisonReport) -> [String] {
        let from = SwitchIntervalComparisonReport.goalFromMilliseconds, tolerance = SwitchIntervalComparisonReport.goalTolerance
        func range(_ rows: [SwitchIntervalComparisonRow]) -> String {
            let ratios = rows.map(\.p50Ratio)
            return "\(fixed(ratios.min()!, 2))–\(fixed(ratios.max()!, 2))"
        }
        var lines: [String] = []
        for count in Array(Set(report.points.map(\.cpuThreads))).sorted() {
            let rows = report.points.filter { $0.cpuThreads == count && $0.p50Ratio.isFinite }
            let long = rows.filter { $0.switchIntervalMilliseconds >= from - 1e-9 }
            let short = rows.filter { $0.switchIntervalMilliseconds < from - 1e-9 }
            let within = long.filter { abs($0.p50Ratio - 1) <= tolerance }
            var line = "\(counted(count, "CPU thread")): "
            if !long.isEmpty {
                line += "at intervals ≥ \(ReportRenderer.milliseconds(from)) ms, GILLab's p50 is within ±\(fixed(tolerance * 100, 0))% of "
                    + "CPython's at \(within.count) of \(long.count) (GILLab ÷ CPython \(range(long)))"
            }
            if !short.isEmpty {
                line += (long.isEmpty ? "" : "; ") + "below \(ReportRenderer.milliseconds(from)) ms, \(range(short))"
            }
            let means = long.filter { $0.meanRatio.isFinite }
            if !means.isEmpty {
                let ratios = means.map(\.meanRatio)
                line += "; the mean within ±\(fixed(tolerance * 100, 0))% at \(means.filter { abs($0.meanRatio - 1) <= tolerance }.count) of "
                    + "\(means.count) (\(fixed(ratios.min()!, 2))–\(fixed(ratios.max()!, 2)))"
            }
            if count >= 2 && within.count < long.count {
                line += ". With \(count) CPU threads the sleeper races the other CPU waiters for each handoff, so its latency has "
                    + "two modes (it wins at once, or waits a turn of a switch interval or more) on both sides, and a p50 of "
                    + "\(report.samples) samples falls on either from one run to the next: the mean is the steadier figure"
            }
            lines.append(line)
        }
        return lines
    }
}
