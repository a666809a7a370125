#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

// When does releasing pay? Releasing the lock around a kernel lets another thread run, but each
// release hands the lock to a waiter, which costs a wake-up when the waiter sleeps. For tiny
// kernels the handoffs cost more than the parallelism gains. This scenario finds, per kernel
// and per lock variant, the smallest size from which `release` beats `hold` at 2 threads, with
// the same Python-level glue at every size.

/// A kernel the crossover scenario sweeps.
public enum CrossoverKernel: String, Sendable, Codable, CaseIterable {
    /// OpenBLAS dgemm, driven by the interpreter program of the `gemm` workload; size = n.
    case dgemm
    /// FNV-1a over a buffer, one checkpoint of glue per call (the `hash` workload); size = bytes.
    case fnv1a

    var workload: WorkloadKind { self == .dgemm ? .gemm : .hash }

    /// The sizes tried by default, smallest first.
    public var defaultSizes: [Int] {
        switch self {
        case .dgemm: [4, 8, 12, 16, 24, 32, 48, 64, 96]
        case .fnv1a: [64, 256, 1_024, 4_096, 16_384, 65_536]
        }
    }
}

/// What `gillab scenario crossover` runs.
public struct CrossoverPlan: Sendable, Equatable {
    /// Kernels to sweep.
    public var kernels: [CrossoverKernel]
    /// Threads of the hold and release rows.
    public var threads: Int
    /// The fast-handoff variant's spin (`--spin`); the other variant is `new-gil` as CPython has it.
    public var spin: Duration
    /// Counted runs per row, after one warm-up.
    public var repeats: Int
    /// Serial seconds of work per size, roughly.
    public var secondsPerSize: Double
    /// Sizes to try for every kernel instead of its ``CrossoverKernel/defaultSizes``.
    public var sizes: [Int]? = nil

    /// dgemm and fnv1a, 2 threads, a 50 µs spin, 3 repeats of about 0.1 s.
    public init(kernels: [CrossoverKernel] = CrossoverKernel.allCases, threads: Int = 2, spin: Duration = .microseconds(50),
                repeats: Int = 3, secondsPerSize: Double = 0.1) {
        self.kernels = kernels
        self.threads = threads
        self.spin = spin
        self.repeats = repeats
        self.secondsPerSize = secondsPerSize
    }

    /// Checks every setting.
    /// - Throws: ``RunnerError/invalidSetting(_:)`` naming the setting and the bad value.
    public func validate() throws(RunnerError) {
        guard !kernels.isEmpty else { throw .setting("kernels", "no kernels given", subject: "") }
        guard (2...64).contains(threads) else { throw .setting("threads", "must be between 2 and 64, got \(threads)") }
        guard spin > .zero, spin <= LockConfiguration.maximumSpin else {
            throw .setting("spin", "must be positive and at most \(LockConfiguration.maximumSpin), got \(spin)")
        }
        guard (1...50).contains(repeats) else { throw .setting("repeats", "must be between 1 and 50, got \(repeats)", subject: "repeat") }
        if let sizes, sizes.isEmpty || sizes.contains(where: { $0 < 1 }) {
            throw .setting("sizes", "must be at least 1, got \(sizes)")
        }
    }
}

/// One size of one sweep.
public struct CrossoverPoint: Sendable, Codable, Equatable {
    /// The kernel's size: matrix order for dgemm, bytes for fnv1a.
    public var size: Int
    /// Median wall of `hold` ÷ median wall of `release`: above 1, releasing pays.
    public var releaseVersusHold: Double
    /// `hold`'s and `release`'s speedups over one thread.
    public var holdSpeedup: Double
    /// `release`'s speedup over one thread.
    public var releaseSpeedup: Double

    enum CodingKeys: String, CodingKey {
        case size, releaseVersusHold = "release_vs_hold", holdSpeedup = "hold_speedup", releaseSpeedup = "release_speedup"
    }
}

/// One kernel under one lock variant.
public struct CrossoverResult: Sendable, Codable, Equatable {
    /// The kernel swept.
    public var kernel: CrossoverKernel
    /// `new-gil`, or `new-gil+spin` for the fast handoff.
    public var policy: String
    /// The waiter's spin before it sleeps, in microseconds; 0 for CPython's behaviour.
    public var spinMicroseconds: Double
    /// The smallest size from which releasing beats holding at every larger size tried; `nil`
    /// when it never does.
    public var crossoverSize: Int?
    /// Every size tried, smallest first.
    public var points: [CrossoverPoint]

    enum CodingKeys: String, CodingKey {
        case kernel, policy, spinMicroseconds = "spin_us", crossoverSize = "crossover_size", points
    }
}

/// What the scenario produced: `{"machine": …, "config": …, "results": […]}`.
public struct CrossoverReport: Sendable, Codable, Equatable {
    /// The machine the scenario ran on.
    public var machine: MachineInfo
    /// The scenario's settings.
    public var config: CrossoverSettings
    /// One sweep per kernel and lock variant.
    public var results: [CrossoverResult]
    /// Set when the run was stopped early: the kernels whose sweep was cut short are left out.
    public var interrupted: Bool? = nil
}

extension CrossoverReport: ScenarioReport {}
extension CrossoverPlan: ScenarioPlan {
    /// The defaults.
    public init() { self.init(kernels: CrossoverKernel.allCases) }
}

/// The settings, echoed into the report.
public struct CrossoverSettings: Sendable, Codable, Equatable {
    /// Threads of the hold and release rows.
    public var threads: Int
    /// Counted runs per row.
    public var repeats: Int
    /// The fast handoff's spin, in microseconds.
    public var spinMicroseconds: Double

    enum CodingKeys: String, CodingKey {
        case threads, repeats = "repeat", spinMicroseconds = "spin_us"
    }
}

/// The crossover scenario.
public enum CrossoverScenario: Scenario {
    public static let name = "crossover"
    public static let summary = "When releasing pays: the smallest kernel size from which release beats hold, per lock variant"

    /// Runs `plan`: for each kernel, each size under `new-gil` and under the fast handoff.
    /// - Parameters:
    ///   - plan: the kernels, sizes, threads and spin to measure.
    ///   - stop: ends the run inside the size in progress; the kernels swept whole are reported.
    ///   - progress: called before each point with (done, in all).
    /// - Throws: ``RunnerError``.
    public static func run(_ plan: CrossoverPlan, stop: StopRequest? = nil,
                           progress: (Int, Int) -> Void = { _, _ in }) throws(RunnerError) -> CrossoverReport {
        try plan.validate()
        let machine = MachineInfo.current()
        let variants: [(String, Duration)] = [("new-gil", .zero), ("new-gil+spin", plan.spin)]
        var results: [CrossoverResult] = []
        let sizes = { (kernel: CrossoverKernel) in plan.sizes ?? kernel.defaultSizes }
        let total = plan.kernels.reduce(0) { $0 + sizes($1).count } * variants.count
        var done = 0
        var interrupted = false
        kernels: for kernel in plan.kernels {
            var sweeps = variants.map { _ in [CrossoverPoint]() }
            for size in sizes(kernel) {
                // The two variants of a size run back to back, so that a drift of the machine
                // falls on both alike.
                for (index, variant) in variants.enumerated() {
                    if stop?.isRequested == true {
                        interrupted = true
                        break kernels
                    }
                    progress(done, total)
                    done += 1
                    let lock: LockConfiguration
                    do { lock = try LockConfiguration(spin: variant.1) } catch { throw .setting(error) }
                    let units = max(Int(Double(kernel.workload.defaultUnits(size: size)) * plan.secondsPerSize / 0.25), plan.threads * 4)
                    let report = try Runner.run(RunPlan(workload: kernel.workload, size: size, units: units, threads: [plan.threads],
                                                        modes: [.hold, .release], repeats: plan.repeats, lock: lock),
                                                stop: stop)
                    if report.interrupted == true {
                        interrupted = true
                        break kernels
                    }
                    guard let hold = report.results.first(where: { $0.mode == .hold }),
                          let release = report.results.first(where: { $0.mode == .release }) else { continue }
                    sweeps[index].append(CrossoverPoint(size: size, releaseVersusHold: hold.wall.median / release.wall.median,
                                                        holdSpeedup: hold.speedup, releaseSpeedup: release.speedup))
                }
            }
            for (index, variant) in variants.enumerated() {
                results.append(CrossoverResult(kernel: kernel, policy: variant.0,
                                               spinMicroseconds: Double(variant.1.wholeNanoseconds) / 1e3,
                                               crossoverSize: crossover(sweeps[index]), points: sweeps[index]))
            }
        }
        progress(total, total)
        let settings = CrossoverSettings(threads: plan.threads, repeats: plan.repeats,
                                         spinMicroseconds: Double(plan.spin.wholeNanoseconds) / 1e3)
        return CrossoverReport(machine: machine, config: settings, results: results, interrupted: interrupted ? true : nil)
    }

    /// The smallest size from which every point releases faster than it holds.
    static func crossover(_ points: [CrossoverPoint]) -> Int? {
        var answer: Int?
        for point in points.reversed() {
            guard point.releaseVersusHold > 1 else { break }
            answer = point.size
        }
        return answer
    }

    // MARK: - The measured threshold, kept for --release-threshold auto

    /// Saves `report` to `url` (its folder is made if missing), for ``savedThreshold(spin:from:)``.
    /// The file appears whole or not at all.
    public static func save(_ report: CrossoverReport, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try JSONEncoder().encode(report).write(to: url, options: .atomic)
    }

    /// The measured dgemm crossover for the lock's spin (fast handoff or not), from a report
    /// saved to `url`; `nil` when none is saved there or dgemm never crossed over.
    public static func savedThreshold(spin: Duration, from url: URL) -> Int? {
        guard let data = try? Data(contentsOf: url),
              let report = try? JSONDecoder().decode(CrossoverReport.self, from: data) else { return nil }
        let policy = spin > .zero ? "new-gil+spin" : "new-gil"
        return report.results.first { $0.kernel == .dgemm && $0.policy == policy }?.crossoverSize
    }
}
