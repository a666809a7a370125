#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The far end of `io-echo`: a server on 127.0.0.1 and an ephemeral port that sends back every
// byte it reads. It is the outside world, not Python-level code: it runs on its own thread,
// never touches the interpreter lock, and multiplexes its connections with poll(2).

/// A loopback echo server that lives from `init` to ``stop()`` (or deinit).
final class EchoServer: @unchecked Sendable {
    /// The port it listens on, in host order.
    let port: UInt16
    private let server: LoopbackServer

    /// Listens on 127.0.0.1, port 0 (the kernel picks a free one), and starts serving.
    /// - Throws: ``WorkloadError/io(_:)`` naming the call that failed.
    init() throws(WorkloadError) {
        do {
            server = try LoopbackServer(for: "io-echo", backlog: 128) { listener, wake in
                EchoServer.serve(listener: listener, wake: wake)
            }
        } catch {
            throw .io(error.message)
        }
        port = server.port
    }

    /// Stops serving, closes every connection and the listening socket, and joins the server
    /// thread. Safe to call more than once.
    func stop() { server.stop() }

    /// The server loop: accept, read, write back; a connection with output still pending is
    /// not read from until the output has gone, so memory stays bounded.
    private static func serve(listener: Int32, wake: Int32) {
        var pending: [Int32: [UInt8]] = [:]
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        func drop(_ fd: Int32) {
            close(fd)
            pending[fd] = nil
        }
        while true {
            var fds = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            for (fd, output) in pending {
                fds.append(pollfd(fd: fd, events: Int16(output.isEmpty ? POLLIN : POLLOUT), revents: 0))
            }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            if fds[0].revents != 0 { break }
            if fds[1].revents & Int16(POLLIN) != 0 {
                for client in acceptWaiting(on: listener) { pending[client] = [] }
            }
            for entry in fds.dropFirst(2) where entry.revents != 0 {
                let fd = entry.fd
                guard var output = pending[fd] else { continue }
                if !output.isEmpty {
                    let sent = output.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    if sent < 0 {
                        if errno != EAGAIN && errno != EINTR { drop(fd) }
                        continue
                    }
                    output.removeFirst(sent)
                    pending[fd] = output
                    continue
                }
                let received = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if received == 0 || (received < 0 && errno != EAGAIN && errno != EINTR) {
                    drop(fd)  // the client closed, or the connection broke
                    continue
                }
                guard received > 0 else { continue }
                let sent = buffer.withUnsafeBytes { write(fd, $0.baseAddress, received) }
                if sent < 0 && errno != EAGAIN && errno != EINTR {
                    drop(fd)
                    continue
                }
                let done = max(sent, 0)
                if done < received { pending[fd] = Array(buffer[done..<received]) }
            }
        }
        for fd in pending.keys { close(fd) }
    }
}

/// One client connection to an ``EchoServer``. Blocking for a thread's round trips; switched to
/// non-blocking by the event loop.
final class EchoClient {
    let fd: Int32
    private(set) var isNonBlocking = false

    /// Connects to 127.0.0.1:`port`, with Nagle's algorithm off as a request/response client has it.
    init(port: UInt16) throws(WorkloadError) {
        let fd = socket(AF_INET, streamSocket, 0)
        guard fd >= 0 else { throw .io(systemError("io-echo: socket")) }
        var address = loopbackAddress(port: port)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            let message = systemError("io-echo: connect to 127.0.0.1:\(port)")
            close(fd)
            throw .io(message)
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        self.fd = fd
    }

    deinit { close(fd) }

    /// For the event loop: from now on reads and writes return instead of blocking.
    func makeNonBlocking() throws(WorkloadError) {
        guard !isNonBlocking else { return }
        guard setNonBlocking(fd) else { throw .io(systemError("io-echo: fcntl O_NONBLOCK")) }
        isNonBlocking = true
    }

    /// Sends `request` and reads back as many bytes: one blocking round trip. Touches only the
    /// two buffers, so it runs with the interpreter lock released.
    func roundTrip(_ request: UnsafeRawBufferPointer, into reply: UnsafeMutableRawBufferPointer) throws(WorkloadError) {
        var sent = 0
        while sent < request.count {
            let n = write(fd, request.baseAddress! + sent, request.count - sent)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io(systemError("io-echo: send")) }
            sent += n
        }
        var received = 0
        while received < reply.count {
            let n = read(fd, reply.baseAddress! + received, reply.count - received)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io(n == 0 ? "io-echo: the server closed the connection" : systemError("io-echo: receive")) }
            received += n
        }
    }
}
