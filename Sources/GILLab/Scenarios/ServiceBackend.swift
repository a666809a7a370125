#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CKernels

/// The remote service that `gillab scenario service` fetches from: a loopback server that
/// answers "record k" with k's text after a fixed delay, as a database or another service
/// would. It runs on its own thread, outside any interpreter lock, and answers many requests
/// at once, so the delay is latency, not a bottleneck.
///
/// Wire: the client sends k as 8 bytes, little-endian; the server answers with a 4-byte
/// little-endian length and the text.
final class ServiceBackend: @unchecked Sendable {
    /// The port it listens on, in host order.
    let port: UInt16
    private let server: LoopbackServer
    /// The server thread's own CPU time, in nanoseconds, known after ``stop()``: the scenario
    /// subtracts it, since the backend stands for another machine.
    private let cpu: Locked<UInt64>

    /// Listens on 127.0.0.1 (an ephemeral port) and serves with `delay` before each answer.
    init(delay: Duration, lines: Int) throws(WorkloadError) {
        let cpu = Locked<UInt64>(0)
        let delayNanoseconds = delay.wholeNanoseconds
        do {
            server = try LoopbackServer(for: "service backend", backlog: 256) { listener, wake in
                ServiceBackend.serve(listener: listener, wake: wake, delay: delayNanoseconds, lines: lines)
                var time = timespec()
                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
                cpu.withLock { $0 = UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec) }
            }
        } catch {
            throw .io(error.message)
        }
        self.cpu = cpu
        port = server.port
    }

    /// Stops serving and joins the server thread. Safe to call more than once.
    func stop() { server.stop() }

    /// The server thread's CPU time; final once stopped.
    var serverCPUNanoseconds: UInt64 { cpu.withLock { $0 } }

    /// Record k: `lines` lines of "k,item<j>,<amount>", the text a request parses.
    static func record(_ k: Int, lines: Int) -> [UInt8] {
        var text = ""
        for j in 0..<lines {
            if j > 0 { text += "\n" }
            text += "\(k),item\(j),\(Double((k &* 31 &+ j &* 17) % 1000) / 8)"
        }
        return Array(text.utf8)
    }

    private struct Connection {
        var input: [UInt8] = []
        var output: [UInt8] = []
        /// Answers not yet due: (due time, bytes).
        var delayed: [(UInt64, [UInt8])] = []
    }

    private static func serve(listener: Int32, wake: Int32, delay: UInt64, lines: Int) {
        var connections: [Int32: Connection] = [:]
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            var fds = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            var next = UInt64.max
            let now = monotonicNanoseconds()
            for (fd, connection) in connections {
                fds.append(pollfd(fd: fd, events: Int16(connection.output.isEmpty ? POLLIN : POLLIN | POLLOUT), revents: 0))
                for (due, _) in connection.delayed { next = min(next, due) }
            }
            let timeout: Int64 = next == .max ? -1 : Int64(next > now ? next - now : 0)
            var ready: Int32 = 0
            let status = fds.withUnsafeMutableBufferPointer { ck_poll_ns($0.baseAddress, $0.count, timeout, &ready) }
            if status != CK_OK && errno != EINTR { break }
            if fds[0].revents != 0 { break }
            if fds[1].revents & Int16(POLLIN) != 0 {
                for client in acceptWaiting(on: listener) { connections[client] = Connection() }
            }
            for entry in fds.dropFirst(2) where entry.revents != 0 {
                let fd = entry.fd
                guard var connection = connections[fd] else { continue }
                if entry.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) {
                        close(fd)
                        connections[fd] = nil
                        continue
                    }
                    if n > 0 { connection.input.append(contentsOf: buffer[..<n]) }
                    while connection.input.count >= 8 {
                        let k = connection.input[..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
                        connection.input.removeFirst(8)
                        let text = record(k, lines: lines)
                        var answer = withUnsafeBytes(of: UInt32(text.count).littleEndian, Array.init)
                        answer += text
                        connection.delayed.append((monotonicNanoseconds() + delay, answer))
                    }
                }
                connections[fd] = connection
            }
            // Move what is due to the output, and write what can be written.
            let due = monotonicNanoseconds()
            for fd in Array(connections.keys) {
                guard var connection = connections[fd] else { continue }
                while let first = connection.delayed.first, first.0 <= due {
                    connection.output += first.1
                    connection.delayed.removeFirst()
                }
                if !connection.output.isEmpty {
                    let sent = connection.output.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    if sent > 0 { connection.output.removeFirst(sent) }
                    else if sent < 0 && errno != EAGAIN && errno != EINTR {
                        close(fd)
                        connections[fd] = nil
                        continue
                    }
                }
                connections[fd] = connection
            }
        }
        for fd in connections.keys { close(fd) }
    }
}


/// One connection to a ``ServiceBackend``.
final class ServiceClient {
    let fd: Int32

    init(port: UInt16) throws(WorkloadError) {
        let client = try EchoClient(port: port)
        // Keep the descriptor: EchoClient's connect and socket options are what we need.
        fd = dup(client.fd)
        guard fd >= 0 else { throw .io(systemError("service: dup")) }
    }

    deinit { close(fd) }

    /// Asks for record k without waiting for the answer.
    func send(_ k: Int) throws(WorkloadError) {
        var request = withUnsafeBytes(of: UInt64(k).littleEndian, Array.init)
        var sent = 0
        while sent < 8 {
            let n = request.withUnsafeMutableBytes { write(fd, $0.baseAddress! + sent, 8 - sent) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard n > 0 else { throw .io(systemError("service: send")) }
            sent += n
        }
    }

    /// Reads one whole answer, blocking.
    func receive() throws(WorkloadError) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 4)
        try readAll(&header)
        let length = Int(UInt32(header[0]) | UInt32(header[1]) << 8 | UInt32(header[2]) << 16 | UInt32(header[3]) << 24)
        guard length <= 1 << 20 else { throw .io("service: an answer of \(length) bytes") }
        var body = [UInt8](repeating: 0, count: length)
        try readAll(&body)
        return body
    }

    /// One blocking round trip: the fetch step. Touches no interpreter object, so it runs with
    /// the lock released.
    func fetch(_ k: Int) throws(WorkloadError) -> [UInt8] {
        try send(k)
        return try receive()
    }

    private func readAll(_ bytes: inout [UInt8]) throws(WorkloadError) {
        var received = 0
        while received < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + received, $0.count - received) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io(n == 0 ? "service: the backend closed the connection" : systemError("service: receive")) }
            received += n
        }
    }
}
