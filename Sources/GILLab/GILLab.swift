// The lab's front door: workloads, modes, worker processes, the runner, scenarios, analysis and
// reports live in the folders beside this file. It re-exports the three modules readers study,
// so `import GILLab` is all a library user needs, and it is the one place that sees every
// folder: the worker entry below lists the job handlers the folders define.
@_exported import GILLabInterpreter
@_exported import GILLabKernels
@_exported import GILLabLock

extension WorkerProcess {
    /// Serves one job and exits, when this process was started as a GILLab worker; returns at
    /// once otherwise. The one call an executable's `main` makes, first thing, to serve as the
    /// worker of `processes` and `hybrid` rows and of the service scenario, as a Python program
    /// guards its entry with `if __name__ == "__main__":` for multiprocessing:
    ///
    /// ```swift
    /// import GILLab
    ///
    /// WorkerProcess.runIfWorker()   // a worker serves its job here and exits
    /// // … the program proper: build a RunPlan with workerExecutable set to this binary
    /// ```
    ///
    /// `gillab` itself does this; ``RunPlan/workerExecutable`` names another binary to use.
    public static func runIfWorker() {
        runIfWorker(serving: [ServiceWorkerJob.self])
    }
}
