#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GILLab
import Synchronization

/// Ctrl-C, or SIGTERM (what `timeout`, CI runners and job schedulers send), during a sweep: the
/// first one asks the run to stop after the trial in progress, so the rows of the rounds
/// completed so far are still printed, and gillab then exits 128 + the signal (130 for SIGINT,
/// 143 for SIGTERM), as a shell reports it; a second one ends the process at once.
enum Interrupt {
    /// The run's stop request, set from the signal handler (one atomic store).
    static let request = StopRequest()
    /// The signal that asked; SIGINT until one comes. An atomic store, safe in a handler.
    private static let caught = Atomic<Int32>(SIGINT)
    /// The signals that stop a run.
    static let signals = [SIGINT, SIGTERM]

    /// Installs the handlers.
    static func install() {
        // A parent may have spawned us with these signals blocked (test runners do); threads
        // made from here on inherit this thread's mask.
        var set = sigset_t()
        sigemptyset(&set)
        for number in signals { sigaddset(&set, number) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for number in signals {
            signal(number) { number in
                Interrupt.caught.store(number, ordering: .relaxed)
                Interrupt.request.stop()
                signal(number, SIG_DFL)  // the next one is not caught
            }
        }
    }

    /// The exit status for a stopped run: 128 + the signal that stopped it.
    static var exitStatus: Int32 { 128 + caught.load(ordering: .relaxed) }
}
