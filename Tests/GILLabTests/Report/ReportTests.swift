#if canImport(Glibc)
import Glibc
#endif
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import GILLab
import GILLabTestSupport

extension OpenBLASProcessWide {
    @Suite("Trace, charts and report folder")
    struct TraceTests {
        static func tracedRun(modes: [Mode] = [.serial, .hold, .release], units: Int = 40) throws -> (RunReport, RunTrace) {
            let trace = RunTrace()
            let report = try Runner.run(RunPlan(workload: .gemm, size: 96, units: units, threads: [1, 2], modes: modes, repeats: 1),
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

        /// countdown on 2 threads holding, with a 1 ms interval: many forced switches.
        static func countdownRun() throws -> (RunReport, RunTrace) {
            let trace = RunTrace()
            var plan = RunPlan(workload: .countdown, size: 60_000, units: 4, threads: [2], modes: [.hold], repeats: 1,
                               lock: try LockConfiguration(switchInterval: .milliseconds(1)))
            plan.attributeWaits = true
            return (try Runner.run(plan, trace: trace), trace)
        }

        @Test("handoff arrows pair up, each from a drop to a later take on another thread; drop requests name the holder; holds name a location")
        func handoffArrows() throws {
            let (report, trace) = try Self.countdownRun()
            let text = ChromeTrace.render(trace, report: report)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let events = try #require(object["traceEvents"] as? [[String: Any]])
            let pid = 1 + trace.segments.firstIndex { $0.mode == .hold && $0.threads == 2 }!
            let holds = events.filter { $0["ph"] as? String == "X" && $0["name"] as? String == "hold" && $0["pid"] as? Int == pid }
            func holdContaining(_ ts: Double, tid: Int) -> [String: Any]? {
                holds.first { $0["tid"] as? Int == tid && ($0["ts"] as! Double) - 0.0015 <= ts
                    && ts <= ($0["ts"] as! Double) + ($0["dur"] as! Double) + 0.0015 }
            }
            let starts = events.filter { $0["ph"] as? String == "s" }, finishes = events.filter { $0["ph"] as? String == "f" }
            #expect(!starts.isEmpty, "no handoff arrows")
            #expect(starts.count == finishes.count)
            let finishByID = Dictionary(finishes.map { ($0["id"] as! Int, $0) }, uniquingKeysWith: { first, _ in first })
            #expect(finishByID.count == finishes.count, "flow ids repeat")
            for start in starts {
                let id = try #require(start["id"] as? Int)
                let finish = try #require(finishByID[id], "arrow \(id) has no end")
                #expect(start["tid"] as? Int != finish["tid"] as? Int, "arrow \(id) stays on one thread")
                let from = start["ts"] as! Double, to = finish["ts"] as! Double
                #expect(from <= to, "arrow \(id) goes back in time")
                #expect(finish["bp"] as? String == "e")
                // It leaves from inside a hold that ends at the drop, and lands on a hold that starts at the take.
                let dropping = try #require(holdContaining(from, tid: start["tid"] as! Int), "arrow \(id) starts outside a hold")
                #expect(abs((dropping["ts"] as! Double) + (dropping["dur"] as! Double) - from) <= 0.0025)
                let taking = try #require(holds.first { $0["tid"] as? Int == finish["tid"] as? Int && abs(($0["ts"] as! Double) - to) <= 0.0015 },
                                          "arrow \(id) lands outside a hold")
                #expect(taking["args"] != nil)
            }
            #expect(holds.allSatisfy { ($0["args"] as? [String: Any])?["location"] is String })
            #expect(holds.contains { ($0["args"] as? [String: Any])?["location"] as? String == "countdown.py:2 in unit (while n > 0:)" })
            let requests = events.filter { $0["ph"] as? String == "i" && $0["name"] as? String == "drop request" }
            #expect(!requests.isEmpty)
            for request in requests {
                let args = try #require(request["args"] as? [String: String])
                #expect(["worker-0", "worker-1"].contains(args["asked"]) && args["asked"] != args["by"])
            }
        }

        @Test("run with waits attributed: the JSON's lock.waits_behind and lock.blockers, the text's wait matrix")
        func attributedWaits() throws {
            let (report, _) = try Self.countdownRun()
            let row = try #require(report.results.first)
            let matrix = try #require(row.lock.waitsBehind)
            let blockers = try #require(row.lock.blockers)
            #expect(Set(matrix.map(\.waiter)) == ["worker-0", "worker-1"])
            #expect(matrix.allSatisfy { $0.waiter != $0.holder && $0.seconds > 0 && $0.shareOfLife > 0 && $0.shareOfLife <= 1 })
            #expect(blockers.first?.location == "countdown.py:2 in unit (while n > 0:)")
            #expect(abs(blockers.reduce(0) { $0 + $1.share } - 1) < 1e-9)
            let matrixTotal = matrix.reduce(0) { $0 + $1.seconds }, blockersTotal = blockers.reduce(0) { $0 + $1.seconds }
            #expect(abs(matrixTotal - blockersTotal) < 1e-6)
            let json = ReportRenderer.json(report)
            #expect(json.contains("\"waits_behind\"") && json.contains("\"blockers\"") && json.contains("\"share_of_life\""))
            let text = try #require(ReportRenderer.waits(report.results))
            #expect(text.contains("hold ×2: who waited behind whom"))
            #expect(text.contains("countdown.py:2 in unit (while n > 0:)  held while others waited"))
            // serial and free rows, and runs without attribution, have none.
            let plain = try Runner.run(RunPlan(workload: .countdown, size: 20_000, units: 2, threads: [1, 2], modes: [.serial, .hold], repeats: 1))
            #expect(plain.results.allSatisfy { $0.lock.waitsBehind == nil })
            #expect(ReportRenderer.waits(plain.results) == nil)
        }

        @Test("a kernel called holding the lock is a blocker of its own: dgemm (hold) from Python glue, stencil5 (hold) from Swift glue",
              arguments: [(WorkloadKind.gemm, 64, "dgemm (hold)"), (.stencil, 256, "stencil5 (hold)"), (.hash, 1 << 16, "fnv1a (hold)")])
        func heldKernelBlocker(workload: WorkloadKind, size: Int, location: String) throws {
            // Each thread's share must last long enough that the two overlap even on a loaded
            // host (the stress suite runs beside this one): with 64 small units, one thread once
            // finished its share before the other had started, and nobody waited.
            var plan = RunPlan(workload: workload, size: size, units: 512, threads: [2], modes: [.hold], repeats: 1,
                               lock: try LockConfiguration(switchInterval: .microseconds(200)))
            plan.attributeWaits = true
            let report = try Runner.run(plan)
            let blockers = try #require(report.results.first?.lock.blockers)
            #expect(blockers.contains { $0.location == location && $0.seconds > 0 }, "\(blockers.map(\.location))")
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
            // Enough units (about 20 ms) that the second thread starts before the first has done
            // them all: 40 units once ran out before it did, on a busy machine, and nobody waited.
            let (report, _) = try Self.tracedRun(modes: [.hold], units: 200)
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
