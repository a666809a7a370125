import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport

extension OpenBLASProcessWide {
    @Suite("compare-cpython's glue matching")
    struct GlueMatchTests {
        @Test("the pad is the glue gap over the cost of one iteration, never negative")
        func padArithmetic() {
            #expect(GlueMatch.padIterations(cpython: 5.4, gillab: 2.6, perIteration: 0.07) == 40)
            #expect(GlueMatch.padIterations(cpython: 2.0, gillab: 2.6, perIteration: 0.07) == 0)
            #expect(GlueMatch.padIterations(cpython: 5.4, gillab: 2.6, perIteration: 0) == 0)
            #expect(GlueMatch.padIterations(cpython: .infinity, gillab: 2.6, perIteration: 0.07) == 0)
        }

        @Test("a padded gemm-call unit computes what an unpadded one does, and the pad never releases")
        func paddedUnitsAgree() throws {
            var reports: [RunReport] = []
            for pad in [0, 500] {
                let workload = try CPythonComparison.gemmCall(size: 8, pad: pad)
                reports.append(try Runner.run(RunPlan(workload: .gemmCall, size: 8, units: 40, threads: [1, 2],
                                                      modes: [.serial, .hold, .release], repeats: 1), workload: workload))
            }
            #expect(Set(reports.flatMap { $0.results.map(\.checksum) }).count == 1)
            // 500 iterations of Python-level work per unit, all of it holding the lock: more
            // acquisitions would mean the pad released, which it must not.
            #expect(reports[0].results[0].lock.acquisitions == reports[1].results[0].lock.acquisitions)
        }
    }
}

@Suite("compare-cpython's switch-interval sweep")
struct SwitchIntervalSweepTests {
    /// The repository's `scripts/cpython_side.py`, found from this file.
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../scripts/cpython_side.py").standardized.path
    static let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("one row per interval, both sides measured at it; only the parts asked for run",
          .enabled(if: python != nil, "needs a python3"))
    func sweep() throws {
        let plan = CPythonComparisonPlan(python: try #require(Self.python), script: Self.script, repeats: 1,
                                         parts: [.switchInterval], switchIntervals: [.milliseconds(1), .milliseconds(2)],
                                         sweepSamples: 5)
        let report = try CPythonComparison.run(plan)
        #expect(report.rows.isEmpty && report.glue == nil)
        #expect(report.switchIntervalRows.map(\.switchIntervalMilliseconds) == [1, 2])
        for row in report.switchIntervalRows {
            #expect(row.cpythonP50Microseconds > 0 && row.gillabP50Microseconds > 0)
            #expect(row.cpythonP50Microseconds <= row.cpythonP99Microseconds && row.gillabP50Microseconds <= row.gillabP99Microseconds)
        }
        #expect(ReportRenderer.render(report, as: .table).contains("switch interval sweep"))
        #expect(ReportRenderer.render(report, as: .json).contains("\"switch_interval\""))
        #expect(Verdict.comparison(report)?.contains("every switch interval") == true)
    }

    @Test("bad sweeps are refused with the value named")
    func badPlans() {
        let plan = { (intervals: [Duration], samples: Int) in
            CPythonComparisonPlan(python: "python3", script: "", parts: [.switchInterval], switchIntervals: intervals, sweepSamples: samples)
        }
        #expect(throws: RunnerError.invalidSetting(InvalidSetting("switchIntervals", "no switch intervals given", subject: ""))) {
            try plan([], 10).validate()
        }
        #expect(throws: RunnerError.self) { try plan([.zero], 10).validate() }
        #expect(throws: RunnerError.invalidSetting(InvalidSetting("sweepSamples", "must be between 1 and 100000, got 0"))) {
            try plan([.milliseconds(1)], 0).validate()
        }
        #expect(throws: RunnerError.invalidSetting(InvalidSetting("parts", "no parts given", subject: ""))) {
            try CPythonComparisonPlan(python: "python3", script: "", parts: []).validate()
        }
    }
}
