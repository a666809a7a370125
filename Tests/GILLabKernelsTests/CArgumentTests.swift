import CKernels
import Testing
@testable import GILLabKernels
import GILLabTestSupport

/// Every C kernel refuses bad arguments with a status code, called straight from Swift as any C
/// caller would: NULL pointers, "negative" dimensions (a -1 that a C caller passes as size_t
/// becomes SIZE_MAX), sizes whose products overflow size_t, and leading dimensions that do not
/// cover a row. None of these may touch memory.
@Suite("C kernels refuse bad arguments")
struct CArgumentTests {
    static let huge = Int(bitPattern: UInt(1) << 33)   // huge × huge overflows 64 bits
    static let minusOne = Int(bitPattern: UInt.max)    // (size_t)-1

    static func matrix(_ base: UnsafePointer<Double>?, count: Int, rows: Int, cols: Int, ld: Int) -> ck_const_dmatrix {
        ck_const_dmatrix(base: base, count: count, rows: rows, cols: cols, ld: ld)
    }

    static func output(_ base: UnsafeMutablePointer<Double>?, count: Int, rows: Int, cols: Int, ld: Int) -> ck_dmatrix {
        ck_dmatrix(base: base, count: count, rows: rows, cols: cols, ld: ld)
    }

    /// (what, expected status, the call). Each call gets a valid 16-element scratch buffer.
    static let cases: [(String, ck_status, @Sendable (UnsafeMutablePointer<Double>) -> ck_status)] = [
        ("dgemm: NULL A", CK_EINVAL, { p in ck_dgemm(1, matrix(nil, count: 4, rows: 2, cols: 2, ld: 2), matrix(p, count: 4, rows: 2, cols: 2, ld: 2), 0, output(p, count: 4, rows: 2, cols: 2, ld: 2)) }),
        ("dgemm: NULL C", CK_EINVAL, { p in ck_dgemm(1, matrix(p, count: 4, rows: 2, cols: 2, ld: 2), matrix(p, count: 4, rows: 2, cols: 2, ld: 2), 0, output(nil, count: 4, rows: 2, cols: 2, ld: 2)) }),
        ("dgemm: leading dimension shorter than a row", CK_EINVAL, { p in ck_dgemm(1, matrix(p, count: 16, rows: 2, cols: 4, ld: 3), matrix(p, count: 16, rows: 4, cols: 2, ld: 2), 0, output(p, count: 16, rows: 2, cols: 2, ld: 2)) }),
        ("dgemm: n × n overflows size_t", CK_EOVERFLOW, { p in ck_dgemm(1, matrix(p, count: 16, rows: huge, cols: huge, ld: huge), matrix(p, count: 16, rows: huge, cols: huge, ld: huge), 0, output(p, count: 16, rows: huge, cols: huge, ld: huge)) }),
        ("dgemm: a -1 dimension", CK_EOVERFLOW, { p in ck_dgemm(1, matrix(p, count: 16, rows: minusOne, cols: 2, ld: 2), matrix(p, count: 16, rows: 2, cols: 2, ld: 2), 0, output(p, count: 16, rows: minusOne, cols: 2, ld: 2)) }),
        // The counts claim buffers big enough, so that only the int limit is left to refuse.
        ("dgemm: order beyond BLAS's int", CK_EOVERFLOW, { p in ck_dgemm(1, matrix(p, count: Int(Int32.max) + 1, rows: 1, cols: Int(Int32.max) + 1, ld: Int(Int32.max) + 1), matrix(p, count: Int(Int32.max) + 1, rows: Int(Int32.max) + 1, cols: 1, ld: 1), 0, output(p, count: 16, rows: 1, cols: 1, ld: 1)) }),
        ("stencil: NULL input", CK_EINVAL, { p in ck_stencil5(matrix(nil, count: 16, rows: 4, cols: 4, ld: 4), output(p, count: 16, rows: 4, cols: 4, ld: 4)) }),
        ("stencil: NULL output", CK_EINVAL, { p in ck_stencil5(matrix(p, count: 16, rows: 4, cols: 4, ld: 4), output(nil, count: 16, rows: 4, cols: 4, ld: 4)) }),
        ("stencil: leading dimension shorter than a row", CK_EINVAL, { p in ck_stencil5(matrix(p, count: 16, rows: 4, cols: 4, ld: 3), output(p, count: 16, rows: 4, cols: 4, ld: 4)) }),
        ("stencil: rows × ld overflows size_t", CK_EOVERFLOW, { p in ck_stencil5(matrix(p, count: 16, rows: huge, cols: huge, ld: huge), output(p, count: 16, rows: huge, cols: huge, ld: huge)) }),
        ("stencil: a -1 dimension", CK_EOVERFLOW, { p in ck_stencil5(matrix(p, count: 16, rows: minusOne, cols: 4, ld: 4), output(p, count: 16, rows: minusOne, cols: 4, ld: 4)) }),
        ("mandelbrot: NULL output", CK_EINVAL, { _ in ck_mandelbrot(0, 0, 0.1, 0.1, 4, 0, 4, 10, nil, 16) }),
        ("mandelbrot: width × rows overflows size_t", CK_EOVERFLOW, { p in ck_mandelbrot(0, 0, 0.1, 0.1, huge, 0, huge, 10, UnsafeMutableRawPointer(p).assumingMemoryBound(to: UInt32.self), 16) }),
        ("mandelbrot: a -1 width", CK_EOVERFLOW, { p in ck_mandelbrot(0, 0, 0.1, 0.1, minusOne, 0, 2, 10, UnsafeMutableRawPointer(p).assumingMemoryBound(to: UInt32.self), 16) }),
        ("mandelbrot: output too small", CK_ERANGE, { p in ck_mandelbrot(0, 0, 0.1, 0.1, 8, 0, 8, 10, UnsafeMutableRawPointer(p).assumingMemoryBound(to: UInt32.self), 16) }),
        ("mandelbrot: a step that is not finite", CK_EINVAL, { p in ck_mandelbrot(0, 0, .nan, 0.1, 4, 0, 4, 10, UnsafeMutableRawPointer(p).assumingMemoryBound(to: UInt32.self), 16) }),
        ("fnv1a: NULL data with bytes to hash", CK_EINVAL, { p in ck_fnv1a64(nil, 8, 0, UnsafeMutableRawPointer(p).assumingMemoryBound(to: UInt64.self)) }),
        ("fnv1a: NULL result", CK_EINVAL, { p in ck_fnv1a64(UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), 8, 0, nil) }),
        ("relax: NULL input", CK_EINVAL, { p in (ck_ext_relax(nil, 8, 1, 0, p, p + 15)) }),
        ("relax: NULL output", CK_EINVAL, { p in (ck_ext_relax(p, 8, 1, 0, nil, p + 15)) }),
        ("relax: fewer than 3 values", CK_EINVAL, { p in (ck_ext_relax(p, 2, 1, 0, p + 8, p + 15)) }),
        ("relax: negative passes", CK_EINVAL, { p in (ck_ext_relax(p, 8, -1, 0, p + 8, p + 15)) }),
        ("relax: a -1 count", CK_EOVERFLOW, { p in (ck_ext_relax(p, minusOne, 1, 0, p + 8, p + 15)) }),
        ("poll: NULL ready", CK_EINVAL, { _ in ck_poll_ns(nil, 0, 0, nil) }),
        ("poll: NULL descriptors with a count", CK_EINVAL, { _ in var ready: Int32 = 0; return ck_poll_ns(nil, 2, 0, &ready) }),
        ("BLAS threads: 0", CK_EINVAL, { _ in ck_blas_set_num_threads(0) }),
        ("BLAS threads: -3", CK_EINVAL, { _ in ck_blas_set_num_threads(-3) }),
    ]


    @Test("each bad argument gets its status code, and nothing is written", arguments: cases.indices)
    func refuses(index: Int) {
        let (what, expected, call) = Self.cases[index]
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 16)
        defer { scratch.deallocate() }
        scratch.initialize(repeating: 42, count: 16)
        let status = call(scratch)
        #expect(status == expected, "\(what): got \(String(cString: ck_status_name(Int32(status.rawValue)))), expected \(String(cString: ck_status_name(Int32(expected.rawValue))))")
        if what.hasPrefix("dgemm") || what.hasPrefix("stencil") || what.hasPrefix("mandelbrot") || what.hasPrefix("relax") {
            #expect((0..<16).allSatisfy { scratch[$0] == 42 }, "\(what) wrote to its buffer")
        }
    }
}
