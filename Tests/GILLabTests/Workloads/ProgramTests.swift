import Foundation
import Testing
@testable import GILLab
@testable import GILLabInterpreter
import GILLabTestSupport

@Suite("Workload programs in the interpreter")
struct ProgramTests {
    @Test("disassembly marks 3.11's poll points (RESUME, back-edges, calls) and 2.7's ticks")
    func disassembly() throws {
        let listing = try withInterpreter { try $0.disassemble(Programs.countdown) }
        #expect(listing.contains("Disassembly of unit:"))
        let lines = listing.split(separator: "\n")
        let polling = lines.filter { $0.hasPrefix("*") }
        // The module's RESUME, the function's RESUME, and the loop's back-edge.
        #expect(polling.count == 3)
        #expect(polling.filter { $0.contains("RESUME") }.count == 2)
        #expect(polling.filter { $0.contains("JUMP_BACKWARD") }.count == 1)
        #expect(listing.contains("COMPARE_AND_BRANCH"))
        // 2.7's ticks in the loop: INPLACE_SUBTRACT and JUMP_ABSOLUTE, not the predicted compare.
        let unit = try #require(listing.components(separatedBy: "Disassembly of unit:").last)
        #expect(unit.split(separator: "\n").filter { $0.count > 1 && $0.dropFirst().first == "1" }.map { $0.contains("RESUME") || $0.contains("BINARY_OP") || $0.contains("JUMP_BACKWARD") } == [true, true, true])
        let gemm = try withInterpreter { try $0.disassemble(Programs.gemm) }
        for line in gemm.split(separator: "\n") where line.contains("CALL") || line.contains("JUMP_BACKWARD") || line.contains("RESUME") {
            #expect(line.hasPrefix("*"), "\(line)")
        }
        for line in gemm.split(separator: "\n") where line.contains("JUMP_FORWARD") || line.contains("POP_JUMP") || line.contains("COMPARE_AND_BRANCH") {
            #expect(!line.hasPrefix("*"), "\(line)")
        }
    }

    @Test("reference counts balance: a program leaves no live objects behind")
    func noLeaks() throws {
        try withInterpreter { interpreter in
            try interpreter.load(Programs.records)
            try interpreter.load(Programs.pymatmul)
            _ = try interpreter.call("unit", [interpreter.int(8), interpreter.int(1)])  // warm caches and constants
            let before = try #require(PyObject.liveObjects)
            for seed in 0..<3 {
                _ = try interpreter.call("unit", [interpreter.int(8), interpreter.int(seed)])
            }
            #expect(PyObject.liveObjects == before)
        }
    }
}

@Suite("Workload programs against Swift references")
struct ProgramReferenceTests {
    @Test("countdown counts to zero")
    func countdown() throws {
        #expect(try evaluate(Programs.countdown, "unit", [100_000]) == "0")
        #expect(ProgramWorkload.countdownChunk(0, total: 10, units: 3) == 4)
        #expect((0..<3).map { ProgramWorkload.countdownChunk($0, total: 10, units: 3) }.reduce(0, +) == 10)
    }

    @Test("pymatmul matches a Swift matrix product", arguments: [1, 5, 12])
    func pymatmul(n: Int) throws {
        func make(_ seed: Int) -> [[Double]] {
            (0..<n).map { (i: Int) -> [Double] in
                (0..<n).map { (j: Int) -> Double in
                    let residue: Int = (i * n + j + seed) % 17
                    return Double(residue) * 0.125 - 1.0
                }
            }
        }
        let a = make(3), b = make(4)
        var total = 0.0
        for i in 0..<n {
            for j in 0..<n {
                var s = 0.0
                for k in 0..<n { s += a[i][k] * b[k][j] }
                let weight: Int = (i + 2 * j) % 5 + 1
                total += s * Double(weight)
            }
        }
        #expect(try evaluate(Programs.pymatmul, "unit", [n, 3]) == Interpreter.floatRepr(total))
    }

    @Test("records matches a Swift parse-aggregate-serialize")
    func records() throws {
        let categories = ["alpha", "beta", "gamma", "delta", "epsilon"]
        let n = 50, seed = 11
        var totals: [String: Double] = [:], counts: [String: Int] = [:]
        for i in 0..<n {
            let k = i + seed
            let category = categories[k % 5]
            totals[category, default: 0] += Double((k * 37) % 1000) / 8
            counts[category, default: 0] += 1
        }
        let expected = totals.keys.sorted().map { "\($0),\(counts[$0]!),\(Interpreter.floatRepr(totals[$0]!))" }
            .joined(separator: "\n")
        #expect(try evaluate(Programs.records, "unit", [n, seed]) == expected)
    }
}

extension OpenBLASProcessWide {
    @Suite("gemm driven from interpreter code")
    struct InterpretedGemmTests {
        @Test("the program's digest equals the same steps done in Swift", arguments: CallDiscipline.allCases)
        func gemm(discipline: CallDiscipline) throws {
            let n = 16, unit = 5
            let workload = try GemmWorkload(size: n)
            let digest: UInt64 = try withInterpreter { interpreter in
                var worker = try workload.makeWorker(on: interpreter.thread, discipline: discipline)
                return try worker.run(unit: unit, on: interpreter.thread)
            }
            var a = try Matrix(rows: n, columns: n) { i, j in inputValue(-1, i * n + j) }
            let j = unit % n
            a[0, j] = Double((unit * 31) % 101) * 0.01 - 0.5
            var c = try Matrix(rows: n, columns: n)
            try Kernels.gemm(a, workload.b, into: &c)
            var total = 0.0
            for i in 0..<8 { total += c[0, (j + i) % n] }
            var expected = Digest()
            expected.add(UInt64(unit))
            expected.add(total)
            #expect(digest == expected.value)
        }
    }
}
