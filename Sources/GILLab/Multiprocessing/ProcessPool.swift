#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Worker processes of gillab's own binary, each started with `posix_spawn` (spawn, not fork:
/// a fork of a multithreaded process keeps only the forking thread, and macOS CPython and
/// Python 3.14 on Linux default to spawn for that reason), talking over two pipes each.
///
/// The pool never hangs: every wait for a worker has a deadline, a worker that exits, is
/// killed or sends garbage is named with its exit status, and any failure kills every worker
/// still running before the error is thrown. `deinit` does the same for a pool dropped early.
final class ProcessPool {
    /// One worker process.
    struct Member {
        let index: Int
        let pid: pid_t
        /// The worker's stdin, for writing.
        var toWorker: Int32
        /// The worker's stdout, for reading.
        var fromWorker: Int32
        var assembler = FrameAssembler()
        var frames: [WireFrame] = []
        let spawnedAt: UInt64
        /// Peak resident memory, from `wait4`, once reaped.
        var peakResidentBytes: UInt64 = 0
        /// CPU time over the worker's life, from `wait4`, once reaped.
        var cpuNanoseconds: UInt64 = 0
        var reaped = false
    }

    private(set) var members: [Member] = []
    /// How long any one wait for a worker may take.
    let timeoutNanoseconds: UInt64
    /// Bytes written to and read from the workers' pipes.
    private(set) var pipeBytes = 0

    /// Starts `count` workers of `executable` (run as `executable worker`).
    /// - Throws: ``WorkerError/spawn(_:)``; workers already started are killed.
    init(executable: String, count: Int, timeout: Duration) throws(WorkerError) {
        timeoutNanoseconds = timeout.wholeNanoseconds
        Self.ignoreSIGPIPE
        do throws(WorkerError) {
            for index in 0..<count { members.append(try Self.spawn(executable, index: index)) }
        } catch {
            stopAll()
            throw error
        }
    }

    deinit { stopAll() }

    /// A write to a worker that has died must fail with EPIPE, not kill gillab. CPython sets
    /// SIGPIPE to ignored at start-up for the same reason.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    private static func spawn(_ executable: String, index: Int) throws(WorkerError) -> Member {
        var toChild: [Int32] = [0, 0], fromChild: [Int32] = [0, 0]
        guard pipe(&toChild) == 0 else { throw .spawn(systemError("pipe")) }
        guard pipe(&fromChild) == 0 else {
            let message = systemError("pipe")
            close(toChild[0]); close(toChild[1])
            throw .spawn(message)
        }
        // Close-on-exec, so that a worker inherits only its own two pipes (pipe2 is not
        // exported to Swift here; the pool spawns from one thread, so there is no race).
        for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on the copies; every other descriptor of ours stays closed.
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)

        // A worker starts clean, as Python's subprocess does with restore_signals: no signal
        // blocked (the spawning thread may be a dispatch worker that blocks many), every
        // signal at its default (gillab ignores SIGPIPE), and its own process group, so that
        // stopping it also stops anything it started, such as the Swift runtime's backtracer.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let arguments = [executable, WorkerProcess.argument]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let status = posix_spawn(&pid, executable, &actions, &attributes, &argv, environ)
        let spawnedAt = systemMonotonicNanoseconds()  // the worker stamps its readiness on the same clock
        close(toChild[0])
        close(fromChild[1])
        guard status == 0 else {
            close(toChild[1]); close(fromChild[0])
            throw .spawn("\(executable): \(String(cString: strerror(status)))")
        }
        return Member(index: index, pid: pid, toWorker: toChild[1], fromWorker: fromChild[0], spawnedAt: spawnedAt)
    }

    // MARK: - Sending

    /// Sends `message` as a JSON frame to worker `index`.
    func send<Message: Encodable>(_ message: Message, _ tag: FrameTag, to index: Int) throws(WorkerError) {
        guard let data = try? JSONEncoder().encode(message) else { throw .system("could not encode a \(tag) frame") }
        try sendBytes(Array(data), tag, to: index)
    }

    /// Sends raw bytes as one frame to worker `index`.
    func sendBytes(_ bytes: [UInt8], _ tag: FrameTag, to index: Int) throws(WorkerError) {
        let ok = bytes.withUnsafeBytes { writeFrame(members[index].toWorker, tag, $0) }
        guard ok else {
            // The worker is gone; its exit status says why.
            let status = reap(index, within: 1_000_000_000)
            stopAll()
            throw .exited(worker: index, pid: members[index].pid, status: status)
        }
        pipeBytes += 5 + bytes.count
    }

    // MARK: - Receiving

    /// Waits until every worker in `indices` has sent one frame tagged `tag`, and returns them
    /// in order of `indices`.
    /// - Throws: ``WorkerError`` naming the first worker that exits, sends garbage or a
    ///   failure, or does not answer within the timeout; every worker is killed first.
    func receive(_ tag: FrameTag, from indices: [Int]) throws(WorkerError) -> [WireFrame] {
        var pending = Set(indices)
        while !pending.isEmpty { pending.subtract(try waitForAny(pending)) }
        var frames: [WireFrame] = []
        for index in indices { frames.append(try take(tag, from: index)) }
        return frames
    }

    /// Decodes one JSON frame from each worker in `indices`.
    func receive<Message: Decodable>(_ type: Message.Type, _ tag: FrameTag, from indices: [Int]) throws(WorkerError) -> [Message] {
        var messages: [Message] = []
        for (frame, index) in zip(try receive(tag, from: indices), indices) {
            messages.append(try decode(type, frame, tag, from: index))
        }
        return messages
    }

    /// Waits until any worker in `indices` has sent a frame tagged `tag`, and decodes it.
    /// - Returns: the worker's index and its message.
    func receiveAny<Message: Decodable>(_ type: Message.Type, _ tag: FrameTag,
                                        from indices: Set<Int>) throws(WorkerError) -> (Int, Message) {
        let index = try waitForAny(indices).min()!
        return (index, try decode(type, try take(tag, from: index), tag, from: index))
    }

    /// Waits until at least one worker in `indices` has a whole frame queued.
    /// - Returns: the workers that do.
    private func waitForAny(_ indices: Set<Int>) throws(WorkerError) -> Set<Int> {
        let deadline = monotonicNanoseconds() + timeoutNanoseconds
        while true {
            let ready = indices.filter { !members[$0].frames.isEmpty }
            if !ready.isEmpty { return ready }
            let order = indices.sorted()
            var fds = order.map { pollfd(fd: members[$0].fromWorker, events: Int16(POLLIN), revents: 0) }
            let now = monotonicNanoseconds()
            guard now < deadline else {
                let late = order[0]
                stopAll()
                throw .timeout(worker: late, pid: members[late].pid, seconds: Double(timeoutNanoseconds) / 1e9)
            }
            let waitMilliseconds = Int32(min((deadline - now + 999_999) / 1_000_000, 60_000))
            if poll(&fds, nfds_t(fds.count), waitMilliseconds) < 0 {
                if errno == EINTR { continue }
                let message = systemError("poll on worker pipes")
                stopAll()
                throw .system(message)
            }
            for (slot, index) in order.enumerated() where fds[slot].revents != 0 { try readAvailable(index) }
        }
    }

    /// Takes worker `index`'s next frame, which must be tagged `tag`.
    private func take(_ tag: FrameTag, from index: Int) throws(WorkerError) -> WireFrame {
        let frame = members[index].frames.removeFirst()
        if frame.tag == FrameTag.failure.rawValue {
            let message = String(decoding: frame.payload, as: UTF8.self)
            stopAll()
            throw .failed(worker: index, pid: members[index].pid, message: message)
        }
        guard frame.tag == tag.rawValue else {
            stopAll()
            throw .garbage(worker: index, pid: members[index].pid, detail: "a frame tagged \(frame.tag) where \(tag) was due")
        }
        return frame
    }

    private func decode<Message: Decodable>(_ type: Message.Type, _ frame: WireFrame, _ tag: FrameTag,
                                            from index: Int) throws(WorkerError) -> Message {
        guard let message = frame.decode(type) else {
            stopAll()
            throw .garbage(worker: index, pid: members[index].pid, detail: "a \(tag) frame that is not valid JSON")
        }
        return message
    }

    private func readAvailable(_ index: Int) throws(WorkerError) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let n = buffer.withUnsafeMutableBytes { read(members[index].fromWorker, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR || errno == EAGAIN { return }
            let message = systemError("read from worker \(index)")
            stopAll()
            throw .system(message)
        }
        if n == 0 {
            // End of file: the worker has exited or closed its stdout. Its status says which.
            let status = reap(index, within: 1_000_000_000)
            stopAll()
            throw .exited(worker: index, pid: members[index].pid, status: status)
        }
        pipeBytes += n
        buffer.withUnsafeBytes { members[index].assembler.append(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
        do throws(FrameReadError) {
            while let frame = try members[index].assembler.next() { members[index].frames.append(frame) }
        } catch {
            stopAll()
            let detail = if case .malformed(let text) = error { text } else { "end of file" }
            throw .garbage(worker: index, pid: members[index].pid, detail: detail)
        }
    }

    /// Each worker's pipes, for threads that take turns with the workers (a worker to a
    /// thread at a time); the pool itself must not be used meanwhile.
    var channels: [WorkerChannel] {
        members.map { WorkerChannel(pid: $0.pid, index: $0.index, toWorker: $0.toWorker, fromWorker: $0.fromWorker) }
    }

    // MARK: - Ending

    /// Tells every worker to exit and reaps it, killing any that has not exited within the
    /// timeout.
    /// - Throws: ``WorkerError/exited(worker:pid:status:)`` when one exits other than with 0.
    func finish() throws(WorkerError) {
        for index in members.indices { _ = members[index].toWorker >= 0 && (try? sendBytes([], .exit, to: index)) != nil }
        for index in members.indices {
            let status = reap(index, within: timeoutNanoseconds)
            guard status == "exited with status 0" else {
                stopAll()
                throw .exited(worker: index, pid: members[index].pid, status: status)
            }
        }
        closeAll()
    }

    /// Kills every worker still running and reaps it. Safe to call more than once.
    func stopAll() {
        for index in members.indices where !members[index].reaped { kill(-members[index].pid, SIGKILL) }
        for index in members.indices where !members[index].reaped { _ = reap(index, within: .max) }
        closeAll()
    }

    private func closeAll() {
        for index in members.indices {
            if members[index].toWorker >= 0 { close(members[index].toWorker); members[index].toWorker = -1 }
            if members[index].fromWorker >= 0 { close(members[index].fromWorker); members[index].fromWorker = -1 }
        }
    }

    /// Waits up to `nanoseconds` for worker `index` to exit, then kills it; records its peak
    /// RSS and returns how it ended, in words.
    @discardableResult
    private func reap(_ index: Int, within nanoseconds: UInt64) -> String {
        let deadline = monotonicNanoseconds() &+ min(nanoseconds, UInt64(Int64.max))
        var status: Int32 = 0
        var usage = rusage()
        while true {
            let pid = wait4(members[index].pid, &status, WNOHANG, &usage)
            if pid == members[index].pid { break }
            if pid < 0 && errno != EINTR {
                members[index].reaped = true
                return "could not be waited for (\(String(cString: strerror(errno))))"
            }
            if monotonicNanoseconds() >= deadline {
                kill(-members[index].pid, SIGKILL)  // the worker's process group
                _ = wait4(members[index].pid, &status, 0, &usage)
                break
            }
            usleep(1_000)
        }
        members[index].reaped = true
        members[index].peakResidentBytes = UInt64(max(usage.ru_maxrss, 0)) * 1024  // Linux reports KiB
        members[index].cpuNanoseconds = GILLab.cpuNanoseconds(usage)
        return Self.describe(status)
    }

    /// "exited with status N" or "was killed by signal N (name)".
    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exited with status \((status >> 8) & 0xff)" }
        let name = strsignal(signal).map { String(cString: $0) } ?? "unknown"
        return "was killed by signal \(signal) (\(name))"
    }
}

/// One worker process's pipes, used by one thread at a time (whoever took it from the idle list).
struct WorkerChannel: @unchecked Sendable {
    let pid: pid_t
    let index: Int
    let toWorker: Int32
    let fromWorker: Int32

    /// Sends one frame and waits, up to `timeout`, for the result frame.
    /// - Returns: the result, and the bytes that went through the pipes both ways.
    func exchange(_ message: [UInt8], _ tag: FrameTag, timeout: UInt64) throws(WorkerError) -> (result: WorkerResult, bytes: Int) {
        guard message.withUnsafeBytes({ writeFrame(toWorker, tag, $0) }) else {
            throw .exited(worker: index, pid: pid, status: "closed its pipe")
        }
        var fd = pollfd(fd: fromWorker, events: Int16(POLLIN), revents: 0)
        var ready: Int32
        repeat { ready = poll(&fd, 1, Int32(min(timeout / 1_000_000, 3_600_000))) } while ready < 0 && errno == EINTR
        guard ready > 0 else { throw .timeout(worker: index, pid: pid, seconds: Double(timeout) / 1e9) }
        let frame: WireFrame
        do { frame = try readFrame(fromWorker) } catch {
            throw .exited(worker: index, pid: pid, status: "closed its pipe before answering")
        }
        if frame.tag == FrameTag.failure.rawValue {
            throw .failed(worker: index, pid: pid, message: String(decoding: frame.payload, as: UTF8.self))
        }
        guard frame.tag == FrameTag.result.rawValue, let result = frame.decode(WorkerResult.self) else {
            throw .garbage(worker: index, pid: pid, detail: "a frame tagged \(frame.tag) where a result was due")
        }
        return (result, 10 + message.count + frame.payload.count)
    }
}

