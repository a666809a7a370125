#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The worker side of `--modes processes`: what runs inside `gillab worker`.
///
/// A worker is one process with its own interpreter lock and its own interpreter, as each
/// multiprocessing worker is a whole CPython. It reads a job from stdin, builds its workload
/// (from its own settings, from input on the pipe, or from shared memory), says it is ready,
/// then runs the unit ranges it is sent and answers each with a checksum and its lock
/// statistics, until it is told to exit. See `WorkerProtocol.swift` for the frames.
public enum WorkerProcess {
    /// Serves one job on `input` and `output` (stdin and stdout by default).
    /// - Returns: the exit status: 0 after an orderly exit, 1 on any failure, which is also
    ///   written to stderr and, when possible, sent to the parent.
    public static func serve(input: Int32 = 0, output: Int32 = 1) -> Int32 {
        do throws(WorkerProcessFailure) {
            try run(input: input, output: output)
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

    private static func run(input: Int32, output: Int32) throws(WorkerProcessFailure) {
        let job = try receive(WorkerJob.self, .job, from: input)
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
        if let service = job.service {
            try serveRequests(service, on: thread, input: input, output: output)
            return
        }
        let workload: any Workload
        do { workload = try job.workload.make(size: job.size, units: job.units) } catch { throw .failed(error.description) }
        defer { workload.close() }

        // Receiving the input is this side's IPC cost; building from it is set-up, as
        // generating it is under `none`.
        var worker: any WorkloadWorker
        var receiveNanoseconds: UInt64 = 0
        thread.acquire()
        defer { thread.detach() }
        func build(_ make: () throws(WorkloadError) -> any WorkloadWorker) throws(WorkerProcessFailure) -> any WorkloadWorker {
            do { return try make() } catch { throw .failed(error.description) }
        }
        switch job.transfer {
        case .none:
            worker = try build { () throws(WorkloadError) in try workload.makeWorker(on: thread, discipline: .release) }
        case .pipe:
            let start = monotonicNanoseconds()
            let frame = try receiveFrame(.input, from: input)
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
        send(WorkerReady(readyAtNanoseconds: monotonicNanoseconds(), receiveNanoseconds: receiveNanoseconds,
                         residentBytes: residentBytes(), cpuNanoseconds: processCPUNanoseconds()), .ready, to: output)

        var fault = job.fault
        while true {
            let frame = try receiveFrame(nil, from: input)
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
                _ = Array("this is not a frame".utf8).withUnsafeBytes { writeAll(output, $0) }
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
            send(WorkerResult(checksum: checksum, statistics: thread.statistics), .result, to: output)
        }
    }

    /// A `gillab scenario service` worker: handles fetched requests one at a time (`hybrid`'s
    /// compute pool), or fetches and handles whole batches itself (`processes`).
    private static func serveRequests(_ settings: ServiceWorkerSettings, on thread: ThreadState,
                                      input: Int32, output: Int32) throws(WorkerProcessFailure) {
        thread.acquire()
        defer { thread.detach() }
        let handler: ServiceHandler
        do { handler = try ServiceHandler(on: thread, discipline: .release, size: settings.size) } catch {
            throw .failed(error.description)
        }
        var client: ServiceClient?
        thread.release(reason: .end)
        send(WorkerReady(readyAtNanoseconds: monotonicNanoseconds(), receiveNanoseconds: 0,
                         residentBytes: residentBytes(), cpuNanoseconds: processCPUNanoseconds()), .ready, to: output)
        while true {
            let frame = try receiveFrame(nil, from: input)
            thread.resetStatistics()
            thread.acquire()
            do throws(WorkloadError) {
                switch FrameTag(rawValue: frame.tag) {
                case .exit?:
                    return
                case .request?:
                    guard let request = frame.decode(ServiceRequest.self) else { throw .invalid("a request that does not decode") }
                    let digest = try handler.handle(request.k, text: request.text, on: thread)
                    thread.release(reason: .end)
                    send(WorkerResult(checksum: digest, statistics: thread.statistics), .result, to: output)
                case .batch?:
                    guard let batch = frame.decode(ServiceBatch.self) else { throw .invalid("a batch that does not decode") }
                    if client == nil { client = try ServiceClient(port: settings.port) }
                    var result = ServiceBatchResult(digests: [], latencyNanoseconds: [], statistics: LockStatistics())
                    for k in batch.requests {
                        let start = monotonicNanoseconds()
                        let text = try thread.withoutLock(reason: .io) { () throws(WorkloadError) in try client!.fetch(k) }
                        result.digests.append(try handler.handle(k, text: String(decoding: text, as: UTF8.self), on: thread))
                        result.latencyNanoseconds.append(monotonicNanoseconds() - start)
                    }
                    thread.release(reason: .end)
                    result.statistics = thread.statistics
                    send(result, .batchResult, to: output)
                default:
                    throw .invalid("frame tag \(frame.tag) where a request, batch or exit was due")
                }
            } catch {
                throw .failed(error.description)
            }
        }
    }

    private static func receiveFrame(_ tag: FrameTag?, from fd: Int32) throws(WorkerProcessFailure) -> WireFrame {
        let frame: WireFrame
        do { frame = try readFrame(fd) } catch {
            switch error {
            case .endOfFile: throw .quietly  // the parent is gone or gave up: nothing to tell
            case .malformed(let detail): throw .failed("the parent sent garbage: \(detail)")
            }
        }
        if let tag, frame.tag != tag.rawValue { throw .failed("expected frame \(tag), got tag \(frame.tag)") }
        return frame
    }

    private static func receive<Message: Decodable>(_ type: Message.Type, _ tag: FrameTag,
                                                    from fd: Int32) throws(WorkerProcessFailure) -> Message {
        guard let message = try receiveFrame(tag, from: fd).decode(type) else { throw .failed("a \(tag) frame that does not decode") }
        return message
    }

    private static func send<Message: Encodable>(_ message: Message, _ tag: FrameTag, to fd: Int32) {
        // A parent that has gone will see nothing anyway; the next read then ends the worker.
        _ = writeFrame(fd, tag, message)
    }
}

private enum WorkerProcessFailure: Error {
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

/// This process's CPU time so far, user and system, in nanoseconds.
func processCPUNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}
