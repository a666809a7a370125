import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport

extension OpenBLASProcessWide {
    @Suite("Service scenario", .timeLimit(.minutes(2)))
    struct ServiceTests {
        @Test("every strategy answers every request as the serial reference does", arguments: HybridCompute.allCases)
        func strategiesAgree(compute: HybridCompute) throws {
            let plan = ServicePlan(requests: 24, concurrency: 3, fetchDelay: .microseconds(200), size: 32, lines: 4,
                                   rounds: 1, compute: compute, computeWorkers: 2, workerExecutable: gillabExecutable)
            let report = try ServiceScenario.run(plan)
            #expect(report.results.map(\.strategy) == ServiceStrategy.allCases)
            for row in report.results {
                #expect(row.responsesChecked == 24)
                #expect(row.throughputRPS > 0)
                #expect(row.latencyMicroseconds.p50 <= row.latencyMicroseconds.p99)
                #expect(row.residentBytes > 0)
            }
            let hybrid = try #require(report.results.first { $0.strategy == .hybrid })
            #expect(compute == .release ? hybrid.processes == 0 && hybrid.threads == 5 : hybrid.processes == 2)
            #expect(workerChildren().isEmpty)
        }

        @Test("the reference answers differ by request, so a wrong answer would be caught")
        func referenceDependsOnRequest() throws {
            let digests = try ServiceScenario.reference(ServicePlan(requests: 16, size: 16, lines: 4))
            #expect(Set(digests).count == 16)
        }
    }
}
