// A library user's own executable serving as GILLab's worker process: the one call its `main`
// makes, first thing, as a Python program guards its entry with `if __name__ == "__main__":` so
// that multiprocessing's spawned children run only the work they are sent. The tests start it
// through `RunPlan.workerExecutable` and check that `processes` rows compute what serial does.
import GILLab

WorkerProcess.runIfWorker()  // started as a worker: serves the job on stdin, then exits

print("worker-example: not started as a worker; name this binary in RunPlan.workerExecutable")
