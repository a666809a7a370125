#if canImport(Glibc)
import Glibc
#endif
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import GILLab

@Suite("Event hooks and statistics")
struct EventHookTests {
    /// A scripted 2-thread run: A holds; B asks and waits; A releases around a kernel, so B
    /// gets the lock, gives it back and leaves; A takes it again and leaves.
    @Test("a scripted 2-thread run gives wants → acquired → released, in order, for each thread")
    func scriptedOrder() throws {
        let recorder = LockEventRecorder()
        let lock = InterpreterLock(eventHook: recorder)
        let a = lock.makeThreadState(name: "a")
        a.acquire()
        let bIsWaiting = Counter()
        let b = NativeThread {
            let b = lock.makeThreadState(name: "b")
            bIsWaiting.store(1)
            b.acquire()
            b.release(reason: .end)
            b.detach()
        }
        // B has asked once the lock counts a waiter.
        let deadline = monotonicNanoseconds() + 10_000_000_000
        while bIsWaiting.load == 0 || lock.state.waitingCount == 0 {
            #expect(monotonicNanoseconds() < deadline, "B never started waiting")
            if monotonicNanoseconds() >= deadline { break }
            sched_yield()
        }
        a.withoutLock { b.join() }
        a.detach()

        let threads = recorder.threads
        #expect(threads.map(\.name) == ["a", "b"])
        let kinds = threads.map { $0.events.map(\.kind) }
        #expect(kinds[0] == [.threadStart, .wants, .acquired, .released(.kernel), .wants, .acquired, .released(.exit), .threadExit])
        #expect(kinds[1] == [.threadStart, .wants, .acquired, .released(.end), .threadExit])
        for thread in threads {
            let times = thread.events.map(\.nanoseconds)
            #expect(times == times.sorted(), "\(thread.name)'s events go back in time")
            #expect(thread.events.allSatisfy { $0.threadID == thread.id })
        }
        // Across threads: B asked before A let go, and got the lock only after.
        let aReleased = try #require(threads[0].events.first { $0.kind == .released(.kernel) }).nanoseconds
        let bWants = try #require(threads[1].events.first { $0.kind == .wants }).nanoseconds
        let bAcquired = try #require(threads[1].events.first { $0.kind == .acquired }).nanoseconds
        let bReleased = try #require(threads[1].events.first { $0.kind == .released(.end) }).nanoseconds
        let aBack = threads[0].events.filter { $0.kind == .acquired }[1].nanoseconds
        #expect(bWants < aReleased)
        #expect(aReleased <= bAcquired)
        #expect(bReleased <= aBack)
    }

    @Test("per thread, hold + wait + released is the thread's life, and the events say the same",
          arguments: [LockPolicy.newGIL, .legacyGIL, .ioPriority, .perInterpreter, .free])
    func statisticsAddUp(policy: LockPolicy) throws {
        let recorder = LockEventRecorder()
        let lock = InterpreterLock(configuration: try LockConfiguration(policy: policy, switchInterval: .microseconds(200),
                                                                       checkInterval: 50),
                                   eventHook: recorder)
        let states = Collector<(String, LockStatistics)>()
        let started = monotonicNanoseconds()
        runThreads(3) { index in
            let thread = lock.makeThreadState(name: "t\(index)")
            var spin: UInt64 = 0
            for step in 0..<300 {
                thread.acquire()
                for _ in 0..<200 { spin &+= 1; thread.checkpoint() }
                if step % 3 == 0 {
                    thread.withoutLock(reason: step % 2 == 0 ? .io : .kernel) { for _ in 0..<500 { spin &+= 1 } }
                }
                thread.release()
            }
            thread.detach()
            states.append((thread.name, thread.statistics))
            #expect(spin > 0)
        }
        let wall = monotonicNanoseconds() - started
        for (_, statistics) in states.all {
            let sum = statistics.totalHoldNanoseconds + statistics.totalWaitNanoseconds + statistics.releasedNanoseconds
            #expect(statistics.lifetimeNanoseconds > 0)
            #expect(sum == statistics.lifetimeNanoseconds, "hold + wait + released = \(sum), life = \(statistics.lifetimeNanoseconds)")
            #expect(statistics.releasedNanoseconds >= statistics.releasedKernelNanoseconds + statistics.releasedIONanoseconds)
        }
        // The timeline and the counters come from the same clock reads.
        for thread in recorder.threads {
            let statistics = try #require(states.all.first { $0.0 == thread.name }).1
            var hold: UInt64 = 0, wait: UInt64 = 0, since: UInt64 = 0
            for event in thread.events {
                switch event.kind {
                case .wants: since = event.nanoseconds
                case .acquired: wait += event.nanoseconds - since; since = event.nanoseconds
                case .released: hold += event.nanoseconds - since
                default: break
                }
            }
            #expect(statistics.totalHoldNanoseconds == hold)
            #expect(statistics.totalWaitNanoseconds == wait)
        }
        let lockStatistics = lock.statistics
        #expect(lockStatistics.someoneWaitingNanoseconds <= wall)
        if policy == .free { #expect(lockStatistics.someoneWaitingNanoseconds == 0) }
    }

    @Test("a callback hook hears every thread, and a lock without a hook records nothing")
    func callbackHook() {
        let heard = Counter()
        let lock = InterpreterLock(eventHook: LockEventCallback { _ in heard.add() })
        runThreads(2) { _ in
            let thread = lock.makeThreadState()
            thread.acquire()
            thread.release()
            thread.detach()
        }
        #expect(heard.load == 2 * 5)  // start, wants, acquired, released, exit
        #expect(InterpreterLock().eventHook == nil)
    }

    @Test("a recorder keeps at most its limit per thread and counts the rest")
    func recorderLimit() {
        let recorder = LockEventRecorder(eventsPerThread: 4)
        let thread = InterpreterLock(eventHook: recorder).makeThreadState()
        for _ in 0..<3 { thread.acquire(); thread.release() }
        thread.detach()
        let recording = recorder.threads[0]
        #expect(recording.events.count == 4)
        #expect(recording.dropped == 1 + 3 * 3 + 1 - 4)
    }
}

extension OpenBLASProcessWide {
    @Suite("Trace, charts and report folder")
    struct TraceTests {
        static func tracedRun(modes: [Mode] = [.serial, .hold, .release]) throws -> (RunReport, RunTrace) {
            let trace = RunTrace()
            let report = try Runner.run(RunPlan(workload: .gemm, size: 96, units: 40, threads: [1, 2], modes: modes, repeats: 1),
                                        trace: trace)
            return (report, trace)
        }

        @Test("the Chrome trace is valid, per-thread, and hold slices never overlap in hold mode")
        func chromeTrace() throws {
            let (report, trace) = try Self.tracedRun()
            #expect(trace.segments.map(\.label) == ["serial ×1", "hold ×1", "hold ×2", "release ×1", "release ×2"])
            let text = ChromeTrace.render(trace, report: report)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let events = try #require(object["traceEvents"] as? [[String: Any]])
            #expect(events.contains { $0["ph"] as? String == "C" && $0["name"] as? String == "waiters" })
            let slices = events.filter { $0["ph"] as? String == "X" }
            #expect(!slices.isEmpty)
            for slice in slices {
                #expect(slice["tid"] is Int && slice["pid"] is Int && slice["ts"] is Double && slice["dur"] is Double)
            }
            // Every row's threads have names, and each thread's slices are its own track.
            let names = events.filter { $0["name"] as? String == "thread_name" }
            #expect(names.count == trace.segments.reduce(0) { $0 + $1.recordings.count })

            // hold ×2 is the third process: its hold slices, over both threads, never overlap.
            let holdPid = 1 + trace.segments.firstIndex { $0.mode == .hold && $0.threads == 2 }!
            let holds = slices.filter { $0["pid"] as? Int == holdPid && $0["name"] as? String == "hold" }
                .map { (start: $0["ts"] as! Double, end: ($0["ts"] as! Double) + ($0["dur"] as! Double), tid: $0["tid"] as! Int) }
                .sorted { $0.start < $1.start }
            #expect(Set(holds.map(\.tid)).count == 2, "both threads should hold at some point")
            for (earlier, later) in zip(holds, holds.dropFirst()) {
                // Times are printed to the nanosecond (3 decimals of µs).
                #expect(later.start >= earlier.end - 0.0015, "\(earlier) overlaps \(later)")
            }
            // Released slices for kernels show up under release.
            let releasePid = 1 + trace.segments.firstIndex { $0.mode == .release && $0.threads == 2 }!
            #expect(slices.contains { $0["pid"] as? Int == releasePid && $0["name"] as? String == "released (kernel)" })
        }

        @Test("the SVG charts are well-formed XML with axes, labels and a legend")
        func charts() throws {
            let (report, trace) = try Self.tracedRun()
            let speedup = SVGChart.speedup(report)
            let segment = try #require(trace.segments.first { $0.mode == .release && $0.threads == 2 })
            let timeline = SVGChart.timeline(segment, title: "release", milliseconds: 5)
            for svg in [speedup, timeline] {
                let parser = XMLParser(data: Data(svg.utf8))
                #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
                #expect(svg.contains("<svg") && svg.contains("</svg>"))
            }
            for label in ["threads", "speedup over serial", "ideal (2 cores)", "Amdahl", "hold", "release"] {
                #expect(speedup.contains(label), "no \(label) in the speedup chart")
            }
            for label in ["worker-0", "worker-1", "holding the lock", "waiting for it", "released: kernel", "milliseconds"] {
                #expect(timeline.contains(label), "no \(label) in the timeline")
            }
            #expect(timeline.contains("<rect"))
        }

        @Test("the report folder holds report.md, the charts it links, the trace and the JSON")
        func folder() throws {
            let (report, trace) = try Self.tracedRun()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gillab-report-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let files = try ReportFolder.write(report, trace: trace, command: "gillab report", to: directory)
            #expect(files.contains("report.md") && files.contains("trace.json") && files.contains("results.json"))
            #expect(files.contains("speedup.svg") && files.contains("timeline-hold-2.svg") && !files.contains("timeline-serial-1.svg"))
            let markdown = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)
            for file in files where file.hasSuffix(".svg") || file.hasSuffix(".json") {
                #expect(markdown.contains("(\(file))"), "report.md does not link \(file)")
                #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path))
            }
            let decoded = try JSONDecoder().decode(RunReport.self, from: Data(contentsOf: directory.appendingPathComponent("results.json")))
            #expect(decoded.results.count == report.results.count)
        }

        @Test("per-thread figures and the waiting share reach the run's JSON")
        func perThreadJSON() throws {
            let (report, _) = try Self.tracedRun(modes: [.hold])
            let hold = try #require(report.results.first { $0.mode == .hold && $0.threads == 2 })
            #expect(hold.perThread.map(\.name) == ["worker-0", "worker-1"])
            #expect(hold.lock.waitingFraction > 0 && hold.lock.waitingFraction <= 1.0001)
            let json = ReportRenderer.json(report)
            for key in ["\"per_thread\"", "\"waiting_fraction\"", "\"hold_s\"", "\"released_s\""] { #expect(json.contains(key)) }
            let load = ReportRenderer.load(report.results)
            #expect(load.contains("worker-1") && load.contains("waiting"))
        }
    }
}
