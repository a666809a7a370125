import Foundation
import Testing
@testable import GILLab
import GILLabLock

/// What a newcomer reads: tables that fit 100 columns, a legend, verdicts about every mode,
/// impossible speedups flagged, warnings that name their row, figures left out where they mean
/// nothing.
@Suite("Report: readable output")
struct ReadableOutputTests {
    /// A row with every figure given; the widest names and numbers a run prints.
    static func row(_ workload: WorkloadKind, size: Int = 20_000_000, _ mode: Mode, threads: Int, speedup: Double,
                    wall: Double = 12_345.678, io: Bool = false) -> RunResult {
        RunResult(workload: workload.rawValue, size: size, units: 64, mode: mode, threads: threads, policy: .newGIL,
                  wall: Summary([wall]), speedup: speedup, efficiency: io ? nil : speedup / Double(min(threads, 2)),
                  amdahlSpeedup: io ? nil : 1.99, lock: LockSummary(LockStatistics(), wallNanoseconds: 1),
                  checksum: "0x07f5c1ed36e3a2e0")
    }

    static let everyMode: [RunResult] = [
        row(.mandelbrot, .serial, threads: 1, speedup: 1), row(.mandelbrot, .hold, threads: 16, speedup: 0.93),
        row(.mandelbrot, .release, threads: 16, speedup: 1.9), row(.mandelbrot, .free, threads: 16, speedup: 1.92),
        row(.mandelbrot, .eventloop, threads: 16, speedup: 0.99), row(.mandelbrot, .processes, threads: 16, speedup: 1.6),
        row(.mandelbrot, .hybrid, threads: 16, speedup: 1.7),
    ]

    @Test("a run's table fits 100 columns, legend included; --wide shows every column")
    func narrowTable() {
        let table = ReportRenderer.table(Self.everyMode)
        for line in table.split(separator: "\n") {
            #expect(line.count <= ReportRenderer.tableWidth, "\(line.count): \(line)")
        }
        let header = table.split(separator: "\n")[0].split(separator: " ").map(String.init)
        #expect(header == ReportRenderer.narrowColumns)
        #expect(table.contains("speedup: median of per-round serial ÷ row times"))
        #expect(table.contains("checksum 0x07f5c1ed36e3a2e0 in every row"))
        let wide = ReportRenderer.table(Self.everyMode, wide: true)
        #expect(wide.split(separator: "\n")[0].split(separator: " ").map(String.init) == ReportRenderer.columns)
    }

    @Test("I/O-bound rows leave efficiency and amdahl out: — in tables, null in JSON")
    func undefinedForIO() throws {
        let rows = [Self.row(.ioSleep, size: 1000, .serial, threads: 1, speedup: 1, io: true),
                    Self.row(.ioSleep, size: 1000, .release, threads: 16, speedup: 15.3, io: true)]
        let table = ReportRenderer.table(rows, wide: true)
        let cells = table.split(separator: "\n")[2].split(separator: " ").map(String.init)
        #expect(cells[8] == "—" && cells[9] == "—", "\(cells)")
        #expect(table.contains("—: undefined for I/O-bound rows"))
        let json = ReportRenderer.json(rows[1])
        #expect(json.contains("\"efficiency\" : null") && json.contains("\"amdahl_speedup\" : null"), "\(json)")
        let decoded = try JSONDecoder().decode(RunResult.self, from: Data(json.utf8))
        #expect(decoded == rows[1])
    }

    @Test("the verdict names every mode in the run")
    func verdictNamesEveryMode() throws {
        let parts = try #require(Verdict.scalingParts(Self.everyMode, cores: 2)).parts
        #expect(parts.count == 6, "\(parts)")
        for phrase in ["holding the lock", "releasing the lock", "no lock (free)", "event loop", "processes", "hybrid"] {
            #expect(parts.contains { $0.hasPrefix(phrase) }, "\(phrase) missing from \(parts)")
        }
        let lines = try #require(Verdict.scalingLines(Self.everyMode, cores: 2))
        #expect(lines.hasPrefix("verdict: mandelbrot size 20000000\n  holding the lock: 0.93× on 16 threads"), "\(lines)")
    }

    @Test("a speedup more than 5% above what the cores allow is flagged as a measurement problem")
    func impossibleSpeedup() throws {
        let serial = Self.row(.gemm, size: 512, .serial, threads: 1, speedup: 1)
        let flagged = try #require(Verdict.scaling([serial, Self.row(.gemm, size: 512, .release, threads: 2, speedup: 2.11)], cores: 2))
        #expect(flagged.contains("above the 2.00× possible with 2 cores: a measurement problem"), "\(flagged)")
        #expect(flagged.contains("--repeat"))
        let near = try #require(Verdict.scaling([serial, Self.row(.gemm, size: 512, .release, threads: 2, speedup: 2.08)], cores: 2))
        #expect(near.contains("(scales; 4% above the 2.00× possible, within noise"), "\(near)")
        let fine = try #require(Verdict.scaling([serial, Self.row(.gemm, size: 512, .release, threads: 2, speedup: 1.99)], cores: 2))
        #expect(fine.contains("(scales)"), "\(fine)")
        // Threads that wait are bounded by their number, not by the cores.
        let io = try #require(Verdict.scaling([Self.row(.ioSleep, size: 1000, .serial, threads: 1, speedup: 1, io: true),
                                               Self.row(.ioSleep, size: 1000, .release, threads: 16, speedup: 15.4, io: true)], cores: 2))
        #expect(io.contains("15.40× on 16 threads (scales)"), "\(io)")
        // An event loop computes on one thread: a little over 1× is noise, not scaling.
        let loop = try #require(Verdict.scaling([serial, Self.row(.gemm, size: 512, .eventloop, threads: 4, speedup: 1.03)], cores: 2))
        #expect(loop.contains("1.03× with 4 tasks on one thread (one thread computes: nothing to gain)"), "\(loop)")
    }

    @Test("the noise warning names the workload, size, mode and thread count, in the singular for one")
    func noiseNamesRow() throws {
        var noisy = Self.row(.gemm, size: 512, .release, threads: 1, speedup: 1)
        (noisy.wall.min, noisy.wall.median, noisy.wall.max) = (0.5, 0.6, 0.9)
        let warning = try #require(Verdict.noise([Self.row(.gemm, size: 512, .serial, threads: 1, speedup: 1), noisy]))
        #expect(warning.hasPrefix("warning: gemm size 512, release on 1 thread varied by 67%"), "\(warning)")
    }

    @Test("counts read in the singular for one")
    func singular() {
        #expect(counted(1, "counted run") == "1 counted run" && counted(2, "thread") == "2 threads")
        let settings = RunSettings(workload: "gemm", size: 8, units: 2, threads: [1], modes: [.serial], repeats: 1, warmup: 1,
                                   blasThreads: 1, policy: .newGIL, switchIntervalSeconds: 0.005, interpreters: 1)
        #expect(ReportRenderer.configLine(settings).contains("1 counted run after"))
    }

    @Test("scenario tables fit 100 columns without --wide and say which columns --wide adds")
    func scenarioTables() throws {
        let report = try ConvoyScenario.run(ConvoyPlan(policies: [.newGIL, .perInterpreter], cpuThreads: [0, 1], samples: 5, rounds: 1))
        let table = report.rendered(as: .table, wide: false)
        let rows = table.split(separator: "\n").drop { !$0.hasPrefix("policy") }.prefix(3)
        #expect(rows.count == 3)
        for line in rows { #expect(line.count <= ReportRenderer.tableWidth, "\(line.count): \(line)") }
        #expect(table.contains("more columns with --wide: samples, lock_max_us, cpu_Mit_per_s"), "\(table)")
        #expect(report.rendered(as: .table, wide: true).contains("io_req_per_s"))
        #expect(report.rendered(as: .csv, wide: false).contains("io_req_per_s"))  // CSV keeps every field
    }

    @Test("lock statistics print as words, leaving out what does not apply")
    func statisticsDescription() {
        var lock = LockStatistics()
        lock.acquisitions = 412
        lock.contendedAcquisitions = 37
        lock.totalHoldNanoseconds = 210_314_000
        lock.maxWaitNanoseconds = 5_004_999
        #expect(lock.description.hasPrefix("acquisitions 412 (37 waited), switches 0\nheld 210.31 ms; waited 0.00 ms in all, longest 5.00 ms"),
                "\(lock.description)")
        #expect(!lock.description.contains("released") && !lock.description.contains("io-priority"))
        var thread = lock
        thread.lifetimeNanoseconds = 300_000_000
        thread.releasedNanoseconds = 90_000_000
        thread.releasedKernelNanoseconds = 90_000_000
        #expect(thread.description.contains("released 90.00 ms of a 300.00 ms life: 90.00 ms in kernels, 0.00 ms in I/O"))
    }
}
