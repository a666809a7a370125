#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

// The wire between a process and its workers (`EXECUTABLE --gillab-worker`): the worker's stdin and
// stdout, two plain pipes, as multiprocessing's pool talks to its workers over pipes.
//
// Every message is a frame: one tag byte, a 4-byte little-endian length, then the payload.
// Control messages are JSON; `input` carries raw bytes. Anything else — an unknown tag, a
// length over the limit, JSON that does not decode — is garbage, and the parent says so
// and stops every worker.

/// A frame's kind.
enum FrameTag: UInt8 {
    /// parent → worker: a ``WorkerJob``.
    case job = 0x4a  // "J"
    /// parent → worker: the workload's input bytes (`--transfer pipe`).
    case input = 0x49  // "I"
    /// worker → parent: a ``WorkerReady``.
    case ready = 0x52  // "R"
    /// parent → worker: a ``WorkerTask``, units to run.
    case task = 0x54  // "T"
    /// worker → parent: a ``WorkerResult``.
    case result = 0x44  // "D"
    /// worker → parent: a one-line error (a workload that failed in the worker).
    case failure = 0x46  // "F"
    /// parent → worker: no more tasks; exit 0.
    case exit = 0x58  // "X"
    /// parent → worker: a message for the job's handler (``WorkerJobHandler``), its own JSON.
    case call = 0x51  // "Q"
    /// worker → parent: a handler's answer that is not a ``WorkerResult``, its own JSON.
    case reply = 0x53  // "S"
}

/// How a processes row's workers get their input.
public enum Transfer: String, Sendable, Codable, CaseIterable {
    /// Each worker generates its input itself: no input crosses a process boundary.
    case none
    /// The parent serializes the input and writes it down each worker's pipe, as
    /// multiprocessing pickles arguments.
    case pipe
    /// The parent writes the input once into POSIX shared memory, which every worker maps.
    case shm

    /// One line for `gillab list`.
    public var summary: String {
        switch self {
        case .none: "each worker generates its own input: no input crosses a process boundary"
        case .pipe: "the input is serialized down each worker's pipe, as multiprocessing pickles arguments"
        case .shm: "the input is written once into POSIX shared memory that every worker maps"
        }
    }
}

/// A fault a worker injects on purpose, so that tests can show the parent copes.
enum WorkerFault: String, Codable, Sendable {
    /// Abort (SIGABRT) on receiving the first task.
    case crash
    /// Send itself SIGKILL on receiving the first task, as `kill -9` from outside would.
    case kill
    /// Never answer the first task.
    case hang
    /// Answer the first task with bytes that are not a frame.
    case garbage
}

/// What a worker process is to do: enough to rebuild the workload and its lock.
struct WorkerJob: Codable, Sendable {
    var workload: WorkloadKind
    var size: Int
    var units: Int
    var policy: LockPolicy
    var switchIntervalNanoseconds: UInt64
    var checkInterval: Int
    /// OpenBLAS threads in the worker: each process has its own OpenBLAS.
    var blasThreads: Int
    var transfer: Transfer
    /// Bytes of input that follow (`pipe`) or that the shared memory holds (`shm`).
    var inputBytes: Int
    /// The shared-memory object's name, under `shm`.
    var sharedMemoryName: String?
    /// Worker index, for messages.
    var index: Int
    var fault: WorkerFault?
    /// The ``WorkerJobHandler`` that serves this job, by name; `nil` for the runner's units.
    var handler: String? = nil
    /// The handler's own settings, as its JSON.
    var settings: [UInt8]? = nil
}


/// The worker is set up and waits for tasks.
struct WorkerReady: Codable, Sendable {
    /// The worker's monotonic clock when it was ready; Linux's CLOCK_MONOTONIC is system-wide,
    /// so the parent can subtract its spawn time.
    var readyAtNanoseconds: UInt64
    /// Time the worker spent receiving its input: reading it from the pipe, or opening and
    /// mapping the shared memory.
    var receiveNanoseconds: UInt64
    /// Resident memory when ready, in bytes.
    var residentBytes: UInt64
    /// The worker's CPU time when ready, so that the parent can leave start-up out.
    var cpuNanoseconds: UInt64 = 0
}

/// Units `start..<end` to run.
struct WorkerTask: Codable, Sendable {
    var start: Int
    var end: Int
}

/// What a task computed.
struct WorkerResult: Codable, Sendable {
    var checksum: UInt64
    var statistics: LockStatistics
}

/// Why talking to a worker process failed. Each message names the worker.
public enum WorkerError: Error, Equatable, CustomStringConvertible {
    /// The executable could not be started.
    case spawn(String)
    /// The worker exited or was killed before answering.
    case exited(worker: Int, pid: Int32, status: String)
    /// The worker sent something that is not a frame of the protocol.
    case garbage(worker: Int, pid: Int32, detail: String)
    /// The worker did not answer in time.
    case timeout(worker: Int, pid: Int32, seconds: Double)
    /// The worker ran its job and reported a failure.
    case failed(worker: Int, pid: Int32, message: String)
    /// A system call on the parent side failed.
    case system(String)

    /// One line naming the worker and what happened.
    public var description: String {
        switch self {
        case .spawn(let detail): "could not start a worker process: \(detail)"
        case .exited(let worker, let pid, let status): "worker \(worker) (pid \(pid)) \(status); stopped the other workers"
        case .garbage(let worker, let pid, let detail): "worker \(worker) (pid \(pid)) sent garbage (\(detail)); stopped the other workers"
        case .timeout(let worker, let pid, let seconds):
            "worker \(worker) (pid \(pid)) did not answer within \(formatSeconds(seconds)); stopped every worker"
        case .failed(let worker, let pid, let message): "worker \(worker) (pid \(pid)) failed: \(message)"
        case .system(let detail): detail
        }
    }
}

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
}

/// The largest frame either side accepts: input of the biggest workload that fits in memory
/// is smaller, and a corrupt length prefix is caught before anything is allocated.
let maximumFrameBytes = 1 << 30

// MARK: - Writing and reading frames

/// Writes all of `bytes` to `fd`, retrying on EINTR and short writes.
/// - Returns: `false` when the other end is gone (EPIPE) or another error occurs.
/// A message's JSON, as the wire carries it (the protocol's pickle).
func encodeWireMessage<Message: Encodable>(_ message: Message) throws(WorkerError) -> [UInt8] {
    guard let data = try? JSONEncoder().encode(message) else { throw .system("could not encode a request") }
    return Array(data)
}

func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            return false
        }
        offset += n
    }
    return true
}

/// Writes one frame.
func writeFrame(_ fd: Int32, _ tag: FrameTag, _ payload: UnsafeRawBufferPointer) -> Bool {
    var header = [UInt8](repeating: 0, count: 5)
    header[0] = tag.rawValue
    withUnsafeBytes(of: UInt32(payload.count).littleEndian) { for i in 0..<4 { header[1 + i] = $0[i] } }
    return header.withUnsafeBytes { writeAll(fd, $0) } && (payload.isEmpty || writeAll(fd, payload))
}

/// Writes a frame whose payload is `message` as JSON.
func writeFrame<Message: Encodable>(_ fd: Int32, _ tag: FrameTag, _ message: Message) -> Bool {
    guard let data = try? JSONEncoder().encode(message) else { return false }
    return data.withUnsafeBytes { writeFrame(fd, tag, $0) }
}

/// Reads exactly `count` bytes into `buffer`.
/// - Returns: the bytes read; fewer than `count` only at end of file.
func readExact(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
    var offset = 0
    while offset < buffer.count {
        let n = read(fd, buffer.baseAddress! + offset, buffer.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            return offset
        }
        if n == 0 { return offset }
        offset += n
    }
    return offset
}

/// A frame as read: its tag byte (not yet checked) and payload.
struct WireFrame {
    var tag: UInt8
    var payload: [UInt8]

    /// Decodes the payload as JSON.
    func decode<Message: Decodable>(_ type: Message.Type) -> Message? {
        try? JSONDecoder().decode(type, from: Data(payload))
    }
}

/// Why a blocking frame read ended without a frame.
enum FrameReadError: Error {
    case endOfFile
    case malformed(String)
}

/// Reads one frame, blocking: the worker's side, which has nothing else to do.
func readFrame(_ fd: Int32) throws(FrameReadError) -> WireFrame {
    var header = [UInt8](repeating: 0, count: 5)
    let got = header.withUnsafeMutableBytes { readExact(fd, $0) }
    guard got == 5 else { throw got == 0 ? .endOfFile : .malformed("a frame header cut short") }
    let length = Int(UInt32(header[1]) | UInt32(header[2]) << 8 | UInt32(header[3]) << 16 | UInt32(header[4]) << 24)
    guard length <= maximumFrameBytes else { throw .malformed("frame length \(length)") }
    var payload = [UInt8](repeating: 0, count: length)
    guard payload.withUnsafeMutableBytes({ readExact(fd, $0) }) == length else { throw .malformed("a frame cut short") }
    return WireFrame(tag: header[0], payload: payload)
}

/// Collects bytes read without blocking and cuts them into frames: the parent's side, which
/// polls several workers at once.
struct FrameAssembler {
    private var buffer: [UInt8] = []

    mutating func append(_ bytes: UnsafeRawBufferPointer) { buffer.append(contentsOf: bytes) }

    /// The next complete frame, `nil` when more bytes are needed.
    /// - Throws: a description of the garbage when the bytes cannot be a frame.
    mutating func next() throws(FrameReadError) -> WireFrame? {
        guard buffer.count >= 5 else { return nil }
        guard FrameTag(rawValue: buffer[0]) != nil else {
            let shown = buffer.prefix(8).map { String($0, radix: 16) }.joined(separator: " ")
            throw .malformed("unknown frame tag; first bytes \(shown)")
        }
        let length = Int(UInt32(buffer[1]) | UInt32(buffer[2]) << 8 | UInt32(buffer[3]) << 16 | UInt32(buffer[4]) << 24)
        guard length <= maximumFrameBytes else { throw .malformed("frame length \(length)") }
        guard buffer.count >= 5 + length else { return nil }
        let frame = WireFrame(tag: buffer[0], payload: Array(buffer[5..<5 + length]))
        buffer.removeFirst(5 + length)
        return frame
    }
}
