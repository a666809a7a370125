import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport

/// Writes `source` to a temporary `.py` file and runs `gillab exec` on it.
private func exec(_ source: String, name: String = "program.py", _ options: [String] = [], arguments: [String] = [],
                  interruptAfter delay: UInt32? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gillab-exec-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent(name).path
    try source.write(toFile: path, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: gillabExecutable)
    process.arguments = ["exec"] + options + [path] + arguments
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    if let delay {
        usleep(delay)
        kill(process.processIdentifier, SIGINT)
    }
    let errorText = Locked("")
    let reader = Thread { let data = errors.fileHandleForReading.readDataToEndOfFile(); errorText.withLock { $0 = String(decoding: data, as: UTF8.self) } }
    reader.start()
    let stdout = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return (process.terminationStatus, stdout, errorText.withLock { $0 })
}

@Suite("gillab exec")
struct ExecCLITests {
    @Test("a program's output on stdout; the lab's report on stderr with each thread, the blockers and a verdict")
    func report() throws {
        let result = try exec("""
            import threading
            def spin(n):
                while n > 0:
                    n -= 1
            threads = [threading.Thread(target=spin, args=(20000,)) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            print("done")
            """, ["--switch-interval", "1ms"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "done\n")
        for fragment in ["gillab exec ", ": new-gil, ", "exit 0", "MainThread", "Thread-1 (spin)", "Thread-2 (spin)",
                         "lock held", "verdict: "] {
            #expect(result.stderr.contains(fragment), "no '\(fragment)' in:\n\(result.stderr)")
        }
    }

    @Test("an uncaught exception: its traceback on stderr, exit 1, and the report still printed")
    func uncaught() throws {
        let result = try exec("print('before')\nx = {}\nx['missing']\n", name: "crash.py")
        #expect(result.status == 1)
        #expect(result.stdout == "before\n")
        #expect(result.stderr.contains("Traceback (most recent call last):\n  File \""), "\(result.stderr)")
        #expect(result.stderr.contains("crash.py\", line 3, in <module>\n    x['missing']\nKeyError: 'missing'\n"), "\(result.stderr)")
        #expect(result.stderr.contains("exit 1"), "\(result.stderr)")
    }

    @Test("outside the subset: the line with a caret, the class and what to do instead, exit 65, nothing run")
    func rejected() throws {
        let result = try exec("print('never')\nclass Point:\n    pass\n", name: "classy.py")
        #expect(result.status == 65)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasSuffix("classy.py\", line 2\n    class Point:\n    ^\nNotImplementedError: classes are not supported; use functions and dicts\n"),
                "\(result.stderr)")
        let module = try exec("import numpy\n")
        #expect(module.status == 65)
        #expect(module.stderr.contains("ModuleNotFoundError: No module named 'numpy'; GILLab's modules are gillab, math, queue, sys, threading, time"),
                "\(module.stderr)")
    }

    @Test("bad invocations are usage errors (exit 64) naming the value")
    func usage() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gillabExecutable)
        process.arguments = ["exec", "/no/such/script.py"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 64)
        #expect(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            == "gillab: error: cannot read '/no/such/script.py': no such file\n")
        for (options, fragment) in [(["--time-limit", "0s"], "--time-limit"),
                                    (["--threads", "1,2"], "--threads goes with --compare-cpython"), (["--format", "csv"], "table or json")] {
            let result = try exec("pass\n", options)
            #expect(result.status == 64, "\(options): \(result.stderr)")
            #expect(result.stderr.contains(fragment), "\(options): \(result.stderr)")
        }
    }

    @Test("--format json: one object with the output inside, the threads, the lock and the verdict")
    func json() throws {
        let result = try exec("import sys\nprint('args', sys.argv[1:])\n", ["--format", "json"], arguments: ["a", "b"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["output"] as? String == "args ['a', 'b']\n")
        #expect(object["exit_status"] as? Int == 0)
        #expect((object["threads"] as? [[String: Any]])?.first?["name"] as? String == "MainThread")
        #expect((object["verdict"] as? [String: Any])?["classification"] != nil)
        #expect((object["lock"] as? [String: Any])?["held_fraction"] != nil)
    }

    @Test("--time-limit stops a runaway program and its threads (exit 124); Ctrl-C does the same (exit 130)")
    func runaway() throws {
        let spin = "import threading\ndef forever():\n    while True:\n        pass\nthreading.Thread(target=forever).start()\nwhile True:\n    pass\n"
        let limited = try exec(spin, ["--time-limit", "300ms"])
        #expect(limited.status == 124, "\(limited.stderr)")
        #expect(limited.stderr.contains("Thread-1 (forever)"), "\(limited.stderr)")
        let interrupted = try exec(spin, interruptAfter: 600_000)
        #expect(interrupted.status == 130, "\(interrupted.stderr)")
        #expect(interrupted.stderr.contains("exit 130"), "\(interrupted.stderr)")
    }

    @Test("--policies runs the program under each and compares the wall times")
    func policies() throws {
        let result = try exec("total = 0\nfor i in range(1000):\n    total += i\nprint(total)\n", ["--policies", "new-gil,legacy-gil,per-interpreter"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "499500\n499500\n499500\n")
        for fragment in ["under each policy", "new-gil", "legacy-gil", "per-interpreter", "ratio"] {
            #expect(result.stderr.contains(fragment), "no '\(fragment)' in:\n\(result.stderr)")
        }
    }

    @Test("--compare-cpython runs the same file in CPython, with the speedups side by side and the outputs compared")
    func compareCPython() throws {
        guard CompareCPythonPath.python != nil else { return }  // no python3 here: nothing to compare with
        let result = try exec("""
            import sys, threading
            """.replacingOccurrences(of: "import sys, threading", with: "import sys\nimport threading") + """

            def work(n):
                total = 0
                for i in range(n):
                    total += i
            count = int(sys.argv[1])
            threads = [threading.Thread(target=work, args=(20000 // count,)) for _ in range(count)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            print("ok", count)
            """, ["--compare-cpython", "--threads", "1,2", "--repeat", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        for fragment in ["and CPython 3.", "gillab_speedup", "cpython_speedup", "both printed the same output"] {
            #expect(result.stdout.contains(fragment), "no '\(fragment)' in:\n\(result.stdout)")
        }
    }
}

/// python3 on PATH, if there is one.
enum CompareCPythonPath {
    static var python: String? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/python3" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

@Suite("gillab report --exec")
struct ReportExecTests {
    @Test("writes report.md with the threads, the verdict and the output, results.json, the trace and a timeline")
    func folder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gillab-report-exec-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let script = folder.appendingPathComponent("job.py")
        try "import threading\ndef f():\n    x = 0\n    for i in range(2000):\n        x += i\nt = threading.Thread(target=f)\nt.start()\nt.join()\nprint('ok')\n"
            .write(to: script, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gillabExecutable)
        let out = folder.appendingPathComponent("report").path
        process.arguments = ["report", "--exec", script.path, "--out", out, "--quiet"]
        process.standardOutput = Pipe()
        process.standardError = Pipe()
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let markdown = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        for fragment in ["# GILLab report: ", "## Threads", "Thread-1 (f)", "**Verdict:**", "## The program's output", "ok\n"] {
            #expect(markdown.contains(fragment), "no '\(fragment)' in report.md")
        }
        for name in ["results.json", "trace.json", "timeline-program.svg"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + name), "no \(name)")
        }
    }
}
