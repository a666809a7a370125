// swift-tools-version: 6.1
// The benchmark suite lives in its own package so the GILLab library never depends on
// package-benchmark. Run it with `swift package benchmark` here, or `make bench` at the top.
import PackageDescription

let package = Package(
    name: "GILLabBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "GILLab", path: ".."),
        // MallocInterposer only: the default traits add an ARC runtime interposer whose
        // metrics crash on this toolchain.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // MARK: - Benchmarks (package-benchmark only looks under Benchmarks/<Name>/)
        benchmark("Gemm"),
        benchmark("Lock"),
        benchmark("Interpreter"),
        benchmark("LockEvents"),
        benchmark("Attribution"),
    ]
)

/// A benchmark executable in Benchmarks/<name>/, built by package-benchmark's plugin.
func benchmark(_ name: String) -> Target {
    .executableTarget(
        name: name,
        dependencies: [
            .product(name: "GILLab", package: "GILLab"),
            .product(name: "Benchmark", package: "benchmark"),
        ],
        path: "Benchmarks/\(name)",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}
