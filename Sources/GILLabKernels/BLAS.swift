import CKernels

/// OpenBLAS's process-wide settings.
///
/// - Warning: The thread count is global to the process. Set it from one place at a time, and
///   put it back when done: ``withThreads(_:_:)`` does both.
public enum BLAS {
    /// The number of threads OpenBLAS uses for one call.
    public static var threads: Int { Int(ck_blas_get_num_threads()) }

    /// Sets the number of threads OpenBLAS uses for one call.
    /// - Throws: ``KernelError/invalidArgument(_:)`` when `count` < 1.
    public static func setThreads(_ count: Int) throws(KernelError) {
        guard (1...Int(Int32.max)).contains(count) else { throw .invalidArgument("BLAS threads \(count)") }
        try KernelError.check(ck_blas_set_num_threads(Int32(count)))
    }

    /// Runs `body` with `count` OpenBLAS threads, then restores the previous count, even when
    /// `body` throws.
    ///
    /// - Precondition: `count` is at least 1: check a count that comes from outside first
    ///   (``setThreads(_:)`` throws for it; every GILLab plan validates its counts).
    /// - Throws: what `body` throws.
    public static func withThreads<R, Failure: Error>(_ count: Int, _ body: () throws(Failure) -> R) throws(Failure) -> R {
        precondition(count >= 1, "BLAS.withThreads: the thread count must be at least 1, got \(count)")
        let saved = threads
        ck_blas_set_num_threads(Int32(clamping: count))  // cannot fail for a count of 1 or more
        defer { ck_blas_set_num_threads(Int32(saved)) }
        return try body()
    }

    /// `openblas_get_config()`: version and build options.
    public static var configuration: String { String(cString: ck_blas_config()) }

    /// `openblas_get_corename()`: the kernel set OpenBLAS chose for this CPU.
    public static var coreName: String { String(cString: ck_blas_corename()) }
}
