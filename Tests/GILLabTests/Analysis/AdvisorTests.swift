import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport

extension OpenBLASProcessWide {
    @Suite("Advisor")
    struct AdvisorTests {
        static func shares(held: Double, kernel: Double, io: Double) -> TimeShares {
            var statistics = LockStatistics()
            statistics.totalHoldNanoseconds = UInt64(held * 1e9)
            statistics.releasedKernelNanoseconds = UInt64(kernel * 1e9)
            statistics.releasedIONanoseconds = UInt64(io * 1e9)
            return TimeShares(statistics, wallNanoseconds: 1_000_000_000, threads: 1)
        }

        static let profiles: [(Double, Double, Double, WorkloadClass, RecommendedStrategy)] = [
            (1.0, 0.0, 0.0, .cpuHoldingLock, .processes),  // countdown
            (0.02, 0.97, 0.0, .cpuReleased, .threadsRelease),  // gemm, release
            (0.01, 0.0, 0.98, .ioBound, .threads),  // io-sleep
            (0.09, 0.33, 0.58, .mixed, .hybrid),  // service
            (0.5, 0.5, 0.0, .mixed, .hybrid),
        ]

        @Test("each profile gets its class and strategy", arguments: profiles)
        func classify(held: Double, kernel: Double, io: Double, expected: WorkloadClass, strategy: RecommendedStrategy) {
            let one = Self.shares(held: held, kernel: kernel, io: io)
            let advice = Advisor.decide(workload: "w", size: nil, machine: MachineInfo.current(), threads: 2, one: one,
                                        many: one, measured: 1)
            #expect(advice.classification == expected)
            #expect(advice.recommendation == strategy)
            #expect(advice.predictedSpeedup >= 1 && advice.predictedSpeedup <= 2 + 1e-9)
        }

        @Test("Amdahl's prediction: all held is 1× on threads and the core count on processes")
        func predictions() {
            let machine = MachineInfo.current()
            let held = Advisor.decide(workload: "w", size: nil, machine: machine, threads: 2,
                                      one: Self.shares(held: 1, kernel: 0, io: 0), many: Self.shares(held: 1, kernel: 0, io: 0),
                                      measured: 1)
            #expect(abs(held.predictedThreadSpeedup - 1) < 1e-9)
            #expect(abs(held.predictedSpeedup - Double(min(2, machine.cores))) < 1e-9)
        }

        @Test("countdown, profiled, holds the lock; a long sleep is I/O; the JSON carries the contract")
        func profiled() throws {
            let countdown = try Advisor.advise(.workload(.countdown, size: 20_000), threads: 2, repeats: 1, units: 4)
            #expect(countdown.classification == .cpuHoldingLock)
            #expect(countdown.oneThread.releasedKernel == 0 && countdown.oneThread.releasedIO == 0)
            let sleep = try Advisor.advise(.workload(.ioSleep, size: 20_000), threads: 2, repeats: 1, units: 4)
            #expect(sleep.classification == .ioBound)
            let object = try #require(try JSONSerialization.jsonObject(
                with: Data(ReportRenderer.render(sleep, as: .json).utf8)) as? [String: Any])
            for key in ["classification", "recommendation", "predicted_speedup"] { #expect(object[key] != nil, "\(key)") }
        }
    }
}
