import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A workload that fails on its `failOn`-th worker: a run that breaks half-way.
private final class FailingWorkload: Workload, @unchecked Sendable {
    let base: any Workload
    let failOn: Int
    private let made = Counter()
    init(_ base: any Workload, failOn: Int) {
        self.base = base
        self.failOn = failOn
    }
    var name: String { base.name }
    var size: Int { base.size }
    func makeWorker(on thread: ThreadState, discipline: CallDiscipline) throws(WorkloadError) -> any WorkloadWorker {
        if made.add() == failOn { throw .io("injected failure") }
        return try base.makeWorker(on: thread, discipline: discipline)
    }
    func close() { base.close() }
}

/// Whether something accepts connections on 127.0.0.1:`port`.
private func accepts(port: UInt16) -> Bool {
    (try? EchoClient(port: port)) != nil
}

extension OpenBLASProcessWide {
    @Suite("I/O workloads and the event loop")
    struct IOTests {
        static let plan = RunPlan(workload: .ioEcho, size: 64, units: 24, threads: [1, 2], modes: [.serial, .release, .eventloop],
                                  repeats: 1)

        @Test("the echo server echoes, serves several clients, and is gone after stop")
        func echoServer() throws {
            let server = try EchoServer()
            let port = server.port
            let clients = try (0..<3).map { _ in try EchoClient(port: port) }
            for (index, client) in clients.enumerated() {
                let request = Array("hello \(index) ".utf8) + [UInt8](repeating: 65, count: 5000)
                var reply = [UInt8](repeating: 0, count: request.count)
                try request.withUnsafeBytes { out in
                    try reply.withUnsafeMutableBytes { into in try client.roundTrip(out, into: into) }
                }
                #expect(reply == request)
            }
            server.stop()
            server.stop()  // idempotent
            #expect(!accepts(port: port))
        }

        @Test("io-echo: the server stops when the run ends")
        func echoCleanupAfterRun() throws {
            let workload = try EchoWorkload(size: 64)
            let port = try #require(workload.port)
            #expect(accepts(port: port))
            let report = try Runner.run(Self.plan, workload: workload)
            #expect(Set(report.results.map(\.checksum)).count == 1)
            #expect(workload.port == nil)
            #expect(!accepts(port: port))
        }

        @Test("io-echo: the server stops when the run fails half-way")
        func echoCleanupAfterFailure() throws {
            let workload = try EchoWorkload(size: 64)
            let port = try #require(workload.port)
            #expect(throws: RunnerError.workload(.io("injected failure"))) {
                try Runner.run(Self.plan, workload: FailingWorkload(workload, failOn: 3))
            }
            #expect(!accepts(port: port))
        }

        @Test("io-file: the temporary folder is removed after the run, and after a failed run")
        func fileCleanup() throws {
            var plan = Self.plan
            plan.workload = .ioFile
            plan.size = 256
            let good = try FileWorkload(size: 256, units: 24)
            let folder = try #require(good.directory)
            #expect(FileManager.default.fileExists(atPath: good.path))
            _ = try Runner.run(plan, workload: good)
            #expect(!FileManager.default.fileExists(atPath: folder.path))

            let bad = try FileWorkload(size: 256, units: 24)
            let badFolder = try #require(bad.directory)
            #expect(throws: RunnerError.self) { try Runner.run(plan, workload: FailingWorkload(bad, failOn: 2)) }
            #expect(!FileManager.default.fileExists(atPath: badFolder.path))
        }

        @Test("sizes out of range are refused with the value named")
        func sizeLimits() {
            #expect(throws: WorkloadError.invalid("io-echo size must be at most 65536 bytes, got 65537")) {
                try WorkloadKind.ioEcho.make(size: 65537, units: 1)
            }
            #expect(throws: WorkloadError.invalid("io-file size must be at most 16777216 bytes, got 16777217")) {
                try WorkloadKind.ioFile.make(size: 16_777_217, units: 1)
            }
        }
    }
}
