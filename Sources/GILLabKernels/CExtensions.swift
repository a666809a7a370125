import CKernels
import GILLabLock

extension Kernels {
    /// The result of ``relax(_:passes:threshold:)``.
    public struct Relaxed: Sendable, Equatable {
        /// The relaxed values.
        public var values: [Double]
        /// Their sum.
        public var sum: Double
    }

    /// Releases below this much work (values × passes) cost more than they gain. A fixed guess,
    /// as numpy's 500 is; `gillab scenario crossover` measures where a release starts to pay.
    public static let defaultRelaxThreshold = 4_096

    /// `ck_ext_relax`: a C "extension function" that releases the interpreter lock itself
    /// (`CK_BEGIN_ALLOW_THREADS_IF` in `ck_lock.h`) around its heavy loop when values × passes
    /// exceeds `threshold`. Call it holding the lock, not inside `withoutLock`: nested releases
    /// trap. Outside any interpreter thread it runs without touching a lock.
    ///
    /// Each pass replaces every interior value by the mean of itself and its two neighbours.
    /// - Throws: ``KernelError`` for fewer than 3 values, negative passes, or a value that is
    ///   not finite (found in the released loop; the C code takes the lock back first).
    public static func relax(_ values: [Double], passes: Int,
                             threshold: Int = defaultRelaxThreshold) throws(KernelError) -> Relaxed {
        guard let passes = Int32(exactly: passes) else { throw .invalidArgument("passes \(passes)") }
        var output = [Double](repeating: 0, count: values.count)
        var sum = 0.0
        CLockHooks.install()
        let status = values.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                ck_ext_relax(input.baseAddress, input.count, passes, max(threshold, 0), out.baseAddress, &sum)
            }
        }
        try KernelError.check(status)
        return Relaxed(values: output, sum: sum)
    }
}
