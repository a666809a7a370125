import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport

@Suite("Switch-interval scenario")
struct SwitchIntervalTests {
    @Test("runs every policy × CPU threads × interval point, in that order, with the figures each row promises")
    func smallRun() throws {
        let plan = SwitchIntervalPlan(intervals: [.microseconds(200), .milliseconds(2)], policies: [.newGIL, .ioPriority],
                                      cpuThreads: [1], samples: 4, rounds: 2, block: .microseconds(200))
        let report = try SwitchIntervalScenario.run(plan)
        #expect(report.results.map(\.policy) == [.newGIL, .newGIL, .ioPriority, .ioPriority])
        #expect(report.results.map(\.switchIntervalMilliseconds) == [0.2, 2, 0.2, 2])
        for row in report.results {
            #expect(row.samples == 8 && !row.truncated)
            let latency = row.latencyMicroseconds
            #expect(latency.p50 >= 0 && latency.p50 <= latency.p99 && latency.p99 <= latency.max)
            #expect(row.lockWaitMicroseconds.max <= latency.max + 1)  // the wait is a part of the latency
            #expect(row.cpuThroughputVersusAlone > 0 && row.cpuIterationsPerSecond > 0)
            // The I/O thread takes the lock back after every block, from a CPU thread that held it.
            #expect(row.switchesPerSecond > 0)
            #expect((0...1).contains(row.handoffShare))
            #expect(row.handoffMicrosecondsPerSwitch != nil)
        }
        #expect(report.config.rounds == 2 && report.config.intervalsMilliseconds == [0.2, 2])

        let json = ReportRenderer.render(report, as: .json)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let results = try #require(object["results"] as? [[String: Any]])
        for key in ["policy", "cpu_threads", "switch_interval_ms", "latency_us", "lock_wait_us", "cpu_throughput_vs_alone",
                    "switches_per_s", "drop_requests_per_s", "handoff_share", "handoff_us_per_switch"] {
            #expect(results.allSatisfy { $0.keys.contains(key) }, "missing \(key)")
        }
        #expect(ReportRenderer.render(report, as: .table).contains("handoff_pct"))
        #expect(report.verdicts.count == 2)
        let chart = try #require(report.charts.first)
        #expect(report.charts.count == 1 && chart.name == "switch-interval-1cpu.svg")
        #expect(chart.svg.components(separatedBy: "<polyline").count - 1 == 2)  // one line per policy
        #expect(chart.svg.contains(">0.2</text>") && chart.svg.contains(">2</text>"))  // points labelled with their interval
    }

    @Test("bad plans are refused with the value named")
    func badPlans() {
        func problem(_ plan: SwitchIntervalPlan) -> String? {
            do throws(RunnerError) { try plan.validate() } catch {
                if case .invalidSetting(let bad) = error { return "\(bad.setting): \(error)" }
                return "\(error)"
            }
            return nil
        }
        #expect(problem(SwitchIntervalPlan()) == nil)
        #expect(problem(SwitchIntervalPlan(intervals: []))?.contains("no switch intervals") == true)
        #expect(problem(SwitchIntervalPlan(intervals: [.zero]))?.contains("0.0 seconds") == true)
        #expect(problem(SwitchIntervalPlan(intervals: [.seconds(2)]))?.contains("2.0 seconds") == true)
        #expect(problem(SwitchIntervalPlan(policies: [.free]))?.contains("'free' has no switch interval") == true)
        #expect(problem(SwitchIntervalPlan(policies: [.newGIL, .legacyGIL]))?.contains("'legacy-gil'") == true)
        #expect(problem(SwitchIntervalPlan(cpuThreads: [1, 0]))?.contains("got 0") == true)
        #expect(problem(SwitchIntervalPlan(samples: 0))?.contains("samples") == true)
        #expect(problem(SwitchIntervalPlan(latencyTarget: .zero))?.contains("latencyTarget") == true)
    }

    /// A report whose rows are given: (policy, interval ms, p99 µs, CPU ÷ alone); the wait for
    /// the lock is the whole latency, except under io-priority, where it is 0.
    static func report(_ rows: [(LockPolicy, Double, Double, Double)], target: Double = 1000) -> SwitchIntervalReport {
        let settings = SwitchIntervalSettings(intervalsMilliseconds: Array(Set(rows.map(\.1))).sorted(),
                                              policies: rows.map(\.0).reduce(into: []) { if !$0.contains($1) { $0.append($1) } },
                                              cpuThreads: [2], samples: 1, rounds: 1, warmup: 0, blockMicroseconds: 1000,
                                              latencyTargetMicroseconds: target, timerSlackMicroseconds: nil, interpreters: 1)
        return SwitchIntervalReport(machine: MachineInfo.current(), config: settings, results: rows.map { policy, interval, p99, cpu in
            SwitchIntervalResult(policy: policy, cpuThreads: 2, switchIntervalMilliseconds: interval, samples: 1,
                                 latencyMicroseconds: LatencyPercentiles(p50: p99 / 2, p99: p99, max: p99),
                                 lockWaitMicroseconds: policy == .ioPriority ? LatencyPercentiles(p50: 0, p99: 0, max: 0)
                                     : LatencyPercentiles(p50: p99 / 2, p99: p99, max: p99), cpuThroughputVersusAlone: cpu,
                                 cpuIterationsPerSecond: 1, switchesPerSecond: 1, dropRequestsPerSecond: 0, handoffShare: 0,
                                 handoffMicrosecondsPerSwitch: nil, truncated: false)
        })
    }

    @Test("the verdict names the largest interval within the target, its cost, and the 5 ms default beside it")
    func verdict() {
        let report = Self.report([
            (.newGIL, 0.1, 300, 0.90), (.newGIL, 0.5, 800, 0.95), (.newGIL, 5, 5_400, 0.99),
            (.ioPriority, 0.1, 1_500, 0.85), (.ioPriority, 5, 2_000, 0.97),
        ])
        let lines = Verdict.switchInterval(report)
        #expect(lines.count == 2)
        #expect(lines[0] == "new-gil, 2 CPU threads: the largest interval with p99 ≤ 1.0 ms is 0.5 ms (p99 800 µs, CPU 0.95× alone, lock in handoff 0.0% of the run); at CPython's 5 ms default, p99 5.4 ms, CPU 0.99× alone, lock in handoff 0.0% of the run")
        // Its lock waits are 0 (the test's rows), so by the wait alone the largest interval qualifies.
        #expect(lines[1].hasPrefix("io-priority, 2 CPU threads: no interval keeps p99 ≤ 1.0 ms; the lowest is at 0.1 ms (p99 1.5 ms"))
        #expect(lines[1].contains("by the wait for the lock alone (p99 0 µs), 5 ms"))
    }

    @Test("a scenario's report folder holds report.md, the JSON and the charts it links, report.md written last")
    func reportFolder() throws {
        let report = Self.report([(.newGIL, 0.1, 300, 0.90), (.newGIL, 5, 5_400, 0.99), (.ioPriority, 0.1, 150, 0.85)])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gillab-switch-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try ReportFolder.write(scenario: SwitchIntervalScenario.name, markdown: report.rendered(as: .markdown),
                                           json: ReportRenderer.json(report), machine: report.machine, command: "gillab report",
                                           charts: report.charts, to: directory)
        #expect(files == ["report.md", "switch-interval.json", "switch-interval-2cpu.svg"])
        let markdown = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.contains("](switch-interval-2cpu.svg)"))
        let svg = try String(contentsOf: directory.appendingPathComponent("switch-interval-2cpu.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<?xml") || svg.hasPrefix("<svg"))
        #expect(svg.contains("new-gil") && svg.contains("io-priority") && svg.contains("target p99 1 ms"))
    }

    @Test("the side-by-side verdict checks ±15% on p50 from 1 ms and explains the shorter intervals")
    func comparisonVerdict() {
        func row(_ interval: Double, _ cpython: Double, _ gillab: Double) -> SwitchIntervalComparisonRow {
            SwitchIntervalComparisonRow(switchIntervalMilliseconds: interval, cpuThreads: 1,
                                        cpython: LatencyPercentiles(p50: cpython, p99: cpython, max: cpython),
                                        gillab: LatencyPercentiles(p50: gillab, p99: gillab, max: gillab),
                                        cpythonCPUVersusAlone: 1, gillabCPUVersusAlone: 1)
        }
        let report = SwitchIntervalComparisonReport(machine: MachineInfo.current(), python: "3.11", policy: .newGIL, samples: 1,
                                                    points: [row(0.1, 100, 150), row(1, 1000, 1100), row(5, 5000, 6000)])
        let lines = Verdict.switchIntervalComparison(report)
        #expect(lines == ["1 CPU thread: at intervals ≥ 1 ms, GILLab's p50 is within ±15% of CPython's at 1 of 2 (GILLab ÷ CPython 1.10–1.20); below 1 ms, 1.50–1.50"])
        let json = ReportRenderer.render(report, as: .json)
        #expect(json.contains("\"p50_ratio\"") && json.contains("\"cpython_cpu_vs_alone\""))
        let decoded = try? JSONDecoder().decode(SwitchIntervalComparisonReport.self, from: Data(json.utf8))
        #expect(decoded?.points == report.points)
    }

    @Test("the side-by-side sweep runs both sides at each interval", .enabled(if: SwitchIntervalSweepTests.python != nil, "needs a python3"))
    func sideBySide() throws {
        let plan = SwitchIntervalComparisonPlan(python: try #require(SwitchIntervalSweepTests.python), script: SwitchIntervalSweepTests.script,
                                                intervals: [.milliseconds(1), .microseconds(300)], cpuThreads: [1], samples: 4)
        let report = try SwitchIntervalComparison.run(plan)
        #expect(report.points.map(\.switchIntervalMilliseconds) == [1, 0.3])
        for row in report.points {
            #expect(row.cpython.p50 >= 0 && row.gillab.p50 >= 0 && row.cpython.p50 <= row.cpython.p99)
            #expect(row.cpythonCPUVersusAlone > 0 && row.gillabCPUVersusAlone > 0)
        }
        #expect(report.python.hasPrefix("3."))
        #expect(report.verdicts.count == 1)
    }

    @Test("a side-by-side plan with a policy that has no interval, or no intervals, is refused by the CLI's names")
    func badComparisonPlans() {
        func problem(_ plan: SwitchIntervalComparisonPlan) -> String? {
            do throws(RunnerError) { try plan.validate() } catch {
                if case .invalidSetting(let bad) = error { return "\(bad.setting): \(error)" }
                return "\(error)"
            }
            return nil
        }
        #expect(problem(SwitchIntervalComparisonPlan(python: "python3", script: SwitchIntervalSweepTests.script)) == nil)
        #expect(problem(SwitchIntervalComparisonPlan(python: "python3", script: SwitchIntervalSweepTests.script, intervals: []))?
            .contains("switchIntervals") == true)
        #expect(problem(SwitchIntervalComparisonPlan(python: "python3", script: SwitchIntervalSweepTests.script,
                                                     lock: try! LockConfiguration(policy: .free)))?.contains("policy") == true)
        #expect(problem(SwitchIntervalComparisonPlan(python: "python3", script: "/nonexistent.py"))?.contains("/nonexistent.py") == true)
    }
}
