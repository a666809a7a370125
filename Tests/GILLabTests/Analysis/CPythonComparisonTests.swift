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
