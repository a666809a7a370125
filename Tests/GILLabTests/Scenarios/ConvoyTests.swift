import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport

@Suite("Convoy scenario")
struct ConvoyTests {
    @Test("runs every configuration, pools samples over rounds, and reports the contract's JSON fields")
    func smallRun() throws {
        let plan = ConvoyPlan(policies: [.newGIL, .ioPriority, .free], cpuThreads: [0, 1], samples: 6, rounds: 2,
                              block: .microseconds(200), lock: try LockConfiguration(switchInterval: .milliseconds(1)))
        let report = try ConvoyScenario.run(plan)
        #expect(report.results.count == 6)
        for row in report.results {
            #expect(row.samples == 12)
            #expect(!row.truncated)
            let latency = row.latencyMicroseconds
            #expect(latency.p50 >= 0 && latency.p50 <= latency.p99 && latency.p99 <= latency.max)
            #expect((row.cpuIterationsPerSecond == nil) == (row.cpuThreads == 0))
            #expect(row.ioRequestsPerSecond > 0)
        }
        // The baseline's ratio to itself is exactly 1.
        let baseline = try #require(report.results.first { $0.policy == .newGIL && $0.cpuThreads == 1 })
        #expect(baseline.cpuThroughputVersusNewGIL == 1)
        // Beside a CPU thread, io-priority's returning I/O thread asks at once.
        let priority = try #require(report.results.first { $0.policy == .ioPriority && $0.cpuThreads == 1 })
        #expect(priority.lock.priorityRequests > 0)

        let json = ReportRenderer.render(report, as: .json)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let results = try #require(object["results"] as? [[String: Any]])
        for key in ["policy", "cpu_threads", "latency_us", "samples", "io_requests_per_s", "lock", "truncated"] {
            #expect(results.allSatisfy { $0.keys.contains(key) }, "missing \(key)")
        }
        // CPU throughput only where there are CPU threads.
        #expect(results.filter { $0.keys.contains("cpu_iterations_per_s") }.count == 3)
        let latency = try #require(results[0]["latency_us"] as? [String: Any])
        #expect(Set(latency.keys) == ["p50", "p99", "max"])
        #expect(ReportRenderer.render(report, as: .table).contains("io-priority"))
        #expect(!Verdict.convoy(report, cpuThreads: 1).isEmpty)
    }

    @Test("several I/O threads: samples pool over them, and the CPU rows give throughput against alone and the longest wait")
    func severalIOThreads() throws {
        let plan = ConvoyPlan(policies: [.ioPriority, .perInterpreter], cpuThreads: [0, 1], ioThreads: 3, samples: 5, rounds: 1,
                              block: .microseconds(100), lock: try LockConfiguration(switchInterval: .milliseconds(1)))
        let report = try ConvoyScenario.run(plan)
        #expect(report.config.ioThreads == 3)
        for row in report.results {
            #expect(row.samples == 15)
            #expect((row.cpuThroughputVersusAlone == nil) == (row.cpuThreads == 0))
            #expect((row.cpuMaxWaitMicroseconds == nil) == (row.cpuThreads == 0))
            if let ratio = row.cpuThroughputVersusAlone { #expect(ratio > 0) }
        }
        let json = ReportRenderer.render(report, as: .json)
        #expect(json.contains("\"cpu_throughput_vs_alone\"") && json.contains("\"cpu_max_wait_us\"") && json.contains("\"io_threads\""))
        #expect(ReportRenderer.render(report, as: .table).contains("3 I/O threads each block"))
    }

    @Test("per-interpreter's verdict names the CPU threads that share an interpreter with an I/O thread (thread i in i mod K)")
    func perInterpreterVerdict() throws {
        let settings = { (io: Int) in
            ConvoySettings(policies: [.perInterpreter], cpuThreads: [1, 2], ioThreads: io, samples: 1, rounds: 1, warmup: 0,
                           blockMicroseconds: 1000, switchIntervalSeconds: 0.005, checkInterval: 100, interpreters: 2,
                           timerSlackMicroseconds: nil)
        }
        let row = { (cpu: Int) in
            ConvoyResult(policy: .perInterpreter, cpuThreads: cpu, samples: 1,
                         latencyMicroseconds: LatencyPercentiles(p50: 1, p99: 1, max: 1),
                         lockWaitMicroseconds: LatencyPercentiles(p50: 1, p99: 1, max: 1), cpuIterationsPerSecond: 1,
                         ioRequestsPerSecond: 1, lock: LockStatistics(), truncated: false)
        }
        let machine = MachineInfo.current()
        // One I/O thread (interpreter 0): cpu-0 is in 1, cpu-1 in 0 with the I/O thread.
        let report = ConvoyReport(machine: machine, config: settings(1), results: [row(1), row(2)])
        #expect(Verdict.convoy(report, cpuThreads: 1)[0].contains("never waits"))
        #expect(Verdict.convoy(report, cpuThreads: 2)[0].contains("cpu-1 shares an interpreter"))
    }

    @Test("a configuration that cannot finish in time stops and says so")
    func timeLimit() throws {
        let plan = ConvoyPlan(policies: [.newGIL], cpuThreads: [1], samples: 10_000, rounds: 1,
                              block: .microseconds(100), timeLimit: .milliseconds(200))
        let report = try ConvoyScenario.run(plan)
        #expect(report.results[0].truncated)
        #expect(report.results[0].samples < 10_000)
    }

    @Test("bad plans are refused with the value named")
    func badPlans() {
        #expect(throws: RunnerError.invalidSetting(InvalidSetting("samples", "must be between 1 and 1000000, got 0"))) {
            try ConvoyPlan(samples: 0).validate()
        }
        #expect(throws: RunnerError.invalidSetting(InvalidSetting("cpuThreads", "must be between 0 and 64, got -1", subject: "CPU threads"))) {
            try ConvoyPlan(cpuThreads: [0, -1]).validate()
        }
        #expect(throws: RunnerError.invalidSetting(InvalidSetting("policies", "no policies given", subject: ""))) { try ConvoyPlan(policies: []).validate() }
        #expect(throws: RunnerError.invalidSetting(InvalidSetting("ioThreads", "must be between 1 and 64, got 0", subject: "I/O threads"))) {
            try ConvoyPlan(ioThreads: 0).validate()
        }
    }
}
