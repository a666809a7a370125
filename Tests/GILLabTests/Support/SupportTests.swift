#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport

@Suite("Support: threads, gates, loopback servers, settings")
struct SupportTests {
    @Test("a start gate holds every thread until it opens, then times the region to the last join")
    func startGate() {
        let gate = StartGate()
        let lock = InterpreterLock()
        let passed = Counter()
        let threads = (0..<3).map { _ in
            NativeThread {
                let thread = lock.makeThreadState()
                thread.acquire()   // set-up takes the lock: openAndJoin zeroes what it counted
                thread.release(reason: .exit)
                gate.arriveAndWait()
                passed.add()
                thread.withLock {}
                thread.detach()
            }
        }
        usleep(20_000)
        #expect(passed.load == 0)  // nobody passes a closed gate
        let timed = gate.openAndJoin(threads, lock: lock)
        #expect(passed.load == 3)
        #expect(timed.start > 0 && timed.resident > 0)
        #expect(lock.statistics.acquisitions == 3)  // the set-up's takes were zeroed at the gate
    }

    @Test("a mailbox hands items over in order and ends takers once closed and empty")
    func mailbox() {
        let box = Mailbox<Int>()
        let taken = Locked<[Int]>([])
        let taker = NativeThread {
            while let item = box.take() { taken.withLock { $0.append(item) } }
        }
        for item in 1...5 { box.put(item) }
        box.close()
        taker.join()
        #expect(taken.withLock { $0 } == [1, 2, 3, 4, 5])
    }

    @Test("a loopback server accepts every waiting client, and stop joins it and closes everything")
    func loopbackServer() throws {
        let accepted = Locked(0)
        let server = try LoopbackServer(for: "test", backlog: 16) { listener, wake in
            while true {
                var fds = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
                guard poll(&fds, 2, -1) >= 0 || errno == EINTR else { return }
                if fds[0].revents != 0 { return }
                for client in acceptWaiting(on: listener) {
                    accepted.withLock { $0 += 1 }
                    close(client)
                }
            }
        }
        for _ in 0..<3 {
            let fd = socket(AF_INET, streamSocket, 0)
            var address = loopbackAddress(port: server.port)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(connected == 0)
            close(fd)
        }
        var waited = 0
        while accepted.withLock({ $0 }) < 3 && waited < 5_000 { usleep(1_000); waited += 1 }
        server.stop()
        server.stop()  // a second stop does nothing
        #expect(accepted.withLock { $0 } == 3)
    }

    @Test("a bad setting names the setting in words and the bad value", arguments: [
        (InvalidSetting("blasThreads", "must be at least 1, got 0", subject: "BLAS threads"), "BLAS threads must be at least 1, got 0"),
        (InvalidSetting("cpuThreads", "must be between 0 and 64, got -1"), "cpu threads must be between 0 and 64, got -1"),
        (InvalidSetting("policies", "no policies given", subject: ""), "no policies given"),
    ])
    func invalidSetting(error: InvalidSetting, message: String) {
        #expect(error.description == message)
    }

    @Test("this process's resident memory and CPU time are read")
    func processFigures() {
        #expect(residentBytes() > 1 << 20)
        #expect(processCPUNanoseconds() > 0)
    }
}
