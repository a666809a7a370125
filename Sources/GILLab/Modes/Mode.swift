/// How a run spreads its fixed total work, and what it does with the lock around kernel calls.
public enum Mode: String, Sendable, CaseIterable, Codable {
    /// One thread does all the work, releasing the lock around kernels: the baseline for
    /// `speedup`, and the run whose held fraction feeds the Amdahl bound.
    case serial
    /// T threads; kernels are called holding the lock.
    case hold
    /// T threads; the lock is released around every kernel call.
    case release
    /// T threads under policy `free` (PEP 703): no lock to hold or release.
    case free
    /// One thread running T tasks, asyncio-style: each blocking call becomes an operation the
    /// loop waits on with poll, the lock released around the wait.
    case eventloop
    /// T worker processes of gillab's own binary, each with its own interpreter and lock
    /// (multiprocessing); inputs travel as ``Transfer`` says.
    case processes
    /// T orchestrating threads hand each unit to a compute pool, one worker per core: threads
    /// calling kernels with the lock released, or worker processes (``HybridCompute``).
    case hybrid

    /// How many OS threads (or processes) a row with `threads` runs its work on at once: one for
    /// serial and eventloop; for hybrid, units in flight (one per orchestrator) up to the pool's size.
    public func osThreads(_ threads: Int, computeWorkers: Int = MachineInfo.onlineCores) -> Int {
        switch self {
        case .serial, .eventloop: 1
        case .hybrid: min(threads, computeWorkers)
        case .hold, .release, .free, .processes: threads
        }
    }

    /// The calling discipline this mode uses for kernels.
    public var discipline: CallDiscipline {
        switch self {
        case .serial, .release, .free, .eventloop, .processes, .hybrid: .release
        case .hold: .hold
        }
    }

    /// What the mode does, in one line.
    public var summary: String {
        switch self {
        case .serial: "one thread, same total work: the baseline for speedup"
        case .hold: "T threads, kernels called holding the lock (an extension that forgot to release)"
        case .release: "T threads, the lock released around every kernel call (Py_BEGIN_ALLOW_THREADS)"
        case .free: "T threads under policy free (PEP 703): no mutual exclusion, whatever the run's policy"
        case .eventloop: "one thread, T tasks in flight (asyncio): blocking calls become timers and sockets polled by one loop"
        case .processes: "T worker processes, each its own interpreter and lock (multiprocessing); inputs travel as the transfer says"
        case .hybrid: "T orchestrating threads hand units to a compute pool of one worker per core, threads or processes"
        }
    }
}

extension Mode {
    /// The lock configuration this mode runs under: `free` overrides the policy.
    func lockConfiguration(_ base: LockConfiguration) -> LockConfiguration {
        guard self == .free else { return base }
        var configuration = base
        configuration.policy = .free
        return configuration
    }
}
