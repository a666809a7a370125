#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GILLab

/// Ctrl-C during a sweep: the first SIGINT asks the run to stop after the trial in progress, so
/// the rows of the rounds completed so far are still printed (and gillab then exits 130, as a
/// shell reports a SIGINT); a second SIGINT ends the process at once.
enum Interrupt {
    /// The run's stop request, set from the signal handler (one atomic store).
    static let request = StopRequest()

    /// Installs the handler.
    static func install() {
        // A parent may have spawned us with SIGINT blocked (test runners do); threads made from
        // here on inherit this thread's mask.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in
            Interrupt.request.stop()
            signal(SIGINT, SIG_DFL)  // the next Ctrl-C is not caught
        }
    }

    /// The exit status for an interrupted run: 128 + SIGINT.
    static let exitStatus: Int32 = 128 + SIGINT
}
