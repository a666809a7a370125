import Foundation

// The Chrome Trace Event format (the "JSON Object Format" of the Trace Event Format document),
// which Perfetto and chrome://tracing open. Each traced row is a process (`pid`), each thread a
// track (`tid`); holding, waiting and released spans are complete events (`ph: "X"`), and the
// number of waiters is a counter (`ph: "C"`). Times are microseconds from the row's start.
// Built as text rather than through JSONSerialization: a trace can hold millions of events.

/// Writes a ``RunTrace`` as Chrome Trace Event JSON.
public enum ChromeTrace {
    /// The trace as JSON text: `{"traceEvents": […], "displayTimeUnit": "ms", "otherData": {…}}`.
    /// - Parameters:
    ///   - trace: the recorded run.
    ///   - report: the run's report, for the process names and the machine.
    public static func render(_ trace: RunTrace, report: RunReport) -> String {
        var out = "{\"traceEvents\":[\n"
        var first = true
        func emit(_ event: String) {
            if !first { out += ",\n" }
            first = false
            out += event
        }
        let config = report.config
        for (index, segment) in trace.segments.enumerated() {
            let pid = index + 1
            let title = "\(config.workload) size \(config.size): \(segment.label) (\(segment.policy.rawValue))"
            emit(#"{"name":"process_name","ph":"M","pid":\#(pid),"tid":0,"args":{"name":\#(quoted(title))}}"#)
            emit(#"{"name":"process_sort_index","ph":"M","pid":\#(pid),"tid":0,"args":{"sort_index":\#(pid)}}"#)
            func microseconds(_ nanoseconds: UInt64) -> String {
                String(format: "%.3f", Double(nanoseconds &- segment.startNanoseconds) / 1e3)
            }
            let spans = segment.recordings.map(segment.spans(of:))
            for (thread, threadSpans) in zip(segment.recordings, spans) {
                emit(#"{"name":"thread_name","ph":"M","pid":\#(pid),"tid":\#(thread.id),"args":{"name":\#(quoted(thread.name))}}"#)
                for span in threadSpans {
                    let duration = String(format: "%.3f", Double(span.end - span.start) / 1e3)
                    emit(#"{"name":"\#(name(of: span.kind))","cat":"lock","ph":"X","pid":\#(pid),"tid":\#(thread.id),"ts":\#(microseconds(span.start)),"dur":\#(duration)}"#)
                }
            }
            for step in segment.waiterSteps(spans) {
                emit(#"{"name":"waiters","ph":"C","pid":\#(pid),"tid":0,"ts":\#(microseconds(step.nanoseconds)),"args":{"waiters":\#(step.waiters)}}"#)
            }
        }
        let machine = report.machine
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
