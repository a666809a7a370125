import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The I/O-bound workloads. Each unit is Python-level work around one blocking call, and each
// can be run two ways: by a thread that blocks in the call with the lock released (modes
// serial, hold, release, free), or split at the call so that one event-loop thread can keep many
// units in flight (mode eventloop). Both ways compute the same digest.

// MARK: - Splitting a unit for the event loop

/// What a unit in flight waits for next.
enum IOWait: Equatable {
    /// Nothing: the operation is complete.
    case done
    /// The monotonic clock reaching this many nanoseconds.
    case deadline(UInt64)
    /// The descriptor becoming readable.
    case readable(Int32)
    /// The descriptor becoming writable.
    case writable(Int32)
}

/// An I/O operation in flight, driven by the event loop.
protocol PendingIO: AnyObject {
    /// What it waits for next.
    var wait: IOWait { get }
    /// Called when what it waited for has happened: makes what progress it can without blocking.
    func advance() throws(WorkloadError)
}

/// A worker whose units the event loop can interleave: Python-level work up to the blocking
/// call, the call as a ``PendingIO``, and Python-level work after it.
protocol EventLoopWorker: WorkloadWorker {
    /// Runs unit `index` up to its blocking call, and starts the call. Holds the lock.
    mutating func begin(unit index: Int, on thread: ThreadState) throws(WorkloadError) -> any PendingIO
    /// Finishes unit `index` once `io` is done. Holds the lock.
    /// - Returns: the same digest as ``WorkloadWorker/run(unit:on:)``.
    mutating func finish(unit index: Int, _ io: any PendingIO, on thread: ThreadState) throws(WorkloadError) -> UInt64
}

/// A timer: `asyncio.sleep`.
final class TimerIO: PendingIO {
    let deadline: UInt64
    private var fired = false
    init(after nanoseconds: UInt64) { deadline = monotonicNanoseconds() + nanoseconds }
    var wait: IOWait { fired ? .done : .deadline(deadline) }
    func advance() throws(WorkloadError) { fired = monotonicNanoseconds() >= deadline }
}

/// An operation that completed when it started, as a read of a regular file does.
final class CompletedIO: PendingIO {
    let result: PyObject
    init(_ result: PyObject) { self.result = result }
    var wait: IOWait { .done }
    func advance() throws(WorkloadError) {}
}

// MARK: - io-sleep

/// `io-sleep`: a little Python-level work, then a blocking call of `size` µs.
struct SleepWorkload: Workload {
    let size: Int
    var name: String { WorkloadKind.ioSleep.rawValue }

    init(microseconds: Int) { size = microseconds }

    func makeWorker(on thread: ThreadState, discipline: CallDiscipline) throws(WorkloadError) -> any WorkloadWorker {
        SleepWorker(interpreter: try makeInterpreter(Programs.ioSleep, filename: "io-sleep.py", on: thread) { registerSleep($0, discipline: discipline) },
                    microseconds: size)
    }
}

struct SleepWorker: EventLoopWorker {
    let interpreter: Interpreter
    let microseconds: Int
    private var requested: PyObject?

    init(interpreter: Interpreter, microseconds: Int) {
        self.interpreter = interpreter
        self.microseconds = microseconds
    }

    private func arguments(_ unit: Int) -> [PyObject] { [interpreter.int(unit), interpreter.int(microseconds)] }

    mutating func run(unit: Int, on thread: ThreadState) throws(WorkloadError) -> UInt64 {
        Digest.of(unit: unit, result: try call(interpreter, "unit", arguments(unit)))
    }

    mutating func begin(unit: Int, on thread: ThreadState) throws(WorkloadError) -> any PendingIO {
        requested = try call(interpreter, "request", arguments(unit))
        return TimerIO(after: UInt64(microseconds) * 1_000)
    }

    mutating func finish(unit: Int, _ io: any PendingIO, on thread: ThreadState) throws(WorkloadError) -> UInt64 {
        defer { requested = nil }
        return Digest.of(unit: unit, result: requested ?? PyNone.shared)
    }
}

// MARK: - io-echo

/// `io-echo`: round trips of `size`-byte messages to an ``EchoServer`` that lives as long as the
/// workload. Each worker (thread or event-loop task) has its own connection.
final class EchoWorkload: Workload, @unchecked Sendable {
    /// The largest message: one that loopback's socket buffers always hold whole.
    static let maximumSize = 1 << 16
    let size: Int
    /// Guarded by being set in init and cleared only by `close()`, after the last trial.
    private(set) var server: EchoServer?
    var name: String { WorkloadKind.ioEcho.rawValue }

    /// Starts the server.
    /// - Throws: ``WorkloadError/invalid(_:)`` for a size above 64 KiB, ``WorkloadError/io(_:)``
    ///   when the server cannot listen.
    init(size: Int) throws(WorkloadError) {
        guard size <= Self.maximumSize else {
            throw .invalid("io-echo size must be at most \(Self.maximumSize) bytes, got \(size)")
        }
        self.size = size
        server = try EchoServer()
    }

    /// The server's port, while it runs.
    var port: UInt16? { server?.port }

    func close() {
        server?.stop()
        server = nil
    }

    func makeWorker(on thread: ThreadState, discipline: CallDiscipline) throws(WorkloadError) -> any WorkloadWorker {
        guard let port else { throw .io("io-echo: the echo server has been stopped") }
        let client = try EchoClient(port: port)
        let interpreter = try makeInterpreter(Programs.ioEcho, filename: "io-echo.py", on: thread) { interpreter in
            interpreter.register("echo", discipline: discipline, arity: 1...1) { thread, discipline, args throws(PyError) in
                guard args[0].kind == .str else { throw PyError(.typeError, "echo() expected a str, got '\(args[0].typeName)'") }
                // Copy the message out of the object under the lock; the round trip touches only
                // plain buffers, so it may run released.
                let request = Array(unsafeDowncast(args[0], to: PyStr.self).value.utf8)
                var reply = [UInt8](repeating: 0, count: request.count)
                let failure = thread.call(discipline, reason: .io) { () -> WorkloadError? in
                    request.withUnsafeBytes { out in
                        reply.withUnsafeMutableBytes { into in
                            do throws(WorkloadError) { try client.roundTrip(out, into: into) } catch { return error }
                            return nil
                        }
                    }
                }
                if let failure { throw PyError(.runtimeError, "echo(): \(failure)") }
                return PyStr(String(decoding: reply, as: UTF8.self))
            }
        }
        return EchoWorker(interpreter: interpreter, client: client, size: size)
    }
}

struct EchoWorker: EventLoopWorker {
    let interpreter: Interpreter
    let client: EchoClient
    let size: Int

    mutating func run(unit: Int, on thread: ThreadState) throws(WorkloadError) -> UInt64 {
        Digest.of(unit: unit, result: try call(interpreter, "unit", [interpreter.int(unit), interpreter.int(size)]))
    }

    mutating func begin(unit: Int, on thread: ThreadState) throws(WorkloadError) -> any PendingIO {
        try client.makeNonBlocking()
        let message = try call(interpreter, "request", [interpreter.int(unit), interpreter.int(size)])
        guard message.kind == .str else { throw .python(PyError(.typeError, "request() must return a str")) }
        let exchange = EchoExchange(client: client, request: Array(unsafeDowncast(message, to: PyStr.self).value.utf8))
        try exchange.advance()  // a small request usually goes out at once, as asyncio's sock_sendall tries first
        return exchange
    }

    mutating func finish(unit: Int, _ io: any PendingIO, on thread: ThreadState) throws(WorkloadError) -> UInt64 {
        let reply = PyStr(String(decoding: (io as! EchoExchange).reply, as: UTF8.self))
        return Digest.of(unit: unit, result: try call(interpreter, "respond", [interpreter.int(unit), reply]))
    }
}

/// One round trip on a non-blocking socket: write the request, then read as many bytes back.
final class EchoExchange: PendingIO {
    let client: EchoClient
    let request: [UInt8]
    private(set) var reply: [UInt8]
    private var sent = 0, received = 0

    init(client: EchoClient, request: [UInt8]) {
        self.client = client
        self.request = request
        self.reply = [UInt8](repeating: 0, count: request.count)
    }

    var wait: IOWait {
        if sent < request.count { return .writable(client.fd) }
        return received < reply.count ? .readable(client.fd) : .done
    }

    func advance() throws(WorkloadError) {
        while sent < request.count {
            let n = request.withUnsafeBytes { write(client.fd, $0.baseAddress! + sent, $0.count - sent) }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
            guard n > 0 else { throw .io(systemError("io-echo: send")) }
            sent += n
        }
        while received < reply.count {
            let n = reply.withUnsafeMutableBytes { read(client.fd, $0.baseAddress! + received, $0.count - received) }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
            guard n > 0 else { throw .io(n == 0 ? "io-echo: the server closed the connection" : systemError("io-echo: receive")) }
            received += n
        }
    }
}

// MARK: - io-file

/// `io-file`: reads of `size`-byte blocks from a file of up to 64 blocks that the workload writes
/// into a new temporary folder, and removes with the folder in `close()`.
final class FileWorkload: Workload, @unchecked Sendable {
    /// The largest block.
    static let maximumSize = 16 << 20
    static let blocks = 64
    let size: Int
    let blockCount: Int
    /// The temporary folder; `nil` once removed. Set in init, cleared only by `close()`.
    private(set) var directory: URL?
    let path: String
    var name: String { WorkloadKind.ioFile.rawValue }

    /// Writes the file: text lines, so that the interpreter can split blocks into them.
    /// - Throws: ``WorkloadError/invalid(_:)`` for a block above 16 MiB, ``WorkloadError/io(_:)``
    ///   when the folder or file cannot be written.
    init(size: Int, units: Int) throws(WorkloadError) {
        guard size <= Self.maximumSize else {
            throw .invalid("io-file size must be at most \(Self.maximumSize) bytes, got \(size)")
        }
        self.size = size
        blockCount = min(units, Self.blocks)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gillab-io-file-\(UUID().uuidString)")
        let file = folder.appendingPathComponent("blocks.txt")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        } catch {
            throw .io("io-file: cannot create \(folder.path): \(error.localizedDescription)")
        }
        directory = folder
        path = file.path
        var text = [UInt8]()
        text.reserveCapacity(size * blockCount)
        var line = 0
        while text.count < size * blockCount {
            text.append(contentsOf: "line \(line) of gillab's io-file workload, \(line % 97) \(line * 31 % 1000)\n".utf8)
            line += 1
        }
        text.removeLast(text.count - size * blockCount)
        do {
            try Data(text).write(to: file)
        } catch {
            close()
            throw .io("io-file: cannot write \(file.path): \(error.localizedDescription)")
        }
    }

    deinit { close() }

    /// Removes the temporary folder and the file in it. Safe to call more than once.
    func close() {
        guard let directory else { return }
        try? FileManager.default.removeItem(at: directory)
        self.directory = nil
    }

    func makeWorker(on thread: ThreadState, discipline: CallDiscipline) throws(WorkloadError) -> any WorkloadWorker {
        guard directory != nil else { throw .io("io-file: the file has been removed") }
        let handle = try FileReader(path: path, blockSize: size)
        let blocks = blockCount
        let interpreter = try makeInterpreter(Programs.ioFile, filename: "io-file.py", on: thread) { interpreter in
            interpreter.register("read_block", discipline: discipline, arity: 2...2) { thread, discipline, args throws(PyError) in
                guard args[0].kind == .int, args[1].kind == .int else {
                    throw PyError(.typeError, "read_block() expected two ints")
                }
                let block = unsafeDowncast(args[0], to: PyInt.self).value % blocks
                let failure = thread.call(discipline, reason: .io) { () -> WorkloadError? in
                    do throws(WorkloadError) { try handle.read(block: block) } catch { return error }
                    return nil
                }
                if let failure { throw PyError(.runtimeError, "read_block(): \(failure)") }
                return PyStr(handle.text)
            }
        }
        return FileWorker(interpreter: interpreter, size: size)
    }
}

/// An open file and a block-sized buffer, one per worker.
final class FileReader {
    let fd: Int32
    private var buffer: [UInt8]

    init(path: String, blockSize: Int) throws(WorkloadError) {
        fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .io(systemError("io-file: open \(path)")) }
        buffer = [UInt8](repeating: 0, count: blockSize)
    }

    deinit { close(fd) }

    /// Reads block `block` into the buffer with pread: the blocking call, run released.
    func read(block: Int) throws(WorkloadError) {
        var done = 0
        let offset = off_t(block) * off_t(buffer.count)
        while done < buffer.count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, offset + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io(n == 0 ? "io-file: the file is shorter than expected" : systemError("io-file: pread")) }
            done += n
        }
    }

    /// The last block read, as text. Called with the lock held: it makes a string object.
    var text: String { String(decoding: buffer, as: UTF8.self) }
}

struct FileWorker: EventLoopWorker {
    let interpreter: Interpreter
    let size: Int

    mutating func run(unit: Int, on thread: ThreadState) throws(WorkloadError) -> UInt64 {
        Digest.of(unit: unit, result: try call(interpreter, "unit", [interpreter.int(unit), interpreter.int(size)]))
    }

    /// A regular file is always "ready" to poll, so the loop reads it at once, blocking the loop
    /// (with the lock released) as asyncio does without a thread pool.
    mutating func begin(unit: Int, on thread: ThreadState) throws(WorkloadError) -> any PendingIO {
        let data = try call(interpreter, "read_block", [interpreter.int(unit), interpreter.int(size)])
        return CompletedIO(data)
    }

    mutating func finish(unit: Int, _ io: any PendingIO, on thread: ThreadState) throws(WorkloadError) -> UInt64 {
        let data = (io as! CompletedIO).result
        return Digest.of(unit: unit, result: try call(interpreter, "respond", [interpreter.int(unit), data]))
    }
}
