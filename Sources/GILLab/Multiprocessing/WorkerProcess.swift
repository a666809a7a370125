#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The worker side of `processes` mode, and of every job a handler (`WorkerJobHandler`) serves.
///
/// A worker is one process with its own interpreter lock and its own interpreter, as each
/// multiprocessing worker is a whole CPython. The parent starts `executable --gillab-worker`
/// (``argument``) and writes a job to its stdin. The worker builds its lock from the job, then
/// either runs the runner's units (the default: it builds its workload from its own settings,
/// from input on the pipe, or from shared memory, says it is ready, and answers each unit range
/// it is sent with a checksum and its lock statistics) or hands the job to the handler the job
/// names, until it is told to exit. See `WorkerProtocol.swift` for the frames.
///
/// Any executable linking GILLab can be the worker: its `main` calls
/// ``runIfWorker()`` first, as a Python program guards its entry with
/// `if __name__ == "__main__":` for multiprocessing's spawn, and the run names it with
/// ``RunPlan/workerExecutable``.
public enum WorkerProcess {
    /// The first argument a worker is started with.
    public static let argument = "--gillab-worker"

    /// Whether this process was started as a worker.
    public static var isWorker: Bool { CommandLine.arguments.dropFirst().first == argument }

    /// Serves the job on stdin and exits, when this process was started as a worker; returns at
    /// once otherwise. `handlers` are the jobs it serves besides the runner's units.
    static func runIfWorker(serving handlers: [any WorkerJobHandler.Type]) {
        guard isWorker else { return }
        exit(serve(handlers: handlers))
    }

    /// Serves one job on `input` and `output` (stdin and stdout by default).
    /// - Returns: the exit status: 0 after an orderly exit, 1 on any failure, which is also
    ///   written to stderr and, when possible, sent to the parent.
    static func serve(input: Int32 = 0, output: Int32 = 1, handlers: [any WorkerJobHandler.Type]) -> Int32 {
        do throws(WorkerJobFailure) {
            try run(input: input, output: output, handlers: handlers)
            return 0
        } catch {
            if case .quietly = error { return 1 }
            let message = error.message
            _ = Array(message.utf8).withUnsafeBytes { writeFrame(output, .failure, $0) }
            let line = "gillab worker: error: \(message)\n"
            _ = Array(line.utf8).withUnsafeBytes { writeAll(2, $0) }
            return 1
        }
    }

    private static func run(input: Int32, output: Int32, handlers: [any WorkerJobHandler.Type]) throws(WorkerJobFailure) {
        let session = WorkerSession(input: input, output: output)
        let job = try session.receive(WorkerJob.self, .job)
        let configuration: LockConfiguration
        do {
            configuration = try LockConfiguration(policy: job.policy == .perInterpreter ? .newGIL : job.policy,
                                                  switchInterval: .nanoseconds(Int64(job.switchIntervalNanoseconds)),
                                                  checkInterval: job.checkInterval)
        } catch {
            throw .failed(error.description)
        }
        do { try BLAS.setThreads(job.blasThreads) } catch { throw .failed(error.description) }
        let lock = InterpreterLock(configuration: configuration)
        let thread = lock.makeThreadState(name: "process-\(job.index)")
        guard let name = job.handler else { return try serveUnits(job, on: thread, session) }
        guard let handler = handlers.first(where: { $0.name == name }) else {
            let known = handlers.map { "'\($0.name)'" }.joined(separator: ", ")
            throw .failed("this worker serves no '\(name)' jobs (it serves units\(known.isEmpty ? "" : " and " + known)); "
                          + "is it built from another version of GILLab than the program that started it?")
        }
        try handler.serve(job, on: thread, session)
    }

    /// The runner's units: `processes` rows, and `hybrid`'s compute pool of processes.
    private static func serveUnits(_ job: WorkerJob, on thread: ThreadState, _ session: WorkerSession) throws(WorkerJobFailure) {
        let workload: any Workload
        do { workload = try job.workload.make(size: job.size, units: job.units) } catch { throw .failed(error.description) }
        defer { workload.close() }

        // Receiving the input is this side's IPC cost; building from it is set-up, as
        // generating it is under `none`.
        var worker: any WorkloadWorker
        var receiveNanoseconds: UInt64 = 0
        thread.acquire()
        defer { thread.detach() }
        func build(_ make: () throws(WorkloadError) -> any WorkloadWorker) throws(WorkerJobFailure) -> any WorkloadWorker {
            do { return try make() } catch { throw .failed(error.description) }
        }
        switch job.transfer {
        case .none:
            worker = try build { () throws(WorkloadError) in try workload.makeWorker(on: thread, discipline: .release) }
        case .pipe:
            let start = monotonicNanoseconds()
            let frame = try session.receive(.input)
            receiveNanoseconds = monotonicNanoseconds() - start
            worker = try build { () throws(WorkloadError) in
                try frame.payload.withUnsafeBytes { bytes in
                    Result { () throws(WorkloadError) in try workload.makeWorker(on: thread, discipline: .release, input: bytes) }
                }.get()
            }
        case .shm:
            guard let name = job.sharedMemoryName else { throw .failed("a job under shm that names no shared memory") }
            let start = monotonicNanoseconds()
            let shared: SharedMemory
            do { shared = try SharedMemory(opening: name, count: job.inputBytes) } catch { throw .failed(error.description) }
            receiveNanoseconds = monotonicNanoseconds() - start
            worker = try build { () throws(WorkloadError) in
                try workload.makeWorker(on: thread, discipline: .release, input: UnsafeRawBufferPointer(shared.bytes))
            }
        }
        thread.release(reason: .end)
        session.ready(receiveNanoseconds: receiveNanoseconds)

        var fault = job.fault
        while true {
            let frame = try session.receive(nil)
            if frame.tag == FrameTag.exit.rawValue { return }
            guard frame.tag == FrameTag.task.rawValue, let task = frame.decode(WorkerTask.self) else {
                throw .failed("expected a task, got frame tag \(frame.tag)")
            }
            switch fault.take() {
            case .crash?:
                // Die by SIGABRT as a crash does, without the Swift runtime's backtracer (which
                // would fork a symbolizer, slowly, and not at all well under a sanitizer).
                signal(SIGABRT, SIG_DFL)
                raise(SIGABRT)
            case .kill?: kill(getpid(), SIGKILL)
            case .hang?: while true { pause() }
            case .garbage?:
                _ = Array("this is not a frame".utf8).withUnsafeBytes { writeAll(session.output, $0) }
                throw .quietly
            case nil: break
            }
            guard task.start >= 0, task.start <= task.end, task.end <= job.units else {
                throw .failed("task units \(task.start)..<\(task.end) outside 0..<\(job.units)")
            }
            thread.resetStatistics()
            thread.acquire()
            var checksum: UInt64 = 0
            do throws(WorkloadError) {
                for unit in task.start..<task.end { checksum &+= try worker.run(unit: unit, on: thread) }
            } catch {
                throw .failed(error.description)
            }
            thread.release(reason: .end)
            session.send(WorkerResult(checksum: checksum, statistics: thread.statistics), .result)
        }
    }

}

// MARK: - Handlers

/// A kind of job a worker process serves instead of the runner's units. The part of the lab that
/// needs one defines it (the service scenario's request handler), and the lab's worker entry,
/// ``WorkerProcess/runIfWorker()``, lists them all, so that this folder knows no scenario.
protocol WorkerJobHandler {
    /// The name a ``WorkerJob`` gives in `handler`; unique among handlers.
    static var name: String { get }

    /// Serves `job` on `thread`, a fresh thread state of the worker's own lock that does not
    /// hold it yet: set up (from the job's `settings`), say ``WorkerSession/ready(receiveNanoseconds:)``,
    /// then answer frames until an `exit` frame, and return.
    static func serve(_ job: WorkerJob, on thread: ThreadState, _ session: WorkerSession) throws(WorkerJobFailure)
}

/// A worker's two pipes to its parent.
struct WorkerSession {
    let input: Int32
    let output: Int32

    /// The next frame; with `tag`, one of that kind only.
    func receive(_ tag: FrameTag?) throws(WorkerJobFailure) -> WireFrame {
        let frame: WireFrame
        do { frame = try readFrame(input) } catch {
            switch error {
            case .endOfFile: throw .quietly  // the parent is gone or gave up: nothing to tell
            case .malformed(let detail): throw .failed("the parent sent garbage: \(detail)")
            }
        }
        if let tag, frame.tag != tag.rawValue { throw .failed("expected frame \(tag), got tag \(frame.tag)") }
        return frame
    }

    /// The next frame, which must be `tag`, decoded.
    func receive<Message: Decodable>(_ type: Message.Type, _ tag: FrameTag) throws(WorkerJobFailure) -> Message {
        guard let message = try receive(tag).decode(type) else { throw .failed("a \(tag) frame that does not decode") }
        return message
    }

    func send<Message: Encodable>(_ message: Message, _ tag: FrameTag) {
        // A parent that has gone will see nothing anyway; the next read then ends the worker.
        _ = writeFrame(output, tag, message)
    }

    /// Tells the parent that the worker is set up: its clock, memory and CPU time now.
    func ready(receiveNanoseconds: UInt64 = 0) {
        send(WorkerReady(readyAtNanoseconds: systemMonotonicNanoseconds(), receiveNanoseconds: receiveNanoseconds,
                         residentBytes: residentBytes(), cpuNanoseconds: processCPUNanoseconds()), .ready)
    }
}

/// Why a worker gives up.
enum WorkerJobFailure: Error {
    case failed(String)
    /// End without a message: the parent is gone, or the fault was to send garbage.
    case quietly

    var message: String {
        switch self {
        case .failed(let message): message
        case .quietly: ""
        }
    }
}

