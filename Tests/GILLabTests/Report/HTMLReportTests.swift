import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport

/// Headless Chromium, when installed (`.ci/run` installs Debian's `chromium`).
let chromium: String? = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
    }
    return nil
}()

extension OpenBLASProcessWide {
    @Suite("report.html")
    struct HTMLReportTests {
        /// serial and hold on 1 and 2 threads of countdown: a speedup chart, two timelines and a
        /// wait matrix.
        static func folder(at directory: URL) throws -> (RunReport, [String]) {
            let trace = RunTrace()
            let plan = RunPlan(workload: .countdown, size: 60_000, units: 8, threads: [1, 2], modes: [.serial, .hold], repeats: 1,
                               lock: try LockConfiguration(switchInterval: .milliseconds(1)))
            let report = try Runner.run(plan, trace: trace)
            let files = try ReportFolder.write(report, trace: trace, command: "gillab report --workload countdown <test> & \"quotes\"",
                                               to: directory, timelineMilliseconds: 5)
            return (report, files)
        }

        @Test("the page is self-contained: no script, stylesheet, font or image to fetch; text is escaped; it names the command")
        func selfContained() throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gillab-html-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let (_, files) = try Self.folder(at: directory)
            #expect(files.contains(ReportFolder.htmlName))
            let html = try String(contentsOf: directory.appendingPathComponent(ReportFolder.htmlName), encoding: .utf8)
            for banned in ["<script", "<link", "src=", "url(", "@import", "<img", "<iframe", "@font-face"] {
                #expect(!html.contains(banned), "report.html contains \(banned)")
            }
            // The only absolute URL is the SVG namespace, which nothing fetches.
            let urls = html.components(separatedBy: "http").dropFirst().map { "http" + $0.prefix(30) }
            #expect(urls.allSatisfy { $0.hasPrefix("http://www.w3.org/2000/svg") }, "\(urls)")
            #expect(html.contains(#"<meta name="viewport""#))
            #expect(html.contains("gillab report --workload countdown &lt;test&gt; &amp; &quot;quotes&quot;"))
            #expect(html.contains("countdown.py:2 in unit (while n &gt; 0:)"))
            #expect(html.components(separatedBy: "<svg").count - 1 == 3, "a speedup chart and two timelines")
            for section in ["verdict", "speedup", "timeline", "waits", "machine"] {
                #expect(html.contains("<section id=\"\(section)\">"), "no \(section) section")
            }
            #expect(html.contains("class=\"heatmap\""))
        }

        /// Loads the page in headless Chromium at 1280 px and at a phone's 390 px, reads the
        /// rendered DOM through a harness page, and saves screenshots in .build/report-html/.
        @Test("in headless Chromium: charts have size, tables have rows, nothing is fetched, no sideways scroll on a phone",
              .enabled(if: chromium != nil, "Chromium is not installed (apt-get install chromium): the browser check is skipped"),
              .timeLimit(.minutes(3)))
        func inChromium() throws {
            let browser = try #require(chromium)
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent()
            let directory = root.appendingPathComponent(".build/report-html")
            try? FileManager.default.removeItem(at: directory)
            _ = try Self.folder(at: directory)
            try Data(Self.harness.utf8).write(to: directory.appendingPathComponent("harness.html"))

            let dom = try Self.run(browser, ["--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom",
                                             directory.appendingPathComponent("harness.html").absoluteString])
            let start = try #require(dom.range(of: "<pre id=\"out\">"), "the harness did not run:\n\(dom.prefix(500))")
            let end = try #require(dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex))
            let json = String(dom[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&amp;", with: "&")
            let result = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: [String: Any]],
                                      "not JSON: \(json)")
            for width in ["wide", "phone"] {
                let view = try #require(result[width], "no \(width) view in \(json)")
                #expect(view["error"] == nil, "\(width): \(view["error"] ?? "")")
                let svgs = try #require(view["svgs"] as? [[Int]])
                #expect(svgs.count == 3, "\(width): \(svgs.count) charts")
                #expect(svgs.allSatisfy { $0[0] > 100 && $0[1] > 40 }, "\(width): a chart with no size: \(svgs)")
                let tables = try #require(view["tables"] as? [Int])
                #expect(tables.count >= 3 && tables.allSatisfy { $0 > 0 }, "\(width): tables \(tables)")
                #expect((view["resources"] as? [String])?.isEmpty == true, "\(width): fetched \(view["resources"] ?? "")")
                #expect((view["overflow"] as? Int ?? 1) <= 0, "\(width): the page scrolls sideways by \(view["overflow"] ?? "")")
            }
            for (width, height) in [(1280, 2400), (390, 3200)] {
                let shot = directory.appendingPathComponent("report-\(width).png")
                _ = try Self.run(browser, ["--hide-scrollbars", "--window-size=\(width),\(height)", "--screenshot=\(shot.path)",
                                           directory.appendingPathComponent(ReportFolder.htmlName).absoluteString])
                #expect(FileManager.default.fileExists(atPath: shot.path), "no screenshot at \(shot.path)")
            }
        }

        /// Runs headless Chromium with no network (every host name fails) and returns its stdout.
        static func run(_ browser: String, _ arguments: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: browser)
            process.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost"] + arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }

        /// Loads report.html at two widths in frames, and writes what it measured into the page.
        static let harness = """
            <!doctype html><html><head><meta charset="utf-8"></head><body>
            <iframe id="wide" src="report.html" style="width:1280px;height:800px;border:0"></iframe>
            <iframe id="phone" src="report.html" style="width:390px;height:800px;border:0"></iframe>
            <pre id="out">pending</pre>
            <script>
            function check(frame) {
              try {
                const d = frame.contentDocument, w = frame.contentWindow;
                const svgs = [...d.querySelectorAll('svg')].map(s => { const r = s.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; });
                const tables = [...d.querySelectorAll('table')].map(t => t.querySelectorAll('tbody tr').length);
                const resources = w.performance.getEntriesByType('resource').map(e => e.name);
                return {svgs, tables, resources, overflow: d.documentElement.scrollWidth - w.innerWidth};
              } catch (e) { return {error: String(e)}; }
            }
            window.addEventListener('load', () => {
              document.getElementById('out').textContent = JSON.stringify({
                wide: check(document.getElementById('wide')), phone: check(document.getElementById('phone'))});
            });
            </script></body></html>
            """
    }
}
