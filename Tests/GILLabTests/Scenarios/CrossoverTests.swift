import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport

extension OpenBLASProcessWide {
    @Suite("Crossover and release threshold")
    struct CrossoverTests {
        @Test("the crossover is the smallest size from which every larger size releases faster")
        func crossoverRule() {
            func points(_ ratios: [(Int, Double)]) -> [CrossoverPoint] {
                ratios.map { CrossoverPoint(size: $0.0, releaseVersusHold: $0.1, holdSpeedup: 1, releaseSpeedup: $0.1) }
            }
            #expect(CrossoverScenario.crossover(points([(8, 0.5), (16, 1.2), (32, 0.9), (64, 1.5), (96, 1.9)])) == 64)
            #expect(CrossoverScenario.crossover(points([(8, 1.1), (16, 1.2)])) == 8)
            #expect(CrossoverScenario.crossover(points([(8, 0.5), (16, 0.9)])) == nil)
        }

        @Test("the scenario sweeps each kernel under new-gil and the fast handoff")
        func sweep() throws {
            var plan = CrossoverPlan(repeats: 1, secondsPerSize: 0.005)
            plan.sizes = [8, 16]
            let report = try CrossoverScenario.run(plan)
            #expect(report.results.map(\.policy) == ["new-gil", "new-gil+spin", "new-gil", "new-gil+spin"])
            #expect(report.results.allSatisfy { $0.points.map(\.size) == [8, 16] })
            let object = try #require(try JSONSerialization.jsonObject(
                with: Data(ReportRenderer.render(report, as: .json).utf8)) as? [String: Any])
            let first = try #require((object["results"] as? [[String: Any]])?.first)
            for key in ["kernel", "policy", "points"] { #expect(first[key] != nil, "\(key)") }
        }

        @Test("a release threshold above the size keeps dgemm holding; below it, dgemm releases")
        func threshold() throws {
            func acquisitions(_ threshold: Int?) throws -> UInt64 {
                var plan = RunPlan(workload: .gemm, size: 8, units: 20, threads: [1], modes: [.release], repeats: 1)
                plan.releaseThreshold = threshold
                return try #require(try Runner.run(plan).results.first { $0.mode == .release }).lock.acquisitions
            }
            #expect(try acquisitions(100) == 1)  // held through every dgemm
            #expect(try acquisitions(4) == 21)  // released around each of the 20
            #expect(try acquisitions(nil) == 21)
        }
    }
}

