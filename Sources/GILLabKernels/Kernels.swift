import GILLabLock
import CKernels

/// Swift faces of the C kernels in `CKernels`.
///
/// These functions know nothing of the interpreter lock, exactly as the C kernels do. Whether
/// the lock is held or released around a call is decided by the caller, through
/// ``/GILLabLock/ThreadState/call(_:reason:_:)`` and a ``/GILLabLock/CallDiscipline``.
public enum Kernels {
    /// `C := alpha * A * B + beta * C`
    ///
    /// - Parameters:
    ///   - a: an m×k matrix.
    ///   - b: a k×n matrix.
    ///   - c: an m×n matrix, overwritten with the result.
    ///   - alpha: scale of the product; 1 by default.
    ///   - beta: scale of `c`'s previous contents; 0 by default, which ignores them.
    /// - Throws: ``KernelError/shapeMismatch(_:)`` when the shapes do not conform.
    ///
    /// Implementation notes: OpenBLAS `cblas_dgemm`, row-major, with the process-wide OpenBLAS
    /// thread count (see ``BLAS``). The corresponding C function is `ck_dgemm`.
    public static func gemm(_ a: Matrix, _ b: Matrix, into c: inout Matrix,
                            alpha: Double = 1, beta: Double = 0) throws(KernelError) {
        guard a.columns == b.rows, c.rows == a.rows, c.columns == b.columns else {
            throw .shapeMismatch("A \(a.rows)×\(a.columns) · B \(b.rows)×\(b.columns) → C \(c.rows)×\(c.columns)")
        }
        let status = a.withUnsafeBufferPointer { ab in
            b.withUnsafeBufferPointer { bb in
                c.withMutableView { cv in ck_dgemm(alpha, a.constView(ab), b.constView(bb), beta, cv) }
            }
        }
        try KernelError.check(status)
    }

    /// One Jacobi sweep of the 5-point Laplace stencil: each interior point of `output` becomes
    /// the mean of its four neighbours in `input`; boundary points are copied.
    ///
    /// - Throws: ``KernelError/shapeMismatch(_:)`` when the shapes differ, and
    ///   ``KernelError/invalidArgument(_:)`` for an empty grid.
    ///
    /// The corresponding C function is `ck_stencil5`.
    public static func stencil(_ input: Matrix, into output: inout Matrix) throws(KernelError) {
        guard input.rows == output.rows, input.columns == output.columns else {
            throw .shapeMismatch("stencil input \(input.rows)×\(input.columns) → output \(output.rows)×\(output.columns)")
        }
        guard input.count > 0 else { throw .invalidArgument("stencil grid is empty (\(input.rows)×\(input.columns))") }
        let status = input.withUnsafeBufferPointer { ib in
            output.withMutableView { ov in ck_stencil5(input.constView(ib), ov) }
        }
        try KernelError.check(status)
    }

    /// A rectangle of the complex plane sampled on a grid, for ``mandelbrot(_:rows:maxIterations:into:)``.
    public struct Viewport: Sendable, Equatable {
        /// Plane coordinates of grid point (0, 0).
        public var origin: (x: Double, y: Double)
        /// Distance between neighbouring grid points.
        public var step: (x: Double, y: Double)
        /// Points per row.
        public var width: Int

        /// Creates a viewport.
        public init(origin: (x: Double, y: Double), step: (x: Double, y: Double), width: Int) {
            self.origin = origin
            self.step = step
            self.width = width
        }

        /// The classic view, x ∈ [-2, 0.5), y ∈ [-1.25, 1.25), as a `size × size` grid.
        public static func classic(size: Int) -> Viewport {
            let step = 2.5 / Double(max(size, 1))
            return Viewport(origin: (-2, -1.25), step: (step, step), width: size)
        }

        /// Equal origins, steps and widths.
        public static func == (lhs: Viewport, rhs: Viewport) -> Bool {
            lhs.origin == rhs.origin && lhs.step == rhs.step && lhs.width == rhs.width
        }
    }

    /// Mandelbrot escape counts for grid rows `rows` of `viewport`: for each point c, the least
    /// k < `maxIterations` with |z_k| > 2 (z₀ = 0, z ← z² + c), or `maxIterations` if none.
    ///
    /// - Parameters:
    ///   - viewport: the plane rectangle and its grid width.
    ///   - rows: the grid rows to compute.
    ///   - maxIterations: the escape-count cap.
    ///   - counts: receives `rows.count × viewport.width` counts, row-major.
    /// - Throws: ``KernelError/invalidArgument(_:)`` for a negative width, an empty or negative
    ///   row range, `maxIterations` < 1, or a buffer that is too small.
    ///
    /// The corresponding C function is `ck_mandelbrot`.
    public static func mandelbrot(_ viewport: Viewport, rows: Range<Int>, maxIterations: Int,
                                  into counts: UnsafeMutableBufferPointer<UInt32>) throws(KernelError) {
        guard viewport.width >= 0 else { throw .invalidArgument("mandelbrot width \(viewport.width)") }
        guard rows.lowerBound >= 0 else { throw .invalidArgument("mandelbrot rows \(rows)") }
        guard (1...Int(UInt32.max)).contains(maxIterations) else {
            throw .invalidArgument("mandelbrot maxIterations \(maxIterations)")
        }
        let status = ck_mandelbrot(viewport.origin.x, viewport.origin.y, viewport.step.x, viewport.step.y,
                                   viewport.width, rows.lowerBound, rows.count, UInt32(maxIterations),
                                   counts.baseAddress, counts.count)
        try KernelError.check(status)
    }

    /// 64-bit FNV-1a hash of `bytes`, with `seed` XORed into the offset basis (0 gives standard
    /// FNV-1a).
    ///
    /// The corresponding C function is `ck_fnv1a64`.
    public static func fnv1a(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        var hash: UInt64 = 0
        let status = ck_fnv1a64(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, seed, &hash)
        // The only failure is a nil base with a non-zero count, which a buffer pointer cannot be.
        precondition(status == CK_OK, "ck_fnv1a64 failed: \(status)")
        return hash
    }

    /// Blocks the calling thread for `duration`, as a blocking system call does.
    ///
    /// - Throws: ``KernelError/invalidArgument(_:)`` for a negative duration, and
    ///   ``KernelError/status(name:message:)`` when the operating system refuses the sleep.
    ///
    /// The corresponding C function is `ck_sleep_ns`.
    public static func sleep(for duration: Duration) throws(KernelError) {
        guard duration >= .zero else { throw .invalidArgument("sleep duration \(duration)") }
        try KernelError.check(ck_sleep_ns(duration.wholeNanoseconds))
    }

    /// Sets how late the kernel may wake the calling thread from a timed sleep (Linux's timer
    /// slack, 50 µs by default); `nil` restores the default. Shrinking it makes a measured
    /// wake-up latency the scheduler's and the lock's rather than the timer's.
    ///
    /// The corresponding C function is `ck_set_timer_slack_ns`.
    /// - Throws: ``KernelError`` where the system has no per-thread timer slack (not Linux).
    public static func setTimerSlack(_ slack: Duration?) throws(KernelError) {
        // 0 asks the kernel for the default, so a positive slack below 1 ns becomes 1 ns.
        guard let slack else { return try KernelError.check(ck_set_timer_slack_ns(0)) }
        guard slack > .zero else { throw .invalidArgument("timer slack \(slack)") }
        try KernelError.check(ck_set_timer_slack_ns(max(slack.wholeNanoseconds, 1)))
    }
}
