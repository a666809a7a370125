import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport

extension OpenBLASProcessWide {
    @Suite("Runner")
    struct RunnerTests {
        static let small: [(WorkloadKind, Int)] = [(.gemm, 24), (.gemmCall, 24), (.stencil, 40), (.mandelbrot, 32), (.hash, 4096), (.countdown, 20_000), (.pymatmul, 6), (.records, 40), (.ioSleep, 50), (.ioEcho, 64), (.ioFile, 512)]

        @Test("every mode and thread count computes the same checksum", arguments: small)
        func checksumsAgree(workload: WorkloadKind, size: Int) throws {
            let plan = RunPlan(workload: workload, size: size, units: 30, threads: [1, 2, 3], modes: Mode.allCases,
                               repeats: 2, lock: try LockConfiguration(switchInterval: .microseconds(200)),
                               workerExecutable: gillabExecutable)
            let report = try Runner.run(plan)
            #expect(report.results.count == 19)  // serial + (hold, release, free, eventloop, processes, hybrid) × 3
            #expect(report.results.filter { $0.mode == .free }.allSatisfy { $0.policy == .free })
            #expect(Set(report.results.map(\.checksum)).count == 1)
            let serial = try #require(report.results.first { $0.mode == .serial })
            #expect(serial.speedup == 1)
            for row in report.results {
                #expect(row.units == 30)
                #expect(row.wall.min <= row.wall.median && row.wall.median <= row.wall.max)
                // Under one lock holds never overlap; under free, or in separate processes, they
                // can, up to one per thread or process.
                let most = switch row.mode {
                case .processes: Double(row.threads)
                case .hybrid: Double(1 + plan.computeWorkers)  // the orchestrators' lock and each worker's
                default: row.policy == .free ? Double(row.threads) : 1
                }
                #expect((0...most + 1e-6).contains(row.lock.heldFraction))
                // Cores bound only work that computes; I/O-bound rows leave both figures out.
                if workload.isIOBound {
                    #expect(row.amdahlSpeedup == nil && row.efficiency == nil)
                } else {
                    let amdahl = try #require(row.amdahlSpeedup)
                    #expect(amdahl >= 1 && amdahl <= Double(row.threads) + 1e-9)
                    #expect(row.efficiency == row.speedup / Double(min(row.mode.osThreads(row.threads, computeWorkers: plan.computeWorkers), report.machine.cores)))
                }
            }
        }

        @Test("the checksum depends on the work, so a mismatch would be seen")
        func checksumDependsOnWork() throws {
            let a = try Runner.run(RunPlan(workload: .gemm, size: 16, units: 10, threads: [1], modes: [.serial], repeats: 1))
            let b = try Runner.run(RunPlan(workload: .gemm, size: 16, units: 11, threads: [1], modes: [.serial], repeats: 1))
            #expect(a.results[0].checksum != b.results[0].checksum)
        }

        @Test("every policy computes the same checksum", arguments: LockPolicy.allCases)
        func policies(policy: LockPolicy) throws {
            let plan = RunPlan(workload: .countdown, size: 50_000, units: 20, threads: [2],
                               lock: try LockConfiguration(policy: policy, switchInterval: .microseconds(200)))
            let report = try Runner.run(plan)
            #expect(Set(report.results.map(\.checksum)).count == 1)
            #expect(report.results.allSatisfy { $0.policy == policy })
        }

        @Test("BLAS threads are restored after a run")
        func blasRestored() throws {
            let before = BLAS.threads
            _ = try Runner.run(RunPlan(workload: .gemm, size: 8, units: 2, threads: [1], modes: [.serial], repeats: 1, blasThreads: 2))
            #expect(BLAS.threads == before)
        }

        @Test("JSON report carries the contract's fields")
        func jsonShape() throws {
            let report = try Runner.run(RunPlan(workload: .hash, size: 64, units: 4, threads: [2], repeats: 1))
            let text = ReportRenderer.render(report, as: .json)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let machine = try #require(object["machine"] as? [String: Any])
            for key in ["cores", "openblas_config", "openblas_corename", "swift_version"] { #expect(machine[key] != nil, "machine.\(key)") }
            #expect(object["config"] is [String: Any])
            let results = try #require(object["results"] as? [[String: Any]])
            let row = try #require(results.first)
            for key in ["workload", "size", "mode", "threads", "policy", "wall_s", "speedup", "efficiency",
                        "amdahl_speedup", "lock", "checksum"] {
                #expect(row[key] != nil, "result.\(key)")
            }
            let lock = try #require(row["lock"] as? [String: Any])
            for key in ["held_fraction", "switches", "drop_requests", "wait_s"] { #expect(lock[key] != nil, "lock.\(key)") }
            let wall = try #require(row["wall_s"] as? [String: Any])
            #expect(Set(wall.keys) == ["median", "min", "max"])
            #expect(ReportRenderer.render(report, as: .csv).split(separator: "\n").count == 1 + report.results.count)
            #expect(ReportRenderer.render(report, as: .markdown).contains("| ---"))
        }
    }
}

@Suite("Run plans")
struct RunPlanTests {
    @Test("bad plans are refused with the value named")
    func validation() {
        func message(_ plan: RunPlan) -> String? {
            do { try plan.validate(); return nil } catch { return error.description }
        }
        #expect(message(RunPlan(workload: .gemm, threads: [1, 0]))?.contains("got 0") == true)
        #expect(message(RunPlan(workload: .gemm, threads: [-3]))?.contains("-3") == true)
        #expect(message(RunPlan(workload: .gemm, size: 0))?.contains("got 0") == true)
        #expect(message(RunPlan(workload: .gemm, repeats: 0))?.contains("repeat") == true)
        #expect(message(RunPlan(workload: .gemm, units: -1))?.contains("-1") == true)
        #expect(message(RunPlan(workload: .gemm, blasThreads: 0))?.contains("BLAS") == true)
        #expect(message(RunPlan(workload: .gemm, modes: []))?.contains("modes") == true)
        #expect(message(RunPlan(workload: .gemm, size: 1_000_000, threads: [4]))?.contains("needs about") == true)
        #expect(message(RunPlan(workload: .gemm)) == nil)
    }

    @Test("serial always runs first, rows are not repeated")
    func rows() {
        let plan = RunPlan(workload: .gemm, threads: [1, 2, 2], modes: [.release, .hold])
        #expect(plan.rows.map(\.mode) == [.serial, .release, .release, .hold, .hold])
        #expect(plan.rows.map(\.threads) == [1, 1, 2, 1, 2])
    }

    @Test("summary statistics", arguments: [([3.0], 3.0), ([1.0, 9, 5], 5.0), ([4.0, 1, 3, 2], 2.5)] as [([Double], Double)])
    func summary(samples: [Double], median: Double) {
        let s = Summary(samples)
        #expect(s.median == median)
        #expect(s.min == samples.min())
        #expect(s.max == samples.max())
    }

    @Test("the noise warning names the unsteady row and stays quiet for steady ones")
    func noiseWarning() {
        func row(_ mode: Mode, _ min: Double, _ median: Double, _ max: Double) -> RunResult {
            var summary = Summary([median])
            (summary.min, summary.max) = (min, max)
            return RunResult(workload: "gemm", size: 8, units: 1, mode: mode, threads: 2, policy: .newGIL, wall: summary,
                             speedup: 1, efficiency: 0.5, amdahlSpeedup: 1,
                             lock: LockSummary(LockStatistics(), wallNanoseconds: 1), checksum: "0x0")
        }
        #expect(Verdict.noise([row(.serial, 0.99, 1.0, 1.01), row(.hold, 0.95, 1.0, 1.1)]) == nil)
        let warning = Verdict.noise([row(.serial, 0.99, 1.0, 1.01), row(.release, 0.5, 0.6, 0.9)])
        #expect(warning?.contains("release on 2 threads varied by 67%") == true, "\(warning ?? "nil")")
    }

    @Test("kernel-free workloads refuse a size below one")
    func workloadSize() {
        #expect(throws: WorkloadError.self) { try WorkloadKind.countdown.make(size: 0, units: 1) }
    }
}
