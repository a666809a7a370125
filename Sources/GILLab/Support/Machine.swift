#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the machine was, printed with every result so a number is never quoted without it.
public struct MachineInfo: Sendable, Codable, Equatable {
    /// Online CPU cores.
    public var cores: Int
    /// The CPU model, from /proc/cpuinfo where there is one.
    public var cpuModel: String
    /// Physical memory in bytes.
    public var memoryBytes: UInt64
    /// `openblas_get_config()`.
    public var openblasConfig: String
    /// `openblas_get_corename()`.
    public var openblasCorename: String
    /// The `OPENBLAS_CORETYPE` environment variable, or "unset". It forces OpenBLAS's kernel
    /// choice; older OpenBLAS builds misdetect some CPUs without it.
    public var openblasCoretype: String
    /// OpenBLAS threads at start-up.
    public var openblasThreads: Int
    /// The Swift compiler that built gillab.
    public var swiftVersion: String

    enum CodingKeys: String, CodingKey {
        case cores, cpuModel = "cpu_model", memoryBytes = "memory_bytes"
        case openblasConfig = "openblas_config", openblasCorename = "openblas_corename"
        case openblasCoretype = "openblas_coretype", openblasThreads = "openblas_threads"
        case swiftVersion = "swift_version"
    }

    /// Reads this machine.
    public static func current() -> MachineInfo {
        MachineInfo(
            cores: onlineCores,
            cpuModel: readCPUModel() ?? "unknown",
            memoryBytes: physicalMemoryBytes,
            openblasConfig: BLAS.configuration.trimmingTrailingSpaces(),
            openblasCorename: BLAS.coreName,
            openblasCoretype: getenv("OPENBLAS_CORETYPE").map { String(cString: $0) } ?? "unset",
            openblasThreads: BLAS.threads,
            swiftVersion: compilerVersion)
    }

    /// Online CPU cores.
    public static var onlineCores: Int { max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1) }

    /// Physical memory in bytes.
    public static var physicalMemoryBytes: UInt64 {
        UInt64(max(sysconf(Int32(_SC_PHYS_PAGES)), 0)) * UInt64(max(sysconf(Int32(_SC_PAGESIZE)), 0))
    }

    static var compilerVersion: String {
        #if compiler(>=6.4)
        "6.4 or later"
        #elseif compiler(>=6.3)
        "6.3"
        #elseif compiler(>=6.2)
        "6.2"
        #elseif compiler(>=6.1)
        "6.1"
        #else
        "6.0"
        #endif
    }

    private static func readCPUModel() -> String? {
        guard let file = fopen("/proc/cpuinfo", "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            if text.hasPrefix("model name"), let colon = text.firstIndex(of: ":") {
                return String(text[text.index(after: colon)...]).trimmingTrailingSpaces().drop { $0 == " " }.description
            }
        }
        return nil
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return String(s)
    }
}

