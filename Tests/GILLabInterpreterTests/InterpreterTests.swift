import Foundation
import Testing
import GILLabLock
@testable import GILLabInterpreter
import GILLabTestSupport

@Suite("Interpreter language")
struct InterpreterLanguageTests {
    @Test("arithmetic follows Python's rules", arguments: [
        ("7 // 2", "3"), ("-7 // 2", "-4"), ("7 % -3", "-2"), ("-7 % 3", "2"), ("7 / 2", "3.5"),
        ("2 * 3 + 4 * 5", "26"), ("(2 + 3) * 4", "20"), ("-3 - -4", "1"), ("1.5 * 2", "3.0"),
        ("7.5 // 2", "3.0"), ("-7.5 % 2", "0.5"), ("1 + True", "2"), ("\"ab\" + \"cd\"", "abcd"),
        ("[1, 2] + [3]", "[1, 2, 3]"), ("[0] * 3", "[0, 0, 0]"), ("3 < 4", "True"), ("2 == 2.0", "True"),
        ("\"a\" < \"b\"", "True"), ("not 0", "True"), ("0 or 5", "5"), ("3 and 0", "0"), ("None == None", "True"),
        ("len([1, 2, 3]) + len(\"ab\") + len({1: 2})", "6"), ("int(\"42\") + int(3.9)", "45"),
        ("float(\"2.5\") + 1", "3.5"), ("str(12) + str(0.5)", "120.5"), ("abs(-4)", "4"),
        ("len(sorted(range(9223372036854775805, 9223372036854775807)))", "2"),
    ])
    func expression(source: String, expected: String) throws {
        #expect(try evaluate("def main():\n    return \(source)\n") == expected)
    }

    @Test("statements: loops, branches, break, continue, functions, containers")
    func statements() throws {
        let source = """
            LIMIT = 10

            def classify(n):
                if n % 15 == 0:
                    return "fizzbuzz"
                elif n % 5 == 0:
                    return "buzz"
                elif n % 3 == 0:
                    return "fizz"
                else:
                    return str(n)

            def main():
                out = []
                i = 0
                while True:
                    i += 1
                    if i > LIMIT:
                        break
                    if i == 4:
                        continue
                    out.append(classify(i))
                counts = {}
                for word in out:
                    counts[word] = counts.get(word, 0) + 1
                total = 0
                for k in range(1, 10, 3):
                    total += k
                grid = [[0, 0], [0, 0]]
                grid[1][0] = 7
                grid[1][0] += 1
                return ",".join(out) + "|" + str(counts["fizz"]) + "|" + str(total) + "|" + str(grid[1][0]) + "|" + " x ".strip() + "|" + str(sorted(counts)[0])
            """
        #expect(try evaluate(source) == "1,2,fizz,buzz,fizz,7,8,fizz,buzz|3|12|8|x|1")
    }

    @Test("exceptions carry Python's class and message", arguments: [
        ("return 1 / 0", PyError.Kind.zeroDivisionError),
        ("return undefined_name", .nameError),
        ("return [1][5]", .indexError),
        ("return {}[\"k\"]", .keyError),
        ("return 1 + \"a\"", .typeError),
        ("return int(\"x\")", .valueError),
        ("return main()", .recursionError),
        ("return 9223372036854775807 + 1", .overflowError),
    ])
    func exceptions(body: String, kind: PyError.Kind) {
        #expect(throws: PyError.self) { try evaluate("def main():\n    \(body)\n") }
        do { _ = try evaluate("def main():\n    \(body)\n") } catch let error as PyError {
            #expect(error.kind == kind, "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("syntax errors name the line and column, and show the line with a caret", arguments: [
        ("def main(:\n    return 1\n", 1, 9, "'(' was never closed"),
        ("def main(1):\n    return 1\n", 1, 10, "expected a name"),
        ("def main():\nreturn 1\n", 2, 1, "expected an indented block"),
        ("def main():\n    x = (1 +\n", 2, 9, "'(' was never closed"),
        ("def main():\n    return 1 $ 2\n", 2, 14, "'$'"),
        ("break\n", 1, 1, "outside loop"),
    ])
    func syntaxErrors(source: String, line: Int, column: Int, fragment: String) {
        do {
            _ = try evaluate(source)
            Issue.record("no error for \(source)")
        } catch let error as PyError {
            #expect(error.kind == .syntaxError)
            #expect(error.position?.line == line && error.position?.column == column, "\(error.oneLine)")
            #expect(error.description.contains(fragment), "\(error)")
            #expect(error.report.contains("^"), "\(error.report)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}

@Suite("Interpreter and the lock")
struct InterpreterLockTests {
    @Test("straight-line code and forward jumps have no poll point but RESUME: a request pending at the call is served there, once")
    func resumeAndStraightLineCode() throws {
        let lock = InterpreterLock(configuration: try LockConfiguration(switchInterval: .microseconds(200)))
        let thread = lock.makeThreadState(name: "main")
        thread.acquire()
        let interpreter = Interpreter(thread: thread)
        let source = """
            def straight(x):
                y = x * 2 + 1
                if y > 3:
                    y = y - 1
                else:
                    y = y + 1
                z = [y, y + 1, {1: y}]
                return z[0] + z[1] + z[2][1]
            """
        try interpreter.load(source)  // before the request, so that the module's RESUME finds none
        let got = Counter()
        let waiter = PollPointTests.waiterAsksForTheLock(lock, got: got)
        thread.resetStatistics()
        _ = try interpreter.call("straight", [interpreter.int(5)])
        #expect(got.load == 1, "RESUME did not hand the lock over")
        #expect(!lock.isDropRequested)
        #expect(thread.statistics.acquisitions == 1)  // one handoff: at RESUME
        // The only poll point the compiled function has is its RESUME.
        let function = try #require(try interpreter.disassemble(source).components(separatedBy: "Disassembly of straight:").last)
        #expect(function.split(separator: "\n").filter { $0.hasPrefix("*") }.map { $0.contains("RESUME") } == [true])
        thread.detach()
        waiter.join()
    }

    @Test("a drop request that comes during a loop is served at a back-edge")
    func backEdge() throws {
        let lock = InterpreterLock(configuration: try LockConfiguration(switchInterval: .milliseconds(1)))
        let thread = lock.makeThreadState(name: "main")
        thread.acquire()
        let interpreter = Interpreter(thread: thread)
        let flag = Unchecked(PyList([PyInt.make(0)]))
        var waiter: NativeThread?
        // Starts a thread that waits for the lock and, once it has it, sets flag[0]. The loop
        // reads flag[0] and calls nothing, so only a back-edge can let the waiter in and end it.
        interpreter.register("start_waiter", arity: 0...0) { _, _, _ in
            waiter = NativeThread {
                lock.makeThreadState(name: "waiter").withLock { flag.value.items[0] = PyInt.make(1) }
            }
            return PyNone.shared
        }
        try interpreter.load("""
            def spin(flag, n):
                start_waiter()
                while flag[0] == 0 and n > 0:
                    n -= 1
                return n
            """)
        // n only bounds the loop if no back-edge ever hands over: about a minute in a debug build.
        let left = try interpreter.call("spin", [flag.value, interpreter.int(1_000_000_000)])
        #expect(try Interpreter.str(left) != "0", "no back-edge handed the lock over")
        #expect(flag.value.items[0] === PyInt.make(1))
        thread.detach()
        waiter?.join()
    }

    @Test("a native that holds the lock cannot be preempted; one that releases lets others run",
          arguments: CallDiscipline.allCases)
    func nativeDisciplines(discipline: CallDiscipline) throws {
        let lock = InterpreterLock(configuration: try LockConfiguration(switchInterval: .microseconds(200)))
        let thread = lock.makeThreadState(name: "main")
        thread.acquire()
        let interpreter = Interpreter(thread: thread)
        let started = Counter(), ranDuringKernel = Counter(), ran = Counter()
        var other: NativeThread?
        interpreter.register("kernel", discipline: discipline, arity: 0...0) { thread, discipline, _ in
            thread.call(discipline) {
                other = NativeThread {
                    _ = started.add()
                    lock.makeThreadState(name: "other").withLock { _ = ran.add() }
                }
                while started.load == 0 { sched_yield() }
                // Holding: give the other thread 50 ms, 250 switch intervals, in which it must not
                // get in. Releasing: wait for it to get in, for up to 10 s (sanitizers are slow).
                let deadline = monotonicNanoseconds() + (discipline == .hold ? 50_000_000 : 10_000_000_000)
                while ran.load == 0 && monotonicNanoseconds() < deadline { sched_yield() }
                ranDuringKernel.store(ran.load)
            }
            return PyNone.shared
        }
        try interpreter.load("def main():\n    kernel()\n")
        _ = try interpreter.call("main", [])
        thread.detach()
        other?.join()
        #expect(ranDuringKernel.load == (discipline == .release ? 1 : 0))
        #expect(ran.load == 1)
    }


    @Test("touching an interpreter object without the lock traps, naming the thread")
    func unlockedAccessTraps() async throws {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let thread = InterpreterLock().makeThreadState(name: "careless")
            thread.acquire()
            let interpreter = Interpreter(thread: thread)
            let list = interpreter.list([interpreter.int(1)])
            thread.release()
            _ = try? Interpreter.getItem(list, PyInt.make(0))  // traps: list read without the lock
        }
        let stderr = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(stderr.contains("thread 'careless': reading a list without holding the interpreter lock"), "\(stderr)")
    }
}

@Suite("Reference counting under free (PEP 703)")
struct BiasedReferenceCountingTests {
    /// Runs `unit(x)`, which keeps `x` on the value stack while the native `probe` reads its
    /// shared count, and returns that count and the one after the call.
    private func sharedCounts(_ object: PyObject, on thread: ThreadState) throws -> (during: Int, after: Int) {
        let interpreter = Interpreter(thread: thread)
        var during = -1
        interpreter.register("probe", arity: 0...0) { _, _, _ in
            during = Int(object.sharedReferences.load(ordering: .relaxed))
            return PyNone.shared
        }
        try interpreter.load("def unit(x):\n    return [x, probe()]\n")
        _ = try interpreter.call("unit", [object])
        return (during, Int(object.sharedReferences.load(ordering: .relaxed)))
    }

    @Test("a thread that does not own an object counts its references atomically, and they balance",
          arguments: [LockPolicy.free, .newGIL])
    func foreignObject(policy: LockPolicy) throws {
        let lock = InterpreterLock(configuration: try LockConfiguration(policy: policy))
        let made = Locked<PyObject?>(nil)
        runThreads(1) { _ in
            lock.makeThreadState().withLock { made.withLock { $0 = PyFloat(2.5) } }  // owned by that thread
        }
        let foreign = try #require(made.withLock { $0 })
        let thread = lock.makeThreadState()
        thread.acquire()
        defer { thread.release() }
        let counts = try sharedCounts(foreign, on: thread)
        // Under free the references this thread holds, the argument in `unit`'s local and the
        // copy LOAD_FAST pushed, are shared ones (3.13t increfs both); under a lock the
        // owner-blind plain count is all there is.
        #expect(counts.during == (policy == .free ? 2 : 0))
        #expect(counts.after == 0)
        // An object this thread made, and an immortal one, take no shared count at all.
        #expect(try sharedCounts(PyFloat(1.5), on: thread).during == 0)
        #expect(try sharedCounts(PyInt.make(7), on: thread).during == 0)
    }
}

/// A value handed to another thread that only touches it holding the interpreter lock, as
/// interpreter objects may be.
final class Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
