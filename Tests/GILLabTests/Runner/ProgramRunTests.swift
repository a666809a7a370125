import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport

/// Runs `source` as `gillab exec` does, and returns the run and what it printed.
private func run(_ source: String, policy: LockPolicy = .newGIL, timeLimit: Duration? = nil) throws -> (ProgramRun, String) {
    let printed = Locked("")
    let run = try ProgramRunner.run(
        ProgramPlan(source: source, filename: "p.py", lock: try LockConfiguration(policy: policy), timeLimit: timeLimit),
        output: { text in printed.withLock { $0 += text } }, errorOutput: { text in printed.withLock { $0 += text } },
        prepare: { GILLabModule.install(in: $0) })
    return (run, printed.withLock { $0 })
}

// Both suites call OpenBLAS (gillab.dgemm), whose thread count is global to the process.
extension OpenBLASProcessWide {
    @Suite("Program runs (gillab exec)")
    struct ProgramRunTests {
        @Test("how a program ends: completed, an exception, rejected, stopped by the time limit")
        func ends() throws {
            #expect(try run("print(1)\n").0.end == .completed)
            let (failed, printed) = try run("def f():\n    raise ValueError('no')\nf()\n")
            #expect(failed.end == .exception(PyError(.valueError, "no")))
            #expect(failed.end.exitStatus == 1)
            #expect(printed.contains("File \"p.py\", line 2, in f"), "\(printed)")
            let rejected = try run("yield 5\n").0
            #expect(rejected.end.exitStatus == 65)
            let limited = try run("while True:\n    pass\n", timeLimit: .milliseconds(200)).0
            #expect(limited.end == .timedOut && limited.end.exitStatus == 124)
        }

        @Test("each thread the program starts is listed with its time; waits on other threads are kept apart from I/O")
        func threads() throws {
            let (run, _) = try run("""
                import threading
                import time
                def nap():
                    time.sleep(0.01)
                t = threading.Thread(target=nap, name="napper")
                t.start()
                t.join()
                """)
            #expect(run.threads.map(\.name) == ["MainThread", "napper"])
            let napper = run.threads[1], main = run.threads[0]
            #expect(napper.releasedIOSeconds > 0 && napper.synchronizingSeconds == 0)
            #expect(main.synchronizingSeconds > 0 && main.releasedIOSeconds == 0)
            #expect(run.segment?.recordings.count == 2)
        }

        @Test("gillab.dgemm: release=True releases the lock around the product, release=False keeps it; the results agree")
        func gillabModule() throws {
            let source = """
                import gillab
                a = gillab.matrix(64, seed=1)
                b = gillab.matrix(64, seed=2)
                c = gillab.zeros(64)
                gillab.dgemm(a, b, c, release=RELEASE)
                out = gillab.zeros(64)
                gillab.stencil(c, out, release=RELEASE)
                print(round(gillab.checksum(c), 6), round(gillab.checksum(out), 6),
                      gillab.mandelbrot(64, 0, 8, release=RELEASE), gillab.fnv1a("abc", release=RELEASE))
                """
            let (released, releasedOutput) = try run(source.replacingOccurrences(of: "RELEASE", with: "True"))
            let (held, heldOutput) = try run(source.replacingOccurrences(of: "RELEASE", with: "False"))
            #expect(releasedOutput == heldOutput)
            #expect(releasedOutput.hasSuffix(" -1792535898324117685\n"), "\(releasedOutput)")  // FNV-1a 64 of "abc", as a signed int
            #expect(released.threads[0].releasedKernelSeconds > 0)
            #expect(held.threads[0].releasedKernelSeconds == 0)
        }

        @Test("gillab module errors name the argument")
        func gillabErrors() throws {
            for (call, message) in [("gillab.dgemm(1, 2, 3)", "TypeError: dgemm() expected a matrix, got 'int'"),
                                    ("gillab.matrix(-1)", "ValueError: matrix(): n must be between 0 and 4096, got -1"),
                                    ("gillab.get(gillab.zeros(2), 5, 0)", "IndexError: get(): (5, 0) out of range for a 2×2 matrix"),
                                    ("gillab.dgemm(gillab.zeros(2), gillab.zeros(3), gillab.zeros(2))", "ValueError: dgemm(): "),
                                    ("gillab.fnv1a(5)", "TypeError: fnv1a() expected a str, got 'int'")] {
                let (run, printed) = try run("import gillab\n\(call)\n")
                #expect(run.end.exitStatus == 1)
                #expect(printed.contains(message), "\(call): \(printed)")
            }
        }

        @Test("the verdict reads the run's time shares with the advisor's classes")
        func verdict() throws {
            let (run, _) = try run("x = 0\nfor i in range(1000):\n    x += i\n")
            let verdict = ProgramVerdict(run)
            #expect(verdict.recommendation == Advisor.strategy(for: verdict.classification))
            #expect(!verdict.summary.isEmpty)
        }
    }

    @Suite("--program: a user's unit(size) under the runner")
    struct UserProgramTests {
        static let source = """
            import gillab
            def unit(size):
                total = 0
                for i in range(size):
                    total += i % 7
                a = gillab.matrix(16, seed=size % 5)
                c = gillab.zeros(16)
                gillab.dgemm(a, a, c)
                return total + round(gillab.checksum(c), 3)
            """

        @Test("every mode runs the program and returns the same values (the checksum contract); the report names the file")
        func modes() throws {
            var plan = RunPlan(workload: .gemm, size: 500, units: 4, threads: [1, 2], modes: [.serial, .hold, .release, .free, .eventloop],
                               repeats: 1)
            plan.program = UserProgram(source: Self.source, filename: "mine.py")
            let report = try Runner.run(plan)
            #expect(report.results.count == 9)
            #expect(report.config.workload == "mine.py")
            #expect(Set(report.results.map(\.checksum)).count == 1)
        }

        @Test("refused: worker-process modes, a release threshold, and a program without unit(size)")
        func refused() throws {
            var plan = RunPlan(workload: .gemm, size: 10, units: 2, threads: [2], modes: [.serial, .processes], repeats: 1)
            plan.program = UserProgram(source: Self.source, filename: "mine.py")
            #expect(throws: RunnerError.self) { try plan.validate() }
            plan.modes = [.serial]
            plan.releaseThreshold = 64
            #expect(throws: RunnerError.self) { try plan.validate() }
            plan.releaseThreshold = nil
            plan.program = UserProgram(source: "def f():\n    return 1\n", filename: "nounit.py")
            do {
                _ = try Runner.run(plan)
                Issue.record("ran without unit()")
            } catch {
                #expect("\(error)".contains("nounit.py must define unit(size)"), "\(error)")
            }
        }

        @Test("advise --program profiles the program and classifies it")
        func advise() throws {
            let advice = try Advisor.advise(.program(UserProgram(source: Self.source, filename: "mine.py"), size: 300),
                                            threads: 2, repeats: 1, units: 2)
            #expect(advice.workload == "mine.py")
            #expect(advice.size == 300)
        }
    }
}
