// BLAS oversubscription, measured. App threads that each call a multithreaded OpenBLAS ask for
// app × BLAS threads; past the core count they only take turns, and pay for it in context
// switches and in OpenBLAS's spinning workers. The fix is threadpoolctl's, done in-process:
// BLAS threads = max(1, cores ÷ app threads).

/// What `gillab scenario oversubscription` runs.
public struct OversubscriptionPlan: Sendable, Equatable {
    /// App thread counts (threads calling dgemm, lock released around it).
    public var appThreads: [Int]
    /// OpenBLAS thread counts.
    public var blasThreads: [Int]
    /// Matrix order of each dgemm.
    public var size: Int
    /// Total dgemm calls per cell, split across the app threads; `nil` picks about half a second
    /// on one thread.
    public var units: Int?
    /// Rounds over the grid, alternating order; each cell reports its median.
    public var rounds: Int
    /// Cores the fix divides; the machine's online cores by default.
    public var cores: Int

    /// The standard grid: app {1, 2, 4} × BLAS {1, 2, 4}, gemm at n = 256.
    public init(appThreads: [Int] = [1, 2, 4], blasThreads: [Int] = [1, 2, 4], size: Int = 256, units: Int? = nil,
                rounds: Int = 5, cores: Int = MachineInfo.onlineCores) {
        self.appThreads = appThreads
        self.blasThreads = blasThreads
        self.size = size
        self.units = units
        self.rounds = rounds
        self.cores = cores
    }

    /// The BLAS thread count that keeps app × BLAS within the cores.
    public static func fix(appThreads: Int, cores: Int) -> Int { max(1, cores / max(appThreads, 1)) }

    /// Checks every setting.
    /// - Throws: ``RunnerError/invalidSetting(_:)`` naming the setting and the bad value.
    public func validate() throws(RunnerError) {
        guard !appThreads.isEmpty else { throw .setting("appThreads", "no app thread counts given", subject: "") }
        guard !blasThreads.isEmpty else { throw .setting("blasThreads", "no BLAS thread counts given", subject: "") }
        if let bad = appThreads.first(where: { !(1...256).contains($0) }) {
            throw .setting("appThreads", "must be between 1 and 256, got \(bad)")
        }
        if let bad = blasThreads.first(where: { !(1...256).contains($0) }) {
            throw .setting("blasThreads", "must be between 1 and 256, got \(bad)", subject: "BLAS threads")
        }
        guard (1...4096).contains(size) else { throw .setting("size", "must be between 1 and 4096, got \(size)") }
        if let units, units < 1 { throw .setting("units", "must be at least 1, got \(units)") }
        guard (1...100).contains(rounds) else { throw .setting("rounds", "must be between 1 and 100, got \(rounds)") }
        guard cores >= 1 else { throw .setting("cores", "must be at least 1, got \(cores)") }
    }

    var resolvedUnits: Int { units ?? 2 * WorkloadKind.gemm.defaultUnits(size: size) }
}

/// One cell of the grid.
public struct OversubscriptionResult: Sendable, Codable, Equatable {
    /// Threads calling dgemm.
    public var appThreads: Int
    /// OpenBLAS threads per call.
    public var blasThreads: Int
    /// app × BLAS threads asked for.
    public var threadsAsked: Int
    /// More threads asked for than there are cores.
    public var oversubscribed: Bool
    /// This cell's BLAS count is the fix for its app count.
    public var isFix: Bool
    /// Wall time over the rounds, in seconds.
    public var wall: Summary
    /// Median wall of (1 app, 1 BLAS) ÷ this cell's.
    public var speedup: Double
    /// This cell's median wall ÷ the fix's for the same app count: above 1 is a slowdown.
    public var versusFix: Double
    /// The wrapping sum of the unit digests; equal in every cell, or the run fails.
    public var checksum: String

    enum CodingKeys: String, CodingKey {
        case appThreads = "app_threads", blasThreads = "blas_threads", threadsAsked = "threads_asked", oversubscribed
        case isFix = "is_fix", wall = "wall_s", speedup, versusFix = "vs_fix", checksum
    }
}

/// The settings, echoed into the report.
public struct OversubscriptionSettings: Sendable, Codable, Equatable {
    /// Matrix order of each dgemm.
    public var size: Int
    /// dgemm calls per cell, split across the app threads.
    public var units: Int
    /// Counted rounds over the grid completed, after one warm-up: fewer when stopped early.
    public var rounds: Int
    /// Cores the fix divides.
    public var cores: Int
    /// OpenBLAS's thread count before the scenario, restored after every cell.
    public var blasThreadsBefore: Int

    enum CodingKeys: String, CodingKey {
        case size, units, rounds, cores, blasThreadsBefore = "blas_threads_before"
    }
}

/// What the scenario produced: `{"machine": …, "config": …, "results": […]}`.
public struct OversubscriptionReport: Sendable, Codable, Equatable {
    /// What the machine was.
    public var machine: MachineInfo
    /// The settings.
    public var config: OversubscriptionSettings
    /// One cell per (app, BLAS), app-major.
    public var results: [OversubscriptionResult]
    /// Set when the run was stopped early: the cells cover the rounds completed by then.
    public var interrupted: Bool? = nil
}

extension OversubscriptionReport: ScenarioReport {}
extension OversubscriptionPlan: ScenarioPlan {
    /// The defaults.
    public init() { self.init(appThreads: [1, 2, 4]) }
}

/// The oversubscription grid.
public enum OversubscriptionScenario: Scenario {
    public static let name = "oversubscription"
    public static let summary = "BLAS oversubscription: app threads × OpenBLAS threads on gemm, and the fix"

    /// Runs `plan`, restoring OpenBLAS's thread count after every cell, also when one fails.
    /// - Parameters:
    ///   - plan: the app and BLAS thread counts, the size and the rounds.
    ///   - stop: ends the run after the cell in progress, with the rounds completed.
    ///   - progress: called before each cell with (done, in all).
    /// - Throws: ``RunnerError``; a checksum that differs between cells fails the run.
    public static func run(_ plan: OversubscriptionPlan, stop: StopRequest? = nil,
                           progress: (Int, Int) -> Void = { _, _ in }) throws(RunnerError) -> OversubscriptionReport {
        try plan.validate()
        let machine = MachineInfo.current()
        let before = BLAS.threads
        let units = plan.resolvedUnits
        let workload: any Workload
        do { workload = try WorkloadKind.gemm.make(size: plan.size, units: units) } catch { throw .workload(error) }
        var cells: [(app: Int, blas: Int)] = []
        for app in plan.appThreads {
            for blas in plan.blasThreads where !cells.contains(where: { $0 == (app, blas) }) { cells.append((app, blas)) }
        }
        // Each app count's fix is run too, so that every row has its comparison.
        for app in plan.appThreads {
            let fix = OversubscriptionPlan.fix(appThreads: app, cores: plan.cores)
            if !cells.contains(where: { $0 == (app, fix) }) { cells.append((app, fix)) }
        }
        if !cells.contains(where: { $0 == (1, 1) }) { cells.insert((1, 1), at: 0) }

        var walls = Array(repeating: [Double](), count: cells.count)
        var checksum: UInt64?
        let whole = try interleavedRounds(plan.rounds + 1, over: cells.count, stop: stop,
                                          progress: progress) { (round, index) throws(RunnerError) in
            let cell = cells[index]
            let outcome: TrialOutcome
            do throws(WorkloadError) {
                outcome = try BLAS.withThreads(cell.blas) { () throws(WorkloadError) in
                    try runTrial(workload: workload, units: units, threads: cell.app, discipline: .release, lock: .default)
                }
            } catch {
                throw .workload(error)
            }
            if let checksum, checksum != outcome.checksum {
                throw .checksumMismatch(mode: .release, threads: cell.app, expected: hex(checksum), actual: hex(outcome.checksum))
            }
            checksum = outcome.checksum
            if round > 0 { walls[index].append(Double(outcome.wallNanoseconds) / 1e9) }  // round 0 warms up
        }
        // Only whole rounds count, so that every cell has as many.
        let completed = max(whole - 1, 0)
        let settings = OversubscriptionSettings(size: plan.size, units: units, rounds: completed, cores: plan.cores,
                                                blasThreadsBefore: before)
        guard completed > 0 else {
            return OversubscriptionReport(machine: machine, config: settings, results: [], interrupted: true)
        }
        walls = walls.map { Array($0.prefix(completed)) }

        let medians = walls.map { Summary($0).median }
        let baseline = medians[cells.firstIndex { $0 == (1, 1) }!]
        let results = cells.indices.map { index in
            let (app, blas) = cells[index]
            let fix = OversubscriptionPlan.fix(appThreads: app, cores: plan.cores)
            let fixWall = medians[cells.firstIndex { $0 == (app, fix) }!]
            return OversubscriptionResult(
                appThreads: app, blasThreads: blas, threadsAsked: app * blas, oversubscribed: app * blas > plan.cores,
                isFix: blas == fix, wall: Summary(walls[index]), speedup: baseline / medians[index],
                versusFix: medians[index] / fixWall, checksum: hex(checksum ?? 0))
        }.sorted { ($0.appThreads, $0.blasThreads) < ($1.appThreads, $1.blasThreads) }
        return OversubscriptionReport(machine: machine, config: settings, results: results,
                                      interrupted: completed < plan.rounds ? true : nil)
    }
}
