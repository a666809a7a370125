import Foundation

// The Chrome Trace Event format (the "JSON Object Format" of the Trace Event Format document),
// which Perfetto and chrome://tracing open. Each traced row is a process (`pid`), each thread a
// track (`tid`); holding, waiting and released spans are complete events (`ph: "X"`), a hold
// carrying the location it held at longest in `args`, and the number of waiters is a counter
// (`ph: "C"`). Each drop that let a waiter in is a flow arrow (`ph: "s"` inside the dropping
// hold, `ph: "f"` binding to the taking hold, one `id` per pair), and each drop request an
// instant on the asking thread's track (`ph: "i"`) naming the holder it asked. Times are
// microseconds from the row's start.
// Built as text rather than through JSONSerialization: a trace can hold millions of events.

/// Writes a ``RunTrace`` as Chrome Trace Event JSON.
public enum ChromeTrace {
    /// The trace as JSON text: `{"traceEvents": […], "displayTimeUnit": "ms", "otherData": {…}}`.
    /// - Parameters:
    ///   - trace: the recorded run.
    ///   - report: the run's report, for the process names and the machine.
    public static func render(_ trace: RunTrace, report: RunReport) -> String {
        let config = report.config
        return render(trace, machine: report.machine) { segment in
            "\(config.workload) size \(config.size): \(segment.label) (\(segment.policy.rawValue))"
        }
    }

    /// The trace of a program run (`gillab exec --trace`): one process per policy it ran under.
    public static func render(program trace: RunTrace, file: String, machine: MachineInfo) -> String {
        render(trace, machine: machine) { segment in "\(file) (\(segment.policy.rawValue))" }
    }

    private static func render(_ trace: RunTrace, machine: MachineInfo, title: (RunTrace.Segment) -> String) -> String {
        var out = "{\"traceEvents\":[\n"
        var first = true
        var flowID = 0
        func emit(_ event: String) {
            if !first { out += ",\n" }
            first = false
            out += event
        }
        for (index, segment) in trace.segments.enumerated() {
            let pid = index + 1
            let title = title(segment)
            emit(#"{"name":"process_name","ph":"M","pid":\#(pid),"tid":0,"args":{"name":\#(quoted(title))}}"#)
            emit(#"{"name":"process_sort_index","ph":"M","pid":\#(pid),"tid":0,"args":{"sort_index":\#(pid)}}"#)
            func microseconds(_ nanoseconds: UInt64) -> String {
                String(format: "%.3f", Double(nanoseconds &- segment.startNanoseconds) / 1e3)
            }
            let spans = segment.recordings.map(segment.spans(of:))
            let names = Dictionary(segment.recordings.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
            // Each location's name as a JSON string, quoted once: a trace can hold millions of holds.
            let quotedLocations = segment.locationNames.map(quoted)
            func locationName(_ index: Int) -> String {
                quotedLocations.indices.contains(index) ? quotedLocations[index] : quoted("location \(index)")
            }
            for (thread, threadSpans) in zip(segment.recordings, spans) {
                emit(#"{"name":"thread_name","ph":"M","pid":\#(pid),"tid":\#(thread.id),"args":{"name":\#(quoted(thread.name))}}"#)
                for span in threadSpans {
                    let duration = String(format: "%.3f", Double(span.end - span.start) / 1e3)
                    let args = span.location.map { #","args":{"location":\#(locationName($0))}"# } ?? ""
                    emit(#"{"name":"\#(name(of: span.kind))","cat":"lock","ph":"X","pid":\#(pid),"tid":\#(thread.id),"ts":\#(microseconds(span.start)),"dur":\#(duration)\#(args)}"#)
                }
                for event in thread.events {
                    guard case .dropRequest(let holder) = event.kind,
                          (segment.startNanoseconds..<segment.endNanoseconds).contains(event.nanoseconds) else { continue }
                    let asked = quoted(names[holder] ?? "thread-\(holder)")
                    emit(#"{"name":"drop request","cat":"lock","ph":"i","s":"t","pid":\#(pid),"tid":\#(thread.id),"ts":\#(microseconds(event.nanoseconds)),"args":{"asked":\#(asked),"by":\#(quoted(thread.name))}}"#)
                }
            }
            for handoff in segment.handoffs() where handoff.dropped > segment.startNanoseconds {
                flowID += 1
                // Each end sits a nanosecond inside its hold, so that it binds to that hold and not
                // to the slice that ends or begins at the same moment.
                emit(#"{"name":"handoff","cat":"handoff","ph":"s","id":\#(flowID),"pid":\#(pid),"tid":\#(handoff.from),"ts":\#(microseconds(handoff.dropped - 1))}"#)
                emit(#"{"name":"handoff","cat":"handoff","ph":"f","bp":"e","id":\#(flowID),"pid":\#(pid),"tid":\#(handoff.to),"ts":\#(microseconds(handoff.taken + 1))}"#)
            }
            for step in segment.waiterSteps(spans) {
                emit(#"{"name":"waiters","ph":"C","pid":\#(pid),"tid":0,"ts":\#(microseconds(step.nanoseconds)),"args":{"waiters":\#(step.waiters)}}"#)
            }
        }
        out += "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{"
        out += #""tool":"gillab","cores":"\#(machine.cores)","cpu":\#(quoted(machine.cpuModel)),"#
        out += #""openblas":\#(quoted(machine.openblasConfig)),"openblas_coretype":\#(quoted(machine.openblasCoretype)),"#
        out += #""dropped_events":"\#(trace.droppedEvents)"}}"#
        out += "\n"
        return out
    }

    /// The slice names a reader sees in Perfetto.
    static func name(of kind: LockSpan.Kind) -> String {
        switch kind {
        case .hold: "hold"
        case .wait: "wait"
        case .kernel: "released (kernel)"
        case .io: "released (I/O)"
        }
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed])
        guard let data, let array = String(data: data, encoding: .utf8) else { return "\"\"" }
        return String(array.dropFirst().dropLast())
    }
}
