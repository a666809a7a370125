#if canImport(Glibc)
import Glibc
let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
let streamSocket = SOCK_STREAM
#endif

// Loopback servers: the stand-ins for the outside world (an echo peer, a backend service). Each
// runs on its own thread on 127.0.0.1 and an ephemeral port, never touches an interpreter lock,
// and multiplexes its connections with poll(2).

/// `what: strerror(errno)`, for a failed system call.
func systemError(_ what: String) -> String {
    "\(what): \(String(cString: strerror(errno)))"
}

/// A system call that failed, named with its `strerror`.
struct SystemCallError: Error {
    let message: String

    /// Names the call `what` with the current `errno`.
    init(_ what: String) { message = systemError(what) }
}

/// 127.0.0.1:`port` as a socket address.
func loopbackAddress(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian  // 127.0.0.1
    return address
}

/// Makes `fd` non-blocking. - Returns: whether it worked.
func setNonBlocking(_ fd: Int32) -> Bool {
    let flags = fcntl(fd, F_GETFL)
    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0
}

/// Accepts every connection waiting on the non-blocking `listener`, each with TCP_NODELAY and
/// made non-blocking; one that cannot be made non-blocking is closed.
/// - Returns: the new connections' descriptors.
func acceptWaiting(on listener: Int32) -> [Int32] {
    var clients: [Int32] = []
    while true {
        let client = accept(listener, nil, nil)
        guard client >= 0 else { return clients }
        var one: Int32 = 1
        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if setNonBlocking(client) { clients.append(client) } else { close(client) }
    }
}

/// A loopback server's socket and thread: a non-blocking socket on 127.0.0.1 with an
/// ephemeral port, a pipe whose write end wakes the server thread to stop, and the thread,
/// which runs `serve(listener, wakeReadEnd)` until woken. `stop()` (or deinit) wakes it, joins
/// it, and closes everything.
final class LoopbackServer: @unchecked Sendable {
    /// The port, in host order.
    let port: UInt16
    private let listener: Int32
    private let wake: (Int32, Int32)
    private var thread: NativeThread?  // touched only by the owner's thread, in init and stop

    /// - Parameters:
    ///   - what: names the server in error messages.
    ///   - backlog: `listen`'s queue length.
    /// - Throws: ``SystemCallError`` naming the call that failed; nothing is left open.
    init(for what: String, backlog: Int32,
         serve: @escaping @Sendable (_ listener: Int32, _ wake: Int32) -> Void) throws(SystemCallError) {
        let fd = socket(AF_INET, streamSocket, 0)
        guard fd >= 0 else { throw SystemCallError("\(what): socket") }
        var address = loopbackAddress(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && listen(fd, backlog) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard ok, setNonBlocking(fd) else {
            let error = SystemCallError("\(what): listen on 127.0.0.1")
            close(fd)
            throw error
        }
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else {
            let error = SystemCallError("\(what): pipe")
            close(fd)
            throw error
        }
        listener = fd
        wake = (ends[0], ends[1])
        port = UInt16(bigEndian: address.sin_port)
        let wakeRead = ends[0]
        thread = NativeThread { serve(fd, wakeRead) }
    }

    deinit { stop() }

    /// Wakes the server thread, joins it, and closes the socket and the pipe. Safe to call
    /// more than once.
    func stop() {
        guard let thread else { return }
        var byte: UInt8 = 1
        _ = write(wake.1, &byte, 1)
        thread.join()
        self.thread = nil
        close(listener)
        close(wake.0)
        close(wake.1)
    }
}
