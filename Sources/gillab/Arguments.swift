import ArgumentParser
import GILLab

extension WorkloadKind: ExpressibleByArgument {}
extension Mode: ExpressibleByArgument {}
extension LockPolicy: ExpressibleByArgument {}
extension ReportFormat: ExpressibleByArgument {}
extension Transfer: ExpressibleByArgument {}
extension ServiceStrategy: ExpressibleByArgument {}
extension HybridCompute: ExpressibleByArgument {}
extension CrossoverKernel: ExpressibleByArgument {}
extension CPythonComparisonPart: ExpressibleByArgument {}

/// `--release-threshold`: a matrix order, or `auto` for the crossover `gillab scenario
/// crossover` measured on this machine.
enum ReleaseThreshold: ExpressibleByArgument, Equatable {
    case fixed(Int)
    case auto

    init?(argument: String) {
        if argument == "auto" { self = .auto } else if let n = Int(argument), n >= 0 { self = .fixed(n) } else { return nil }
    }
}

/// A comma-separated list, such as `1,2,4` or `serial,hold`. Parsing fails on any bad element,
/// and ArgumentParser then names the whole value.
struct CommaList<Element: ExpressibleByArgument>: ExpressibleByArgument {
    var values: [Element]

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
        var values: [Element] = []
        for part in parts {
            guard let value = Element(argument: part.trimmingCharacters(in: " ")) else { return nil }
            values.append(value)
        }
        guard !values.isEmpty else { return nil }
        self.values = values
    }

    init(_ values: [Element]) { self.values = values }

    var defaultValueDescription: String { values.map { "\($0)" }.joined(separator: ",") }
}

extension CommaList where Element == Int {
    /// Parses a list of whole numbers; anything else is named, with the form expected.
    static func parse(_ argument: String) throws -> CommaList {
        var values: [Int] = []
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            let text = part.trimmingCharacters(in: " ")
            guard let value = Int(text) else {
                throw ValidationError("'\(text)' is not a whole number; expected comma-separated whole numbers, such as 1,2,4")
            }
            values.append(value)
        }
        return CommaList(values)
    }
}

extension CommaList where Element: CaseIterable & RawRepresentable<String> {
    /// Parses a list of choices; an unknown one is named along with the valid ones.
    static func parse(_ argument: String) throws -> CommaList {
        var values: [Element] = []
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            let name = part.trimmingCharacters(in: " ")
            guard let value = Element(rawValue: name) else {
                let valid = Element.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("unknown value '\(name)'; valid values are \(valid)")
            }
            values.append(value)
        }
        return CommaList(values)
    }
}

/// A duration written with a unit: `5ms`, `500us`, `0.25s`, `100000ns`.
struct DurationArgument: ExpressibleByArgument, CustomStringConvertible {
    var duration: Duration
    private var text: String

    private static let units: [(suffix: String, nanoseconds: Double)] = [
        ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9),
    ]

    init?(argument: String) {
        guard let unit = Self.units.first(where: { argument.hasSuffix($0.suffix) }),
              let number = Double(argument.dropLast(unit.suffix.count)),
              number.isFinite, number >= 0
        else { return nil }
        let nanoseconds = number * unit.nanoseconds
        guard nanoseconds < 1e15 else { return nil }
        duration = .nanoseconds(Int64(nanoseconds.rounded()))
        text = argument
    }

    init(_ duration: Duration, text: String) {
        self.duration = duration
        self.text = text
    }

    /// A library default, written in the largest unit that shows it whole (`5ms`, `50us`).
    init(_ duration: Duration) {
        let nanoseconds = duration.wholeNanoseconds
        let unit = Self.units.reversed().first { nanoseconds % UInt64($0.nanoseconds) == 0 && $0.suffix != "µs" } ?? ("ns", 1)
        self.init(duration, text: nanoseconds == 0 ? "0s" : "\(nanoseconds / UInt64(unit.nanoseconds))\(unit.suffix)")
    }

    var description: String { text }
    var defaultValueDescription: String { text }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String { String(self).trimmingCharacters(in: set) }
}
