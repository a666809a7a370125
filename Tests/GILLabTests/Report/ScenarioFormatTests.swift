import Foundation
import Testing
@testable import GILLab
import GILLabTestSupport

@Suite("Report: a scenario's report in every format, and its verdicts")
struct ScenarioFormatTests {
    static func convoy(stop: StopRequest? = nil) throws -> ConvoyReport {
        try ConvoyScenario.run(ConvoyPlan(policies: [.newGIL], cpuThreads: [0, 1], samples: 5, rounds: 1), stop: stop)
    }

    @Test("table, CSV, Markdown and JSON carry the same rows; the JSON says nothing of an interruption that did not happen")
    func formats() throws {
        let report = try Self.convoy()
        #expect(report.results.count == 2)
        let printable: any PrintableScenarioReport = report
        let table = printable.rendered(as: .table)
        #expect(table.contains("p50_us") && table.contains("new-gil"))
        let csv = printable.rendered(as: .csv).split(separator: "\n")
        #expect(csv.first?.contains("p50_us") == true)
        #expect(csv.filter { $0.hasPrefix("new-gil") }.count == 2)
        #expect(printable.rendered(as: .markdown).contains("| new-gil"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(printable.rendered(as: .json).utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["machine", "config", "results"])
        #expect(!printable.verdicts.isEmpty)
    }

    @Test("a scenario stopped before its first round reports no rows, and says it was interrupted")
    func interrupted() throws {
        let stop = StopRequest()
        stop.stop()
        let report = try Self.convoy(stop: stop)
        #expect(report.interrupted == true)
        #expect(report.results.isEmpty && report.config.rounds == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(ReportRenderer.json(report).utf8)) as? [String: Any])
        #expect(object["interrupted"] as? Bool == true)
        #expect((report as any PrintableScenarioReport).verdicts.isEmpty)
    }
}
