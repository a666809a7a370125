#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport

/// Pids of this process's children whose command line is `… --gillab-worker`, from /proc.
func workerChildren() -> [Int32] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    let children = tasks.flatMap { task in
        (readProcFile("/proc/self/task/\(task)/children") ?? "").split(separator: " ").compactMap { Int32($0) }
    }
    return children.filter { pid in
        let command = readProcFile("/proc/\(pid)/cmdline") ?? ""
        return command.split(separator: "\0").last.map(String.init) == WorkerProcess.argument
    }
}

/// Random bytes from a fixed seed.
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 56)
    }
}

@Suite("Transfers")
struct TransferTests {
    @Test("a pipe frame carries a megabyte bit for bit, however the reads split it")
    func pipeRoundTrip() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let sent = pseudoRandomBytes(1 << 20, seed: 7)
        // The pipe holds 64 KiB, so the writer needs its own thread.
        let writer = NativeThread { [fd = fds[1]] in
            _ = sent.withUnsafeBytes { writeFrame(fd, .input, $0) }
            close(fd)
        }
        let frame = try readFrame(fds[0])
        writer.join()
        #expect(frame.tag == FrameTag.input.rawValue)
        #expect(frame.payload == sent)

        var assembler = FrameAssembler()
        var bytes: [UInt8] = []
        [UInt8](sent.prefix(1000)).withUnsafeBytes { payload in
            bytes = [FrameTag.input.rawValue, 0xe8, 0x03, 0, 0] + Array(payload)  // 1000, little-endian
        }
        for piece in stride(from: 0, to: bytes.count, by: 333) {
            bytes[piece..<min(piece + 333, bytes.count)].withUnsafeBytes { assembler.append($0) }
        }
        #expect(try assembler.next()?.payload == Array(sent.prefix(1000)))
        #expect(try assembler.next() == nil)
    }

    @Test("bytes that are not a frame are garbage, not a crash or an allocation of gigabytes")
    func garbageIsRefused() {
        for bytes: [UInt8] in [Array("hello, world".utf8), [FrameTag.result.rawValue, 0xff, 0xff, 0xff, 0xff]] {
            var assembler = FrameAssembler()
            bytes.withUnsafeBytes { assembler.append($0) }
            #expect(throws: FrameReadError.self) { try assembler.next() }
        }
    }

    @Test("shared memory carries a megabyte bit for bit to a second mapping, and its name goes with its creator")
    func sharedMemoryRoundTrip() throws {
        let sent = pseudoRandomBytes(1 << 20, seed: 11)
        var name = ""
        do {
            let created = try SharedMemory(creating: sent.count)
            sent.withUnsafeBytes { created.bytes.copyMemory(from: $0) }
            let opened = try SharedMemory(opening: created.name, count: sent.count)
            #expect(Array(opened.bytes) == sent)
            name = created.name
        }
        #expect(throws: WorkerError.self) { try SharedMemory(opening: name, count: 1) }
    }
}

extension OpenBLASProcessWide {
    @Suite("Processes", .timeLimit(.minutes(2)))
    struct ProcessTests {
        static let cases: [(WorkloadKind, Int)] = [(.gemm, 12), (.stencil, 20), (.hash, 300), (.countdown, 5_000)]

        @Test("workers compute the serial checksum whether input is generated, piped or shared", arguments: cases)
        func transfersAgree(workload: WorkloadKind, size: Int) throws {
            let inputBytes = try workload.make(size: size, units: 8).encodedInput().count
            var checksums: Set<String> = []
            for transfer in Transfer.allCases {
                let report = try Runner.run(RunPlan(workload: workload, size: size, units: 8, threads: [1, 2],
                                                    modes: [.serial, .processes], repeats: 1, transfer: transfer,
                                                    workerExecutable: gillabExecutable))
                #expect(report.results.count == 3)
                checksums.formUnion(report.results.map(\.checksum))
                for row in report.results where row.mode == .processes {
                    let figures = try #require(row.processes)
                    #expect(figures.transfer == transfer)
                    #expect(figures.startupSeconds.min > 0)
                    #expect(figures.workerPeakResidentBytes > 0)
                    #expect(row.residentBytes > figures.workerPeakResidentBytes / 4)
                    #expect(row.perProcessAcquisitions > 0)
                    // Without a pipe transfer, the pipes carry only jobs, results and lock statistics:
                    // a few KiB, whatever the input's size.
                    switch transfer {
                    case .none: #expect(figures.pipeBytes < 8192 && figures.sharedBytes == 0 && figures.ipcSeconds == 0)
                    case .pipe: #expect(figures.pipeBytes >= row.threads * inputBytes && figures.sharedBytes == 0)
                    case .shm: #expect(figures.pipeBytes < 8192 && figures.sharedBytes == inputBytes)
                    }
                }
            }
            #expect(checksums.count == 1)
            #expect(workerChildren().isEmpty)
        }

        // A crash is SIGABRT in a plain build; a sanitizer's own handler may turn it into another
        // signal or an exit status, so only SIGKILL, which nothing can catch, is named exactly.
        static let faults: [(WorkerFault, String)] = [
            (.crash, "was killed by signal"), (.kill, "was killed by signal 9"),
            (.garbage, "sent garbage"), (.hang, "did not answer within 5 s"),
        ]

        @Test("a worker that crashes, is killed, sends garbage or hangs is named; the others are stopped", arguments: faults)
        func faultsAreReported(fault: WorkerFault, expected: String) throws {
            // Little work, so that the healthy workers answer well inside the timeout even under TSan.
            let workload = try WorkloadKind.countdown.make(size: 30_000, units: 3)
            let started = monotonicNanoseconds()
            do {
                _ = try runProcessTrial(workload: workload, kind: .countdown, units: 3, processes: 3, transfer: .pipe,
                                        lock: .default, blasThreads: 1, executable: gillabExecutable,
                                        timeout: .seconds(5), faults: [1: fault])
                Issue.record("the run succeeded despite a worker fault \(fault)")
            } catch {
                let message = error.description
                let named = fault == .hang ? "worker " : "worker 1 (pid "
                let crashed = fault == .crash && message.contains("exited with status") && !message.contains("status 0")
                #expect(message.contains(named) && (message.contains(expected) || crashed), "\(message)")
            }
            // Within the timeout plus reaping, and with no worker left behind.
            #expect(monotonicNanoseconds() - started < 20_000_000_000)
            #expect(workerChildren().isEmpty)
        }

        @Test("a user's own executable that calls WorkerProcess.runIfWorker() serves as the worker")
        func ownExecutableServes() throws {
            let example = URL(fileURLWithPath: gillabExecutable).deletingLastPathComponent()
                .appendingPathComponent("WorkerExample").path
            let report = try Runner.run(RunPlan(workload: .gemm, size: 12, units: 8, threads: [2],
                                                modes: [.serial, .processes, .hybrid], repeats: 1, workerExecutable: example))
            #expect(Set(report.results.map(\.checksum)).count == 1)
            #expect(report.results.map(\.mode) == [.serial, .processes, .hybrid])
            #expect(workerChildren().isEmpty)
        }

        @Test("a binary that is not a worker is named, with the call its main is missing")
        func notAWorker() throws {
            do {
                _ = try Runner.run(RunPlan(workload: .gemm, size: 8, units: 2, threads: [2], modes: [.processes], repeats: 1,
                                           workerExecutable: "/bin/true"))
                Issue.record("/bin/true served as a worker")
            } catch {
                #expect("\(error)".contains("does /bin/true's main call WorkerProcess.runIfWorker()?"), "\(error)")
            }
        }

        @Test("a missing worker binary is a clear error, and the BLAS thread count is restored after it")
        func spawnFailureRestoresBLAS() throws {
            let before = BLAS.threads
            #expect(throws: RunnerError.self) {
                try Runner.run(RunPlan(workload: .gemm, size: 8, units: 2, threads: [2], modes: [.processes], repeats: 1,
                                       blasThreads: before == 1 ? 2 : 1, workerExecutable: "/nonexistent/gillab"))
            }
            #expect(BLAS.threads == before)
        }
    }
}

extension RunResult {
    /// Lock acquisitions summed over the worker processes.
    var perProcessAcquisitions: UInt64 { lock.acquisitions }
}
