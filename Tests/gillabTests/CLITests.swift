import ArgumentParser
import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport
@testable import gillab

@Suite("CLI usage errors")
struct CLITests {
    /// Each bad command line and a fragment the one-line error must contain (the bad value).
    static let badInputs: [([String], String)] = [
        (["run", "--threads", "0"], "got 0"),
        (["run", "--threads", "-2"], "-2"),
        (["run", "--threads", "two"], "'two'"),
        (["run", "--threads", "two"], "expected comma-separated whole numbers, such as 1,2,4"),
        (["run", "--threads", "1,,2"], "'1,,2'"),
        (["run", "--size", "0"], "got 0"),
        (["run", "--size", "-5"], "-5"),
        (["run", "--size", "100000", "--threads", "64"], "needs about"),
        (["run", "--units", "0"], "got 0"),
        (["run", "--repeat", "0"], "got 0"),
        (["run", "--blas-threads", "0"], "got 0"),
        (["run", "--workload", "fibonacci"], "'fibonacci'"),
        (["run", "--workload", "fibonacci"], "one of 'gemm', 'gemm-call', 'stencil', 'mandelbrot', 'hash', 'countdown'"),  // the valid ones, on the line
        (["run", "--modes", "serial,turbo"], "'turbo'"),
        (["run", "--policy", "gil-2000"], "'gil-2000'"),
        (["run", "--format", "yaml"], "'yaml'"),
        (["run", "--switch-interval", "5xs"], "'5xs'"),
        (["run", "--switch-interval", "0ms"], "'0ms'"),
        (["run", "--switch-interval", "2h"], "'2h'"),
        (["run", "--switch-interval", "7200s"], "'7200s'"),
        (["run", "--check-interval", "0"], "got 0"),
        (["run", "--check-interval", "-7"], "-7"),
        (["run", "--interpreters", "0"], "got 0"),
        (["run", "--workload", "io-echo", "--size", "70000"], "got 70000"),
        (["showcase", "--repeat", "0"], "got 0"),
        (["scenario", "convoy", "--samples", "0"], "got 0"),
        (["scenario", "convoy", "--cpu-threads", "0,-1"], "-1"),
        (["scenario", "convoy", "--policies", "new-gil,gil-2000"], "'gil-2000'"),
        (["scenario", "convoy", "--block", "20s"], "20"),
        (["scenario", "convoy", "--rounds", "0"], "got 0"),
        (["scenario", "convoy", "--time-limit", "0s"], "got 0"),
        (["scenario", "convoy", "--interpreters", "0"], "got 0"),
        (["scenario", "bogus"], "bogus"),
        (["scenario", "oversubscription", "--app-threads", "0"], "got 0"),
        (["scenario", "service", "--requests", "0"], "got 0"),
        (["advise", "--workload", "fibonacci"], "'fibonacci'"),
        (["run", "--spin", "20ms"], "'20ms'"),
        (["run", "--compute-workers", "0"], "got 0"),
        (["run", "--compute", "gpu"], "'gpu'"),
        (["scenario", "service", "--compute-workers", "300"], "got 300"),
        (["scenario", "service", "--lines", "0"], "got 0"),
        (["scenario", "service", "--size", "8"], "got 8"),
        (["scenario", "service", "--rounds", "0"], "got 0"),
        (["scenario", "service", "--fetch-delay", "2s"], "2.0 seconds"),
        (["advise", "--workload", "gemm", "--repeat", "0"], "got 0"),
        (["scenario", "crossover", "--spin", "0us"], "0.0 seconds"),
        (["scenario", "crossover", "--repeat", "0"], "got 0"),
        (["scenario", "oversubscription", "--rounds", "0"], "got 0"),
        (["scenario", "oversubscription", "--units", "0"], "got 0"),
        (["run", "--release-threshold", "lots"], "'lots'"),
        (["run", "--workload", "hash", "--release-threshold", "8"], "hash"),
        (["scenario", "crossover", "--threads", "1"], "got 1"),
        (["scenario", "crossover", "--kernels", "dgemm,fft"], "'fft'"),
        (["advise", "--workload", "gemm", "--size", "0"], "got 0"),
        (["advise", "--workload", "gemm", "--threads", "1"], "got 1"),
        (["advise", "--workload", "service", "--size", "64"], "service"),
        (["scenario", "service", "--concurrency", "-3"], "-3"),
        (["scenario", "service", "--strategies", "threads+hold,magic"], "'magic'"),
        (["scenario", "service", "--compute", "gpu"], "'gpu'"),
        (["scenario", "service", "--fetch-delay", "2 ms"], "'2 ms'"),
        (["scenario", "oversubscription", "--blas-threads", "2,x"], "'2,x'"),
        (["scenario", "oversubscription", "--size", "0"], "got 0"),
        (["run", "--modes", "processes", "--transfer", "carrier-pigeon"], "'carrier-pigeon'"),
        (["run", "--modes", "processes", "--worker-timeout", "0s"], "'0s'"),
        (["info", "--format", "xml"], "'xml'"),
        (["frobnicate"], "frobnicate"),
        (["project", "--cores", "0"], "got 0"),
        (["project", "--cores", "4,x"], "'4,x'"),
        (["compare-cpython", "--repeat", "0"], "got 0"),
        (["compare-cpython", "--sizes", "64,0"], "got 0"),
        (["compare-cpython", "--countdown", "0"], "got 0"),
        (["compare-cpython", "--only", "dgemm,weather"], "'weather'"),
        (["list", "--source", "stencil"], "'stencil' has no interpreter program"),
        (["compare-cpython", "--switch-intervals", "5ms,0ms"], "--switch-intervals"),
        (["compare-cpython", "--switch-intervals", "5 parsecs"], "'5 parsecs'"),
        (["compare-cpython", "--sweep-samples", "0"], "got 0"),
        (["scenario", "convoy", "--io-threads", "0"], "got 0"),
        (["scenario", "switch-interval", "--intervals", "1ms,0ms"], "--intervals"),
        (["scenario", "switch-interval", "--intervals", "2s"], "2.0 seconds"),
        (["scenario", "switch-interval", "--policies", "free"], "'free' has no switch interval"),
        (["scenario", "switch-interval", "--cpu-threads", "1,0"], "got 0"),
        (["scenario", "switch-interval", "--latency-target", "0ms"], "'0ms'"),
        (["compare-cpython", "--sweep", "switch-interval", "--switch-intervals", "0ms"], "--switch-intervals"),
        (["compare-cpython", "--sweep", "switch-interval", "--policy", "legacy-gil"], "--policy"),
        (["compare-cpython", "--sweep", "weather"], "'weather'"),
        (["scenario", "sampling", "--threads", "0"], "got 0"),
        (["scenario", "sampling", "--mode", "processes"], "processes"),
        (["scenario", "sampling", "--duration", "1ms"], "'1ms'"),
        (["scenario", "sampling", "--policy", "free"], "free has no lock"),
        (["scenario", "sampling", "--knock-interval", "1ns"], "--knock-interval"),
        (["report", "--timeline", "0ms"], "'0ms'"),
        (["report", "--scenario", "weather"], "'weather'"),
        (["report", "--threads", "0"], "got 0"),
    ]

    @Test("exits 64 with one line naming the bad value", arguments: badInputs)
    func usageError(arguments: [String], fragment: String) {
        do {
            _ = try Gillab.parseAsRoot(arguments)
            Issue.record("\(arguments) parsed without error")
        } catch {
            #expect(Gillab.exitCode(for: error).rawValue == 64)
            let line = GillabMain.oneLineError(error)
            #expect(!line.contains("\n"))
            #expect(line.contains(fragment), "\(line)")
        }
    }

    @Test("good command lines parse")
    func goodInputs() throws {
        let command = try Gillab.parseAsRoot(["run", "--workload", "gemm", "--size", "512", "--threads", "1,2",
                                             "--modes", "serial,hold,release", "--repeat", "5", "--blas-threads", "1",
                                             "--switch-interval", "5ms", "--format", "json"])
        let run = try #require(command as? Run)
        #expect(run.options.threads.values == [1, 2])
        #expect(run.options.modes.values == [.serial, .hold, .release])
        #expect(run.options.lock.tuning.switchInterval.duration == .milliseconds(5))
        #expect(try Gillab.parseAsRoot([]) is Showcase)
        let convoy = try #require(try Gillab.parseAsRoot(["scenario", "convoy", "--policies", "new-gil,io-priority",
                                                          "--cpu-threads", "0,1", "--format", "json"]) as? Convoy)
        let plan = try convoy.plan()
        #expect(plan.policies == [.newGIL, .ioPriority])
        #expect(plan.cpuThreads == [0, 1])
        #expect(plan.block == .milliseconds(1))
        #expect(plan.lock.switchInterval == .milliseconds(5))
        #expect(DurationArgument(argument: "250us")?.duration == .microseconds(250))
        #expect(DurationArgument(argument: "0.5s")?.duration == .milliseconds(500))
        #expect(DurationArgument(argument: "ms") == nil)
    }

    @Test("an unknown command is named, with the list of commands")
    func unknownCommand() throws {
        let line = try #require(GillabMain.unknownCommand(["frobnicate", "--threads", "2"]))
        #expect(line == "gillab: error: unknown command 'frobnicate'; the commands are showcase, run, exec, scenario, report, "
                + "compare-cpython, project, advise, list, info (gillab help COMMAND for one)")
        for fine in [[], ["run"], ["help", "run"], ["--repeat", "3"], ["--help"]] as [[String]] {
            #expect(GillabMain.unknownCommand(fine[...]) == nil, "\(fine)")
        }
    }

    @Test("the showcase thread ladder covers 1 to the core count")
    func ladder() {
        #expect(Showcase.threadLadder(cores: 1) == [1, 2])
        #expect(Showcase.threadLadder(cores: 2) == [1, 2])
        #expect(Showcase.threadLadder(cores: 6) == [1, 2, 4, 6])
        #expect(Showcase.threadLadder(cores: 16) == [1, 2, 4, 8, 16])
    }

    @Test("the built binary exits 64 and prints one line on stderr")
    func binary() throws {
        // The test bundle sits next to the gillab executable in the build folder.
        let buildFolder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidate = buildFolder
        while !FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("gillab").path),
              candidate.pathComponents.count > 1 {
            candidate.deleteLastPathComponent()
        }
        let binary = candidate.appendingPathComponent("gillab")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "gillab not found near \(buildFolder.path)")

        let process = Process()
        process.executableURL = binary
        process.arguments = ["run", "--threads", "0"]
        let stderr = Pipe(), stdout = Pipe()
        process.standardError = stderr
        process.standardOutput = stdout
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 64)
        #expect(text == "gillab: error: --threads must be at least 1, got 0\n")
        #expect(stdout.fileHandleForReading.readDataToEndOfFile().isEmpty)

        let unknown = Process()
        unknown.executableURL = binary
        unknown.arguments = ["frobnicate"]
        let unknownErrors = Pipe()
        unknown.standardError = unknownErrors
        unknown.standardOutput = Pipe()
        try unknown.run()
        unknown.waitUntilExit()
        let unknownText = String(decoding: unknownErrors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(unknown.terminationStatus == 64)
        #expect(unknownText.hasPrefix("gillab: error: unknown command 'frobnicate'; the commands are showcase, run,"), "\(unknownText)")

        // --stats prints who waited behind whom, naming the program's line.
        let stats = Process()
        stats.executableURL = binary
        stats.arguments = ["run", "--workload", "countdown", "--size", "40000", "--units", "4", "--threads", "2",
                           "--modes", "hold", "--repeat", "1", "--switch-interval", "1ms", "--stats", "--quiet"]
        let statsOutput = Pipe()
        stats.standardOutput = statsOutput
        stats.standardError = Pipe()
        try stats.run()
        let statsText = String(decoding: statsOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        stats.waitUntilExit()
        #expect(stats.terminationStatus == 0)
        for fragment in ["hold ×2: who waited behind whom", "waiter", "behind", "countdown.py:2 in unit (while n > 0:)  held while others waited"] {
            #expect(statsText.contains(fragment), "no '\(fragment)' in:\n\(statsText)")
        }
    }
}

@Suite("Progress line")
struct ProgressLineTests {
    @Test("the progress line stays off when stderr is not a terminal, or with --quiet")
    func offWithoutTerminal() throws {
        // Under `swift test`, stderr is a pipe or a file.
        #expect(isatty(STDERR_FILENO) == 0 ? !ProgressLine("x", quiet: false).enabled : true)
        #expect(!ProgressLine("x", quiet: true).enabled)
        let json = try #require(try Gillab.parseAsRoot(["run", "--format", "json"]) as? Run)
        #expect(!ProgressLine("x", output: json.output).enabled)
    }
}

@Suite("Output files and missing tools")
struct OutputFileTests {
    /// Expects `body` to throw a usage error (exit 64) whose one line names every fragment.
    func expectUsageError(naming fragments: [String], _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("accepted; expected a usage error naming \(fragments)")
        } catch {
            #expect(Gillab.exitCode(for: error).rawValue == 64)
            let line = GillabMain.oneLineError(error)
            #expect(fragments.allSatisfy(line.contains), "\(line)")
        }
    }

    @Test("an output file that cannot be written is a usage error naming the path, before any work")
    func unwritable() {
        expectUsageError(naming: ["--trace", "/nonexistent-gillab-folder/trace.json"]) {
            _ = try OutputFile(path: "/nonexistent-gillab-folder/trace.json", option: "--trace")
        }
    }

    @Test("report --out that cannot be made is a usage error naming the path, before any work")
    func unwritableReportFolder() throws {
        let command = try #require(try Gillab.parseAsRoot(["report", "--out", "/etc/hostname/report"]) as? Report)
        expectUsageError(naming: ["--out", "/etc/hostname/report"]) { try command.run() }
    }

    @Test("scenario sampling --program that cannot be read is a usage error naming the path, before any work")
    func unreadableSamplingProgram() throws {
        let command = try #require(try Gillab.parseAsRoot(["scenario", "sampling", "--program", "/nonexistent-gillab/unit.py"]) as? Sampling)
        expectUsageError(naming: ["--program", "/nonexistent-gillab/unit.py"]) { try command.run() }
    }

    @Test("compare-cpython: a --python that is not executable is unavailable (69); a missing --script is a usage error")
    func compareArguments() throws {
        let plainFile = FileManager.default.temporaryDirectory.appendingPathComponent("gillab-not-python-\(UUID().uuidString)").path
        #expect(FileManager.default.createFile(atPath: plainFile, contents: Data("text".utf8), attributes: [.posixPermissions: 0o644]))
        defer { try? FileManager.default.removeItem(atPath: plainFile) }
        let notExecutable = try #require(try Gillab.parseAsRoot(["compare-cpython", "--python", plainFile]) as? CompareCPython)
        #expect { try notExecutable.run() } throws: { error in
            error is UnavailableError && "\(error)".contains("'\(plainFile)'")
        }
        let python = try #require(CompareCPython.onPath("python3") ?? CompareCPython.onPath("sh"))
        let noScript = try #require(try Gillab.parseAsRoot(["compare-cpython", "--python", python,
                                                            "--script", "/nonexistent-gillab/cpython_side.py"]) as? CompareCPython)
        do {
            try noScript.run()
            Issue.record("a missing script was accepted")
        } catch {
            #expect(Gillab.exitCode(for: error).rawValue == 64)
            #expect(GillabMain.oneLineError(error).contains("/nonexistent-gillab/cpython_side.py"))
        }
    }

    @Test("compare-cpython without python3 on PATH exits 69 with one line")
    func noPython() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gillabExecutable)
        process.arguments = ["compare-cpython"]
        process.environment = ["PATH": "/nonexistent-gillab-path"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 69)
        #expect(text.contains("no python3 on PATH") && text.split(separator: "\n").count == 1, "\(text)")
    }
}

@Suite("SIGINT during a sweep")
struct InterruptTests {
    /// Runs gillab with `arguments` and `--format json`, sends it `signal` (SIGINT by default)
    /// after `delay` microseconds, checks that it says so and exits 128 + the signal, and
    /// returns what it printed.
    static func interrupt(_ arguments: [String], after delay: UInt32, signal: Int32 = SIGINT) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gillabExecutable)
        process.arguments = arguments + ["--format", "json"]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        usleep(delay)
        kill(process.processIdentifier, signal)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 128 + signal, "\(stderr)")
        #expect(stderr.contains("interrupted"), "\(stderr)")
        return data
    }

    @Test("SIGINT (exit 130) or SIGTERM (exit 143) stops a long sweep after the trial in progress, and prints the finished rounds' rows",
          arguments: [SIGINT, SIGTERM])
    func interrupted(signal: Int32) throws {
        // The signal must come after at least one counted round; a sanitizer build runs many
        // times slower, so a signal that came during the warm-up is tried again, later.
        var rounds = 0
        for delay: UInt32 in [2_500_000, 10_000_000, 30_000_000] where rounds == 0 {
            // Many quick rounds (about 20 s in a plain debug build): some are complete when the signal comes.
            let data = try InterruptTests.interrupt(["run", "--workload", "io-sleep", "--size", "500", "--units", "200",
                                                     "--threads", "1,2", "--modes", "serial,release", "--repeat", "100"],
                                                    after: delay, signal: signal)
            let report = try JSONDecoder().decode(RunReport.self, from: data)
            #expect(report.interrupted == true)
            rounds = report.config.repeats
            if rounds >= 1 {
                #expect(rounds < 100)
                #expect(report.results.map(\.mode) == [.serial, .release, .release])
                #expect(Set(report.results.map(\.checksum)).count == 1)
            } else {
                #expect(report.results.isEmpty)  // stopped in the warm-up: no row to report
            }
        }
        #expect(rounds >= 1, "no counted round finished even after 30 s")
    }
}

@Suite("Scenarios from one list")
struct ScenarioListTests {
    @Test("every scenario of the library has its gillab scenario subcommand, and report --scenario takes each name")
    func subcommandsMatch() throws {
        let subcommands = ScenarioCommand.configuration.subcommands.map { $0._commandName }
        #expect(subcommands == Scenarios.all.map { $0.name })
        #expect(ScenarioName.allValueStrings == Scenarios.all.map { $0.name })
        for name in ScenarioName.allValueStrings { #expect(ScenarioName(argument: name) != nil) }
    }

    @Test("SIGINT stops a scenario after the step in progress, prints the whole rounds' figures, and exits 130")
    func interruptedScenario() throws {
        // As for run: a signal that lands before the first whole round is tried again, later.
        var rounds = 0
        for delay: UInt32 in [2_000_000, 8_000_000, 30_000_000] where rounds == 0 {
            let data = try InterruptTests.interrupt(["scenario", "convoy", "--policies", "new-gil", "--cpu-threads", "0",
                                                     "--samples", "20", "--rounds", "100"], after: delay)
            let report = try JSONDecoder().decode(ConvoyReport.self, from: data)
            #expect(report.interrupted == true)
            rounds = report.config.rounds
            #expect(rounds < 100)
            #expect(report.results.isEmpty == (rounds == 0))
            if let row = report.results.first { #expect(row.samples == rounds * 20) }
        }
        #expect(rounds >= 1, "no whole round finished even after 30 s")
    }
}
