import Testing
import GILLabLock
@testable import GILLabInterpreter
import GILLabTestSupport

/// PEP 659 as the eval loop does it: superinstructions formed when a code object is made,
/// adaptive instructions that specialise on the types they see and fall back when a guard fails,
/// and the free lists behind int and float results. Each test checks results against Python's,
/// so that a specialisation that computed something else would show.
@Suite("Quickening and specialisation")
struct QuickeningTests {
    /// The quickened names of `function`'s instructions after `run` has called it.
    private func quickened(_ source: String, _ function: String, run: (Interpreter) throws -> Void) throws -> [String] {
        try withInterpreter { interpreter in
            try interpreter.load(source)
            try run(interpreter)
            return try interpreter.quickenedNames(of: function)
        }
    }

    @Test("3.11's superinstructions form at once, and a jump to the second instruction runs it alone")
    func superinstructions() throws {
        // `b = a` ends with STORE_FAST b, and the loop's test starts with LOAD_FAST b: they fuse
        // into STORE_FAST__LOAD_FAST, and the back-edge jumps to that LOAD_FAST alone, which must
        // still read `b` fresh every time round.
        let source = """
            def main(n):
                a = n
                b = a
                while b > 0:
                    b = b - 1
                    a = a + 1
                return a + b
            """
        let names = try quickened(source, "main") { _ = try $0.call("main", [$0.int(5)]) }
        #expect(names.contains("STORE_FAST__LOAD_FAST"))
        #expect(names.contains("LOAD_FAST__LOAD_CONST"))
        #expect(try evaluate(source, "main", [5]) == "10")
        #expect(try evaluate(source, "main", [0]) == "0")
    }

    @Test("BINARY_OP specialises on the types it sees and falls back when they change")
    func binaryOpAdapts() throws {
        let source = """
            def add(a, b):
                return a + b

            def main():
                out = []
                out.append(add(1000, 2000))
                out.append(add(0.5, 0.25))
                out.append(add("ab", "cd"))
                out.append(add(3000, 4000))
                out.append(add(1, 0.5))
                out.append(add([1], [2]))
                return out
            """
        #expect(try evaluate(source) == "[3000, 0.75, 'abcd', 7000, 1.5, [1, 2]]")
        let afterInts = try quickened(source, "add") { _ = try $0.call("add", [$0.int(1000), $0.int(1)]) }
        #expect(afterInts.contains("BINARY_OP_ADD_INT"))
        let afterFloats = try quickened(source, "add") {
            _ = try $0.call("add", [$0.int(1000), $0.int(1)])
            _ = try $0.call("add", [$0.float(1.5), $0.float(2)])
        }
        #expect(afterFloats.contains("BINARY_OP_ADD_FLOAT"))
        #expect(!afterFloats.contains("BINARY_OP_ADD_INT"))
    }

    @Test("a specialised int operation still raises OverflowError past 64 bits")
    func intOverflow() throws {
        let source = """
            def grow(x, times):
                for i in range(times):
                    x = x * 1000
                return x
            """
        #expect(try evaluate(source, "grow", [7, 3]) == "7000000000")
        #expect(throws: PyError.self) { try evaluate(source, "grow", [7, 9]) }
    }

    @Test("list subscripts specialise, count from the end, and raise IndexError out of range")
    func listSubscripts() throws {
        let source = """
            def main(i):
                xs = [10, 20, 30]
                total = 0
                for k in range(3):
                    total += xs[k]
                xs[k - 2] = 5
                xs[-3] = xs[0]
                xs[-1] = xs[-1] + 1
                return str(total) + " " + str(xs) + " " + str(xs[i])
            """
        #expect(try evaluate(source, "main", [1]) == "60 [5, 20, 31] 20")
        #expect(try evaluate(source, "main", [-3]) == "60 [5, 20, 31] 5")
        #expect(throws: PyError.self) { try evaluate(source, "main", [3]) }
        #expect(throws: PyError.self) { try evaluate("def main(i):\n    xs = [1]\n    xs[i] = 2\n    return xs\n", "main", [1]) }
        let names = try quickened(source, "main") { _ = try $0.call("main", [$0.int(0)]) }
        #expect(names.contains("BINARY_SUBSCR_LIST_INT"))
        #expect(names.contains("STORE_SUBSCR_LIST_INT"))
    }

    @Test("COMPARE_AND_BRANCH specialises for ints, floats and str equality, and falls back for mixed types")
    func compareAdapts() throws {
        let source = """
            def less(a, b):
                if a < b:
                    return 1
                return 0

            def same(a, b):
                if a == b:
                    return 1
                return 0

            def main():
                return [less(1, 2), less(2.5, 1.5), less(1, 1.5), less("a", "b"), same("x", "x"), same("x", "y"), same(1, 1.0)]
            """
        #expect(try evaluate(source) == "[1, 0, 1, 1, 1, 0, 1]")
        let names = try quickened(source, "same") { _ = try $0.call("same", [$0.str("x"), $0.str("y")]) }
        #expect(names.contains("COMPARE_OP_STR_JUMP"))
    }

    @Test("a free-listed int is never one that is still referenced")
    func freeListDoesNotAlias() throws {
        // Each result reuses a dead int; keeping some alive in a list must keep their values.
        let source = """
            def main(n):
                kept = []
                x = 1000
                for i in range(n):
                    x = x + 1
                    if i % 3 == 0:
                        kept.append(x)
                total = 0
                for v in kept:
                    total += v
                return str(kept[0]) + " " + str(kept[-1]) + " " + str(total)
            """
        #expect(try evaluate(source, "main", [10]) == "1001 1010 4022")
    }

    @Test("list.append specialises and leaves the counts balanced")
    func appendBalances() throws {
        let source = """
            def main(n):
                out = []
                for i in range(n):
                    out.append(i * 1000 + 0.5)
                return len(out)
            """
        try withInterpreter { interpreter in
            try interpreter.load(source)
            let before = PyObject.liveObjects
            #expect(try Interpreter.str(try interpreter.call("main", [interpreter.int(50)])) == "50")
            #expect(PyObject.liveObjects == before)  // nil in release builds, which do not count
            #expect(try interpreter.quickenedNames(of: "main").contains("PRECALL_NO_KW_LIST_APPEND"))
        }
    }
}

@Suite("Reference counts the eval loop keeps")
struct InlineCountTests {
    /// The inline counts are the fast path; a runtime whose count word they did not recognise
    /// would fall back to its entry points, correct but slower, and this test would say so.
    @Test("this runtime's count word has the layout the inline counts assume")
    func layoutChecked() {
        #expect(ReferenceCounter.countsInline)
    }
}

@Suite("Reference counts under every way of counting")
struct CountingPolicyTests {
    /// Ints and floats that die and are reused, lists that keep some alive, strings, calls: the
    /// results are Python's and nothing is left behind, whether the eval loop counts with plain
    /// adds (new-gil) or the PEP 703 way with local counts (free).
    @Test("programs compute Python's results and leave no object behind", arguments: [LockPolicy.newGIL, .free])
    func balanced(policy: LockPolicy) throws {
        let source = """
            def grow(n):
                kept = []
                x = 1000
                f = 0.5
                for i in range(n):
                    x = x + 1
                    f = f * 1.5 + 0.25
                    if i % 4 == 0:
                        kept.append(x)
                        kept.append(f)
                words = "a,b,c".split(",")
                return str(len(kept)) + " " + str(kept[0]) + " " + str(kept[-2]) + " " + words[1] + str(x)

            def main(n):
                out = []
                for k in range(3):
                    out.append(grow(n))
                return out[0] + "|" + out[2]
            """
        let lock = InterpreterLock(configuration: try LockConfiguration(policy: policy))
        let thread = lock.makeThreadState(name: "test")
        thread.acquire()
        defer { thread.detach() }
        let interpreter = Interpreter(thread: thread)
        try interpreter.load(source)
        _ = try interpreter.call("main", [interpreter.int(3)])  // warm caches and constants
        let before = PyObject.liveObjects
        let result = try Interpreter.str(try interpreter.call("main", [interpreter.int(9)]))
        #expect(result == "6 1001 1009 b1009|6 1001 1009 b1009")
        #expect(PyObject.liveObjects == before)  // nil in release builds, which do not count
    }
}
