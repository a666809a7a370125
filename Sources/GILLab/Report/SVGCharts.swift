import Foundation

// Two charts as plain SVG 1.1, readable as they are in a browser or an image viewer: axes with
// ticks, labels, a title and a legend, in colours that stay apart in greyscale.

/// SVG charts of a run: speedup against threads, and a strip of who held the lock when.
public enum SVGChart {
    /// Line colours, one per mode, in the order modes appear.
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]

    /// Speedup over serial against thread count, one line per mode, with the ideal line
    /// (linear up to the core count, flat after) and the Amdahl line from the serial run's held
    /// fraction.
    public static func speedup(_ report: RunReport) -> String {
        let rows = report.results.filter { $0.mode != .serial }
        let cores = report.machine.cores
        let counts = Array(Set(rows.map(\.threads))).sorted()
        let most = max(counts.last ?? 1, 2)
        let ideal = counts.isEmpty ? [] : (1...most).filter { $0 == 1 || counts.contains($0) || $0 == min(cores, most) }
            .map { (Double($0), Double(min($0, cores))) }
        let amdahlSource = rows.first { $0.mode != .hybrid && $0.mode != .processes } ?? rows.first
        let amdahl = rows.filter { $0.mode == amdahlSource?.mode }.sorted { $0.threads < $1.threads }
            .compactMap { row in row.amdahlSpeedup.map { (Double(row.threads), $0) } }
        let top = niceCeiling(max(rows.map(\.speedup).max() ?? 1, Double(min(most, cores)), 1) * 1.1)

        let width = 760.0, height = 440.0
        let left = 70.0, right = 240.0, topMargin = 50.0, bottom = 60.0
        let plotWidth = width - left - right, plotHeight = height - topMargin - bottom
        func x(_ threads: Double) -> Double { left + (threads - 1) / Double(most - 1) * plotWidth }
        func y(_ speedup: Double) -> Double { topMargin + plotHeight - speedup / top * plotHeight }

        var svg = header(width: width, height: height)
        let title = "\(report.config.workload) size \(report.config.size): speedup over serial (\(counted(cores, "core")), \(report.config.policy.rawValue))"
        svg += text(title, x: width / 2, y: 26, size: 15, anchor: "middle", weight: "bold")
        // Grid and axes.
        for tick in stride(from: 0.0, through: top + 1e-9, by: tickStep(top)) {
            svg += line(left, y(tick), left + plotWidth, y(tick), stroke: "#e5e5e5")
            svg += text(format(tick), x: left - 8, y: y(tick) + 4, size: 12, anchor: "end")
        }
        for count in Set(counts + [1]).sorted() {
            svg += line(x(Double(count)), topMargin, x(Double(count)), topMargin + plotHeight, stroke: "#f0f0f0")
            svg += text("\(count)", x: x(Double(count)), y: topMargin + plotHeight + 18, size: 12, anchor: "middle")
        }
        svg += line(left, topMargin + plotHeight, left + plotWidth, topMargin + plotHeight, stroke: "#333")
        svg += line(left, topMargin, left, topMargin + plotHeight, stroke: "#333")
        svg += text("threads", x: left + plotWidth / 2, y: height - 18, size: 13, anchor: "middle")
        svg += #"<text x="18" y="\#(fmt(topMargin + plotHeight / 2))" font-size="13" text-anchor="middle" transform="rotate(-90 18 \#(fmt(topMargin + plotHeight / 2)))">speedup over serial</text>"# + "\n"

        // Reference lines, then one line per mode.
        var legend: [(label: String, colour: String, dash: String?)] = []
        if !ideal.isEmpty {
            svg += polyline(ideal.map { (x($0.0), y($0.1)) }, stroke: "#999", width: 2, dash: "6 4")
            legend.append(("ideal (\(counted(cores, "core")))", "#999", "6 4"))
        }
        if amdahl.count > 0 {
            svg += polyline(amdahl.map { (x($0.0), y($0.1)) }, stroke: "#000", width: 1.5, dash: "2 3")
            legend.append(("Amdahl (serial held share)", "#000", "2 3"))
        }
        var modes: [Mode] = []
        for row in rows where !modes.contains(row.mode) { modes.append(row.mode) }
        for (index, mode) in modes.enumerated() {
            let colour = palette[index % palette.count]
            let points = rows.filter { $0.mode == mode }.sorted { $0.threads < $1.threads }.map { (x(Double($0.threads)), y($0.speedup)) }
            svg += polyline(points, stroke: colour, width: 2.5, dash: nil)
            for point in points {
                svg += #"<circle cx="\#(fmt(point.0))" cy="\#(fmt(point.1))" r="4" fill="\#(colour)"/>"# + "\n"
            }
            legend.append((mode.rawValue, colour, nil))
        }
        svg += Self.legend(legend, x: left + plotWidth + 20, y: topMargin + 10)
        return svg + "</svg>\n"
    }

    /// A legend, one entry a line from (`x`, `y`) down: a stroke in the entry's colour and dash, then its label.
    static func legend(_ entries: [(label: String, colour: String, dash: String?)], x: Double, y: Double) -> String {
        var svg = ""
        for (index, entry) in entries.enumerated() {
            let ly = y + Double(index) * 22
            svg += line(x, ly, x + 28, ly, stroke: entry.colour, width: 2.5, dash: entry.dash)
            svg += text(entry.label, x: x + 36, y: ly + 4, size: 12, anchor: "start")
        }
        return svg
    }

    /// Lock ownership per thread over the first `milliseconds` of a traced row: holding, waiting,
    /// released around a kernel, released around I/O.
    public static func timeline(_ segment: RunTrace.Segment, title: String, milliseconds: Double = 50) -> String {
        let span = min(Double(segment.endNanoseconds - segment.startNanoseconds), milliseconds * 1e6)
        let windowEnd = segment.startNanoseconds + UInt64(max(span, 1))
        let threads = segment.recordings
        let rowHeight = 24.0, left = 110.0, right = 30.0, topMargin = 50.0
        let width = 900.0
        let plotWidth = width - left - right
        let plotHeight = Double(max(threads.count, 1)) * rowHeight
        let height = topMargin + plotHeight + 90
        func x(_ nanoseconds: UInt64) -> Double {
            left + Double(nanoseconds - segment.startNanoseconds) / max(span, 1) * plotWidth
        }
        let colours: [LockSpan.Kind: String] = [.hold: "#2ca02c", .wait: "#d62728", .kernel: "#1f77b4", .io: "#ff7f0e"]

        var svg = header(width: width, height: height)
        svg += text(title, x: width / 2, y: 26, size: 15, anchor: "middle", weight: "bold")
        for (row, thread) in threads.enumerated() {
            let top = topMargin + Double(row) * rowHeight
            let lane = "#f4f4f4"
            svg += #"<rect x="\#(fmt(left))" y="\#(fmt(top + 3))" width="\#(fmt(plotWidth))" height="\#(fmt(rowHeight - 6))" fill="\#(lane)"/>"# + "\n"
            svg += text(thread.name, x: left - 8, y: top + rowHeight / 2 + 4, size: 12, anchor: "end")
            for piece in segment.spans(of: thread) where piece.start < windowEnd {
                let from = x(piece.start)
                var to = x(min(piece.end, windowEnd))
                // A hold or a wait narrower than a pixel is drawn one pixel wide, so that every
                // handoff shows; released spans are drawn as they are, slivers skipped.
                if piece.kind == .hold || piece.kind == .wait { to = max(to, from + 1) } else if to - from < 0.1 { continue }
                let inset = piece.kind == .hold ? 3.0 : 7.0
                svg += #"<rect x="\#(fmt(from))" y="\#(fmt(top + inset))" width="\#(fmt(to - from))" height="\#(fmt(rowHeight - 2 * inset))" fill="\#(colours[piece.kind]!)"/>"# + "\n"
            }
        }
        // Time axis.
        let axisY = topMargin + plotHeight + 4
        svg += line(left, axisY, left + plotWidth, axisY, stroke: "#333")
        let totalMilliseconds = span / 1e6
        let step = tickStep(totalMilliseconds)
        for tick in stride(from: 0.0, through: totalMilliseconds + 1e-9, by: step) {
            let tx = left + tick / totalMilliseconds * plotWidth
            svg += line(tx, axisY, tx, axisY + 5, stroke: "#333")
            svg += text(format(tick), x: tx, y: axisY + 19, size: 11, anchor: "middle")
        }
        svg += text("milliseconds from the start of the timed run", x: left + plotWidth / 2, y: axisY + 38, size: 12, anchor: "middle")
        // Legend.
        let legend: [(LockSpan.Kind, String)] = [(.hold, "holding the lock"), (.wait, "waiting for it"),
                                                  (.kernel, "released: kernel"), (.io, "released: I/O")]
        for (index, entry) in legend.enumerated() {
            let lx = left + Double(index) * 180
            let ly = axisY + 56
            svg += #"<rect x="\#(fmt(lx))" y="\#(fmt(ly - 9))" width="14" height="12" fill="\#(colours[entry.0]!)"/>"# + "\n"
            svg += text(entry.1, x: lx + 20, y: ly + 1, size: 12, anchor: "start")
        }
        return svg + "</svg>\n"
    }

    // MARK: - Pieces

    static func header(width: Double, height: Double) -> String {
        #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
            + #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(fmt(width))" height="\#(fmt(height))" viewBox="0 0 \#(fmt(width)) \#(fmt(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">"# + "\n"
            + #"<rect width="100%" height="100%" fill="white"/>"# + "\n"
    }

    static func text(_ content: String, x: Double, y: Double, size: Int, anchor: String, weight: String = "normal") -> String {
        #"<text x="\#(fmt(x))" y="\#(fmt(y))" font-size="\#(size)" text-anchor="\#(anchor)" font-weight="\#(weight)">\#(escape(content))</text>"# + "\n"
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1, dash: String? = nil) -> String {
        let dashing = dash.map { #" stroke-dasharray="\#($0)""# } ?? ""
        return #"<line x1="\#(fmt(x1))" y1="\#(fmt(y1))" x2="\#(fmt(x2))" y2="\#(fmt(y2))" stroke="\#(stroke)" stroke-width="\#(fmt(width))"\#(dashing)/>"# + "\n"
    }

    static func polyline(_ points: [(Double, Double)], stroke: String, width: Double, dash: String?) -> String {
        let dashing = dash.map { #" stroke-dasharray="\#($0)""# } ?? ""
        let list = points.map { "\(fmt($0.0)),\(fmt($0.1))" }.joined(separator: " ")
        return #"<polyline points="\#(list)" fill="none" stroke="\#(stroke)" stroke-width="\#(fmt(width))"\#(dashing)/>"# + "\n"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    static func fmt(_ value: Double) -> String { String(format: "%.2f", value) }

    /// A tick label: no trailing zeros.
    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%g", (value * 1000).rounded() / 1000)
    }

    /// A step giving 4 to 10 ticks over 0…top: 1, 2 or 5 times a power of ten.
    static func tickStep(_ top: Double) -> Double {
        guard top > 0 else { return 1 }
        let raw = top / 6
        let power = pow(10, floor(log10(raw)))
        for factor in [1.0, 2.0, 5.0, 10.0] where raw <= factor * power { return factor * power }
        return 10 * power
    }

    /// `value` rounded up to a multiple of its tick step.
    static func niceCeiling(_ value: Double) -> Double {
        let step = tickStep(value)
        return (value / step).rounded(.up) * step
    }
}
