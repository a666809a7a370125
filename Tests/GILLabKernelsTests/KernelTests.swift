import CKernels
import Testing
import GILLabLock
@testable import GILLabKernels
import GILLabTestSupport

/// Deterministic test values in [-1, 1): a splitmix64 hash of (seed, index).
func inputValue(_ seed: Int, _ index: Int) -> Double {
    var z = UInt64(truncatingIfNeeded: seed) &* 0x9e37_79b9_7f4a_7c15 &+ UInt64(truncatingIfNeeded: index)
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return Double((z ^ (z >> 31)) >> 11) * 0x1p-52 - 1
}

extension OpenBLASProcessWide {
    @Suite("Kernels against Swift references")
    struct KernelTests {
        static func naiveProduct(_ a: Matrix, _ b: Matrix) -> [Double] {
            var c = [Double](repeating: 0, count: a.rows * b.columns)
            for i in 0..<a.rows {
                for j in 0..<b.columns {
                    var sum = 0.0
                    for p in 0..<a.columns { sum += a[i, p] * b[p, j] }
                    c[i * b.columns + j] = sum
                }
            }
            return c
        }

        @Test("dgemm matches the naive product within 1e-12·n relative error",
              arguments: [(1, 1, 1), (3, 5, 7), (8, 8, 8), (33, 17, 65), (64, 64, 64), (100, 3, 100), (128, 128, 128)])
        func gemm(m: Int, k: Int, n: Int) throws {
            let a = try Matrix(rows: m, columns: k) { i, j in inputValue(1, i * k + j) }
            let b = try Matrix(rows: k, columns: n) { i, j in inputValue(2, i * n + j) }
            var c = try Matrix(rows: m, columns: n, repeating: .nan)  // beta = 0 must ignore NaNs
            try Kernels.gemm(a, b, into: &c)
            let reference = Self.naiveProduct(a, b)
            let scale = reference.map(abs).max() ?? 1
            let worst = (0..<m * n).map { abs(c[$0 / n, $0 % n] - reference[$0]) }.max() ?? 0
            #expect(worst / max(scale, 1e-300) <= 1e-12 * Double(max(k, 1)))
        }

        @Test("dgemm honours alpha and beta")
        func gemmAlphaBeta() throws {
            let a = try Matrix(rows: 2, columns: 2) { i, j in Double(i * 2 + j + 1) }  // [1 2; 3 4]
            let b = try Matrix(rows: 2, columns: 2) { i, j in i == j ? 1 : 0 }
            var c = try Matrix(rows: 2, columns: 2, repeating: 10)
            try Kernels.gemm(a, b, into: &c, alpha: 2, beta: 0.5)
            #expect(c == (try Matrix(rows: 2, columns: 2) { i, j in 2 * Double(i * 2 + j + 1) + 5 }))
        }

        @Test("dgemm refuses shapes that do not conform, and the C layer reports why")
        func gemmErrors() throws {
            let a = try Matrix(rows: 2, columns: 3), b = try Matrix(rows: 2, columns: 3)
            var c = try Matrix(rows: 2, columns: 3)
            #expect(throws: KernelError.self) { try Kernels.gemm(a, b, into: &c) }
            do {
                try Kernels.gemm(a, b, into: &c)
            } catch {
                #expect(error.description.contains("2×3"))
            }

            var buffer = [Double](repeating: 0, count: 4)
            let status = buffer.withUnsafeMutableBufferPointer { p -> ck_status in
                let small = ck_const_dmatrix(base: p.baseAddress, count: 3, rows: 2, cols: 2, ld: 2)
                let out = ck_dmatrix(base: p.baseAddress, count: 4, rows: 2, cols: 2, ld: 2)
                return ck_dgemm(1, small, small, 0, out)
            }
            #expect(status == CK_ERANGE)
            let strideStatus = buffer.withUnsafeMutableBufferPointer { p -> ck_status in
                let bad = ck_const_dmatrix(base: p.baseAddress, count: 4, rows: 2, cols: 2, ld: 1)
                let out = ck_dmatrix(base: p.baseAddress, count: 4, rows: 2, cols: 2, ld: 2)
                return ck_dgemm(1, bad, bad, 0, out)
            }
            #expect(strideStatus == CK_EINVAL)
            #expect(String(cString: ck_status_name(Int32(CK_ESHAPE.rawValue))) == "CK_ESHAPE")
            #expect(String(cString: ck_strerror(Int32(CK_OK.rawValue))) == "success")
            #expect(String(cString: ck_strerror(999)) == "unknown status")
        }

        @Test("BLAS thread count is set and restored")
        func blasThreads() async throws {
            // In a child process: the count is global, and other targets' tests run meanwhile.
            await #expect(processExitsWith: .success) {
                try BLAS.setThreads(2)
                BLAS.withThreads(1) { precondition(BLAS.threads == 1) }
                precondition(BLAS.threads == 2)
            }
            #expect(throws: KernelError.self) { try BLAS.setThreads(0) }
            #expect(BLAS.configuration.contains("OpenBLAS"))
            #expect(!BLAS.coreName.isEmpty)
        }
    }
}

@Suite("Own kernels against Swift references")
struct OwnKernelTests {
    @Test("stencil matches the reference sweep", arguments: [(1, 1), (2, 5), (3, 3), (17, 31), (64, 64)])
    func stencil(rows: Int, columns: Int) throws {
        let grid = try Matrix(rows: rows, columns: columns) { i, j in inputValue(3, i * columns + j) }
        var out = try Matrix(rows: rows, columns: columns)
        try Kernels.stencil(grid, into: &out)
        for i in 0..<rows {
            for j in 0..<columns {
                let interior = i > 0 && i < rows - 1 && j > 0 && j < columns - 1
                let expected = interior
                    ? 0.25 * (grid[i - 1, j] + grid[i + 1, j] + grid[i, j - 1] + grid[i, j + 1])
                    : grid[i, j]
                #expect(out[i, j] == expected)
            }
        }
    }

    @Test("stencil refuses mismatched and empty grids")
    func stencilErrors() throws {
        var out = try Matrix(rows: 2, columns: 2)
        #expect(throws: KernelError.self) { try Kernels.stencil(try Matrix(rows: 3, columns: 2), into: &out) }
        var empty = try Matrix(rows: 0, columns: 0)
        #expect(throws: KernelError.self) { try Kernels.stencil(try Matrix(rows: 0, columns: 0), into: &empty) }
    }

    @Test("mandelbrot matches the reference escape counts")
    func mandelbrot() throws {
        let size = 48, maxIterations = 200
        let viewport = Kernels.Viewport.classic(size: size)
        var counts = [UInt32](repeating: 0, count: 5 * size)
        try counts.withUnsafeMutableBufferPointer { (buffer) throws(KernelError) in
            try Kernels.mandelbrot(viewport, rows: 20..<25, maxIterations: maxIterations, into: buffer)
        }
        for r in 0..<5 {
            for x in 0..<size {
                let cr = viewport.origin.x + Double(x) * viewport.step.x
                let ci = viewport.origin.y + Double(20 + r) * viewport.step.y
                var zr = 0.0, zi = 0.0, k = 0
                while k < maxIterations {
                    let zr2 = zr * zr, zi2 = zi * zi
                    if zr2 + zi2 > 4 { break }
                    zi = 2 * zr * zi + ci
                    zr = zr2 - zi2 + cr
                    k += 1
                }
                #expect(counts[r * size + x] == UInt32(k))
            }
        }
        #expect(counts.contains(UInt32(maxIterations)))  // the set itself is in view
    }

    @Test("mandelbrot refuses bad arguments")
    func mandelbrotErrors() {
        var counts = [UInt32](repeating: 0, count: 4)
        counts.withUnsafeMutableBufferPointer { buffer in
            #expect(throws: KernelError.self) {
                try Kernels.mandelbrot(.classic(size: 4), rows: 0..<1, maxIterations: 0, into: buffer)
            }
            #expect(throws: KernelError.self) {  // two rows of four do not fit in four
                try Kernels.mandelbrot(.classic(size: 4), rows: 0..<2, maxIterations: 10, into: buffer)
            }
            var bad = Kernels.Viewport.classic(size: 4)
            bad.step = (.nan, 1)
            #expect(throws: KernelError.self) {
                try Kernels.mandelbrot(bad, rows: 0..<1, maxIterations: 10, into: buffer)
            }
        }
    }

    @Test("FNV-1a matches known vectors and the reference")
    func fnv() {
        func reference(_ bytes: [UInt8], seed: UInt64) -> UInt64 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
            for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            return h
        }
        #expect([UInt8]().withUnsafeBytes { Kernels.fnv1a($0) } == 0xcbf2_9ce4_8422_2325)
        #expect(Array("a".utf8).withUnsafeBytes { Kernels.fnv1a($0) } == 0xaf63_dc4c_8601_ec8c)
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        #expect(bytes.withUnsafeBytes { Kernels.fnv1a($0, seed: 42) } == reference(bytes, seed: 42))
    }

    @Test("sleep blocks, and refuses a negative duration")
    func sleep() throws {
        try Kernels.sleep(for: .zero)
        try Kernels.sleep(for: .microseconds(100))
        #expect(throws: KernelError.self) { try Kernels.sleep(for: .milliseconds(-1)) }
    }

    @Test("Matrix is aligned, copy-on-write, and refuses bad shapes")
    func matrix() throws {
        var a = try Matrix(rows: 3, columns: 4, repeating: 1)
        a.withUnsafeBufferPointer { #expect(Int(bitPattern: $0.baseAddress) % Matrix.alignment == 0) }
        let b = a
        a[1, 2] = 5
        #expect(b[1, 2] == 1)
        #expect(a[1, 2] == 5)
        #expect(a != b)
        #expect(throws: KernelError.invalidShape(rows: -1, columns: 2)) { try Matrix(rows: -1, columns: 2) }
        #expect(throws: KernelError.self) { try Matrix(rows: Int.max, columns: 2) }
        #expect(try Matrix(rows: 0, columns: 5).count == 0)
    }
}

/// The suites that call OpenBLAS nest here and run one test at a time, and never beside
/// GILLabTests' (`.openBLASExclusive`): OpenBLAS's thread count is global to the process.
@Suite(.serialized, .openBLASExclusive) enum OpenBLASProcessWide {}
