import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport

extension OpenBLASProcessWide {
    @Suite("Oversubscription")
    struct OversubscriptionTests {
        @Test("every cell computes the same result, the fix is marked, and OpenBLAS's thread count comes back")
        func grid() throws {
            let before = BLAS.threads
            let report = try OversubscriptionScenario.run(
                OversubscriptionPlan(appThreads: [1, 2], blasThreads: [1, 2], size: 32, units: 6, rounds: 1, cores: 2))
            #expect(BLAS.threads == before)
            #expect(report.results.count == 4)
            #expect(Set(report.results.map(\.checksum)).count == 1)
            #expect(report.results.filter(\.isFix).map { [$0.appThreads, $0.blasThreads] } == [[1, 2], [2, 1]])
            #expect(report.results.filter(\.oversubscribed).map { [$0.appThreads, $0.blasThreads] } == [[2, 2]])
            #expect(report.results.filter(\.isFix).allSatisfy { $0.versusFix == 1 })
            #expect(OversubscriptionPlan.fix(appThreads: 4, cores: 2) == 1)
            #expect(OversubscriptionPlan.fix(appThreads: 1, cores: 16) == 16)
        }
    }
}
