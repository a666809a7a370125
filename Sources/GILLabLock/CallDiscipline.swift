/// Whether a native call keeps the interpreter lock or gives it up while it runs.
public enum CallDiscipline: String, Sendable, CaseIterable, Codable {
    /// The call runs with the lock held, like an extension that forgot
    /// `Py_BEGIN_ALLOW_THREADS`, or a `ctypes.PyDLL` function. Nobody else runs Python-level
    /// code meanwhile, and the holder cannot be asked to drop until the call returns.
    case hold
    /// The lock is released around the call, like `Py_BEGIN_ALLOW_THREADS` or a `ctypes.CDLL`
    /// function. Other threads run meanwhile.
    case release
}

extension ThreadState {
    /// Calls a native function under `discipline`.
    ///
    /// ```swift
    /// let sum = thread.call(.release) {
    ///     buffer.reduce(0, +)     // a plain buffer copied out while holding the lock
    /// }
    /// ```
    ///
    /// With ``CallDiscipline/release``, `body` runs without the lock and must not touch
    /// interpreter objects; the lock is taken back even when `body` throws.
    ///
    /// - Parameters:
    ///   - discipline: hold or release the lock during the call.
    ///   - reason: what the release is for, when releasing; a kernel call by default.
    ///   - body: the native call.
    @inlinable  // specialized in the caller, as withoutLock is: native calls cross modules
    public func call<Result, Failure: Error>(
        _ discipline: CallDiscipline,
        reason: ReleaseReason = .kernel,
        _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        switch discipline {
        case .hold: try body()
        case .release: try withoutLock(reason: reason, body)
        }
    }
}
