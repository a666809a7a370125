import Foundation
import GILLabInterpreter
import GILLabLock

// `gillab exec --compare-cpython`: the same program in GILLab and in the CPython on PATH, in
// one run. A program that imports only threading, time, math, queue and sys is valid CPython,
// so both run the very same file; with `--threads`, each thread count is given as the program's
// first argument and the speedups are compared.

/// What to compare.
public struct ProgramComparisonPlan: Sendable {
    /// The CPython to run.
    public var python: String
    /// The program's path (CPython reads it from there) and text (GILLab's copy).
    public var path: String
    public var source: String
    /// The program's arguments; with `threads`, each count goes first, before these.
    public var arguments: [String]
    /// Thread counts to pass as the first argument, the first of them the speedups' baseline;
    /// `nil`: one run with `arguments` as they are.
    public var threads: [Int]?
    /// Paired runs per row, GILLab and CPython alternating which goes first; medians reported.
    public var repeats: Int
    /// GILLab's lock.
    public var lock: LockConfiguration
    /// Stops a run that takes longer, on both sides.
    public var timeLimit: Duration

    /// Creates a plan.
    public init(python: String, path: String, source: String, arguments: [String] = [], threads: [Int]? = nil,
                repeats: Int = 3, lock: LockConfiguration = .default, timeLimit: Duration = .seconds(300)) {
        (self.python, self.path, self.source, self.arguments, self.threads) = (python, path, source, arguments, threads)
        (self.repeats, self.lock, self.timeLimit) = (repeats, lock, timeLimit)
    }

    /// Checks the settings.
    /// - Throws: ``RunnerError/invalidSetting(_:)`` naming the bad value.
    public func validate() throws(RunnerError) {
        guard (1...50).contains(repeats) else { throw .setting("repeats", "must be between 1 and 50, got \(repeats)", subject: "repeat") }
        if let threads {
            guard !threads.isEmpty, threads.allSatisfy({ (1...256).contains($0) }) else {
                throw .setting("threads", "must be counts between 1 and 256, got \(threads.map(String.init).joined(separator: ","))")
            }
        }
        try ProgramPlan(source: source, filename: path, lock: lock, timeLimit: timeLimit).validate()
    }
}

/// One row: the program at one thread count (or with its arguments as given), on both sides.
public struct ProgramComparisonRow: Sendable, Codable, Equatable {
    /// The thread count given as the first argument; `nil` without `--threads`.
    public var threads: Int?
    /// Median wall seconds.
    public var gillabSeconds: Double
    public var cpythonSeconds: Double
    /// The median over repeats of the first row's wall ÷ this row's in the same repeat, per side.
    public var gillabSpeedup: Double
    public var cpythonSpeedup: Double

    enum CodingKeys: String, CodingKey {
        case threads, gillabSeconds = "gillab_s", cpythonSeconds = "cpython_s"
        case gillabSpeedup = "gillab_speedup", cpythonSpeedup = "cpython_speedup"
    }
}

/// What the comparison found.
public struct ProgramComparisonReport: Sendable, Codable, Equatable {
    /// The program.
    public var file: String
    /// `python3 --version`'s version, as the CPython side reported it.
    public var cpythonVersion: String
    /// GILLab's policy.
    public var policy: LockPolicy
    /// Paired runs per row.
    public var repeats: Int
    /// One per thread count.
    public var rows: [ProgramComparisonRow]
    /// Whether both sides printed the same text in every run.
    public var outputsMatch: Bool
    /// The first line that differed, GILLab's then CPython's, when they did not.
    public var firstDifference: [String]?

    enum CodingKeys: String, CodingKey {
        case file, cpythonVersion = "cpython_version", policy, repeats, rows
        case outputsMatch = "outputs_match", firstDifference = "first_difference"
    }
}

/// Runs programs on both sides.
public enum ProgramComparison {
    /// The CPython side: runs the file as `__main__` with its arguments, joins every thread it
    /// left running (as the interpreter does at exit), and prints the wall time and the output.
    static let harness = """
        import contextlib, io, json, platform, runpy, sys, threading, time
        path = sys.argv[1]
        sys.argv = sys.argv[1:]
        sys.path.insert(0, __import__("os").path.dirname(path) or ".")
        buffer = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(buffer):
            runpy.run_path(path, run_name="__main__")
            for thread in threading.enumerate():
                if thread is not threading.main_thread():
                    thread.join()
        wall = time.perf_counter() - start
        json.dump({"wall": wall, "output": buffer.getvalue(), "version": platform.python_version()}, sys.__stdout__)
        """

    private struct CPythonRun: Decodable {
        var wall: Double
        var output: String
        var version: String
    }

    /// Runs the comparison: for each row, `repeats` pairs, alternating which side goes first.
    /// - Throws: ``RunnerError`` for a bad setting, a program GILLab rejects or that raises, or a
    ///   CPython side that fails.
    public static func run(_ plan: ProgramComparisonPlan, progress: (Int, Int) -> Void = { _, _ in }) throws(RunnerError) -> ProgramComparisonReport {
        try plan.validate()
        let counts: [Int?] = plan.threads ?? [nil]
        var gillab = Array(repeating: [Double](), count: counts.count)
        var cpython = Array(repeating: [Double](), count: counts.count)
        var version = ""
        var difference: [String]?
        let steps = plan.repeats * counts.count * 2
        var step = 0
        for repeatIndex in 0..<plan.repeats {
            for (row, count) in counts.enumerated() {
                let arguments = (count.map { ["\($0)"] } ?? []) + plan.arguments
                var outputs = ["", ""]
                for side in (repeatIndex % 2 == 0 ? [0, 1] : [1, 0]) {
                    progress(step, steps)
                    step += 1
                    if side == 0 {
                        let (seconds, output) = try runGILLab(plan, arguments)
                        gillab[row].append(seconds)
                        outputs[0] = output
                    } else {
                        let run = try runCPython(plan, arguments)
                        cpython[row].append(run.wall)
                        outputs[1] = run.output
                        version = run.version
                    }
                }
                if difference == nil, outputs[0] != outputs[1] {
                    let (a, b) = (outputs[0].split(separator: "\n", omittingEmptySubsequences: false),
                                  outputs[1].split(separator: "\n", omittingEmptySubsequences: false))
                    let index = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
                    difference = [index < a.count ? String(a[index]) : "(nothing)", index < b.count ? String(b[index]) : "(nothing)"]
                }
            }
        }
        let gillabMedians = gillab.map { Summary($0).median }
        let cpythonMedians = cpython.map { Summary($0).median }
        // A speedup is the median of each repeat's own ratio: a repeat's rows run back to back, so
        // a slow spell of the host falls on both sides of the ratio rather than on one median.
        func speedup(_ walls: [[Double]], _ index: Int) -> Double {
            Summary(zip(walls[0], walls[index]).map { $0 / max($1, 1e-9) }).median
        }
        let rows = counts.indices.map { index in
            ProgramComparisonRow(threads: counts[index], gillabSeconds: gillabMedians[index], cpythonSeconds: cpythonMedians[index],
                                 gillabSpeedup: speedup(gillab, index), cpythonSpeedup: speedup(cpython, index))
        }
        return ProgramComparisonReport(file: plan.path, cpythonVersion: version, policy: plan.lock.policy, repeats: plan.repeats,
                                       rows: rows, outputsMatch: difference == nil, firstDifference: difference)
    }

    private static func runGILLab(_ plan: ProgramComparisonPlan, _ arguments: [String]) throws(RunnerError) -> (Double, String) {
        var program = ProgramPlan(source: plan.source, filename: plan.path, lock: plan.lock, timeLimit: plan.timeLimit)
        program.arguments = arguments
        let output = Locked("")
        let run = try ProgramRunner.run(program, output: { text in output.withLock { $0 += text } }, errorOutput: { _ in })
        switch run.end {
        case .completed: return (run.wallSeconds, output.withLock { $0 })
        case .exception(let error), .rejected(let error): throw .failed("GILLab: \(error.oneLine)")
        case .interrupted, .timedOut: throw .failed("GILLab: the program did not finish within \(plan.timeLimit)")
        }
    }

    private static func runCPython(_ plan: ProgramComparisonPlan, _ arguments: [String]) throws(RunnerError) -> CPythonRun {
        let data = try CPythonComparison.runPython(plan.python, ["-c", harness, plan.path] + arguments, what: plan.path)
        do {
            return try JSONDecoder().decode(CPythonRun.self, from: data)
        } catch {
            throw .failed("the CPython side printed something other than its report: \(error)")
        }
    }
}
