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
    }
}
