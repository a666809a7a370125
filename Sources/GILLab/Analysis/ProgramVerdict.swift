// `gillab exec`'s verdict: the advisor's classification applied to a program's own run.

/// What a program's run says about it, in the advisor's words.
public struct ProgramVerdict: Sendable, Codable, Equatable {
    /// How its threads spent their time.
    public var classification: WorkloadClass
    /// The strategy to try.
    public var recommendation: RecommendedStrategy
    /// One sentence: the class, the share that decided it, and what to try.
    public var summary: String

    /// Classifies `run` by where its threads' time went (held, released in kernels, released in
    /// blocking calls), as ``Advisor`` classifies a one-thread profile.
    public init(_ run: ProgramRun) {
        let (held, kernel, io) = run.shares.normalized
        classification = Advisor.classify(held: held, kernel: kernel, io: io)
        recommendation = Advisor.strategy(for: classification)
        func percent(_ value: Double) -> String { String(Int((value * 100).rounded())) + "%" }
        summary = switch classification {
        case .ioBound:
            "I/O-bound: its threads spent \(percent(io)) of their busy time blocked with the lock released; threads overlap the waits (or an asyncio-style event loop)"
        case .cpuHoldingLock:
            "Python-CPU-bound: the lock was held for \(percent(held)) of its threads' busy time, one thread at a time; threads cannot run it in parallel: try processes (multiprocessing) or a free-threaded runtime"
        case .cpuReleased:
            "native-CPU-bound: \(percent(kernel)) of its threads' busy time was in kernels that release the lock; threads scale with the cores"
        case .mixed:
            "mixed: held \(percent(held)), kernels \(percent(kernel)), blocking calls \(percent(io)); try a hybrid: I/O threads with a process pool for the Python-level part"
        }
    }
}
