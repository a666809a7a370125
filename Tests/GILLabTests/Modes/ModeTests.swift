import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport

extension OpenBLASProcessWide {
    @Suite("Modes: one timed trial per mode")
    struct ModeTests {
        // Counted, not timed: held fractions of wall time move with scheduling (an ASan build on
        // a loaded machine once put hold below release), but the number of takes does not.
        @Test("hold keeps the lock during kernels; release gives it up around each one")
        func disciplineDecidesReleases() throws {
            let workload = try WorkloadKind.mandelbrot.make(size: 64, units: 40)
            for discipline in [CallDiscipline.hold, .release] {
                let outcome = try runTrial(workload: workload, units: 40, threads: 1, discipline: discipline,
                                           lock: LockConfiguration())
                // One take to start, then one more after each of the 40 kernel calls under release.
                #expect(outcome.lock.acquisitions == (discipline == .hold ? 1 : 41), "\(discipline)")
                #expect(outcome.perThread[0].acquisitions == outcome.lock.acquisitions)
            }
        }

        @Test("hybrid with a compute pool of releasing threads computes the serial checksum")
        func hybridRelease() throws {
            for workload in [WorkloadKind.gemm, .countdown, .ioSleep] {
                let report = try Runner.run(RunPlan(workload: workload, size: workload == .countdown ? 2_000 : 16,
                                                    units: 12, threads: [1, 3], modes: [.serial, .hybrid], repeats: 1,
                                                    compute: .release, computeWorkers: 2))
                #expect(Set(report.results.map(\.checksum)).count == 1, "\(workload)")
                #expect(report.results.filter { $0.mode == .hybrid }.allSatisfy { $0.processes == nil })
            }
        }

        @Test("eventloop runs T tasks on one thread, releasing the lock only around its waits")
        func eventLoopOneThread() throws {
            let plan = RunPlan(workload: .ioSleep, size: 500, units: 16, threads: [8], modes: [.serial, .eventloop], repeats: 1)
            let report = try Runner.run(plan)
            let row = try #require(report.results.first { $0.mode == .eventloop })
            #expect(row.lock.contendedAcquisitions == 0)  // one thread: nobody to contend with
            #expect(row.lock.acquisitions >= 2)  // it let go around at least one poll
            #expect(row.lock.switches <= 1)
            #expect(Set(report.results.map(\.checksum)).count == 1)
        }

        @Test("free: threads never wait; attaches that found another thread attached are counted, not waited")
        func freeNeverWaits() throws {
            let report = try Runner.run(RunPlan(workload: .countdown, size: 200_000, units: 8, threads: [2],
                                                modes: [.serial, .free], repeats: 1))
            let row = try #require(report.results.first { $0.mode == .free })
            #expect(row.lock.contendedAcquisitions == 0 && row.lock.waitSeconds == 0 && row.lock.dropRequests == 0)
            #expect(row.lock.acquisitions >= 2)  // each thread attached at least once
            #expect(row.lock.concurrentAcquisitions <= row.lock.acquisitions)
            #expect(Set(report.results.map(\.checksum)).count == 1)
        }

        @Test("eventloop on CPU-bound work computes the same result as serial")
        func eventLoopCPUBound() throws {
            let report = try Runner.run(RunPlan(workload: .countdown, size: 10_000, units: 8, threads: [4],
                                                modes: [.serial, .eventloop], repeats: 1))
            #expect(Set(report.results.map(\.checksum)).count == 1)
        }
    }
}
