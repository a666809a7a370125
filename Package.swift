// swift-tools-version: 6.1
import PackageDescription

// The modules draw the architecture (../shared/DESIGN.md section 2): three small modules that
// readers study, whose arrows the compiler enforces, and the lab that measures, which
// re-exports them. GILLabLock imports nothing of ours but CShims, two C headers and a small
// file: its clock (rdtsc) and, for the interpreter, the Swift runtime's reference-count entry points.
//
//   CKernels (C) ◀─────────────── GILLabKernels ──▶ GILLabLock ◀── GILLabInterpreter
//        ▲                              ▲                ▲  ╲            ▲  ╲
//        │                              │                │   ╲──▶ CShims (C) ◀╯
//        └──────────────────────────── GILLab (the lab) ─┴───────────────┘ ◀── gillab (CLI)

let package = Package(
    name: "GILLab",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "GILLab", targets: ["GILLab"]),
        .executable(name: "gillab", targets: ["gillab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // OrderedDictionary: the interpreter's dicts keep insertion order, as Python's do.
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        // `swift package generate-documentation` for the DocC catalog; a plugin, not linked.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // MARK: - C

        // Debian's OpenBLAS, found through pkg-config (`openblas`). Only CKernels sees it.
        .systemLibrary(
            name: "COpenBLAS",
            path: "CKernels/COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // Pure kernels on caller buffers. They know nothing of the interpreter lock.
        .target(
            name: "CKernels",
            dependencies: ["COpenBLAS"],
            path: "CKernels",
            exclude: ["COpenBLAS", "fuzz"],
            sources: ["src"],
            publicHeadersPath: "include"
        ),

        // C shims the modules readers study need: the Swift runtime's count entry points (the
        // eval loop) and the lock's clock (rdtsc). No kernels.
        .target(name: "CShims", path: "Sources/CShims"),

        // MARK: - The modules readers study

        // The interpreter lock: policies, thread states, statistics, event hooks, pthread wrappers.
        .target(name: "GILLabLock", dependencies: ["CShims"], path: "Sources/GILLabLock"),
        // The Python-level runtime: objects, parser, compiler, eval loop, builtins.
        .target(
            name: "GILLabInterpreter",
            dependencies: ["GILLabLock", "CShims", .product(name: "OrderedCollections", package: "swift-collections")],
            path: "Sources/GILLabInterpreter"
        ),
        // Swift faces of the C kernels, and the hooks behind ck_lock.h's macros.
        .target(name: "GILLabKernels", dependencies: ["GILLabLock", "CKernels"], path: "Sources/GILLabKernels"),

        // MARK: - The lab and its CLI

        .target(
            name: "GILLab",
            dependencies: [
                "GILLabLock",
                "GILLabInterpreter",
                "GILLabKernels",
                "CKernels",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Sources/GILLab"
        ),
        .executableTarget(
            name: "gillab",
            dependencies: [
                "GILLab",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/gillab"
        ),

        // MARK: - Tests (one target per module)

        // Helpers every test target shares: threads, a watchdog, counters.
        .target(name: "GILLabTestSupport", dependencies: ["GILLabLock", "GILLabInterpreter"], path: "Tests/GILLabTestSupport"),
        // C functions that only tests call (they exercise ck_lock.h from C); not shipped.
        .target(name: "CKernelsProbes", dependencies: ["CKernels"], path: "Tests/CKernelsProbes"),
        .testTarget(name: "GILLabLockTests", dependencies: ["GILLabLock", "GILLabTestSupport"], path: "Tests/GILLabLockTests"),
        // Programs/: Python programs and the output CPython 3.11 printed for them, read by path.
        .testTarget(name: "GILLabInterpreterTests", dependencies: ["GILLabInterpreter", "GILLabTestSupport"],
                    path: "Tests/GILLabInterpreterTests", exclude: ["Programs"]),
        .testTarget(
            name: "GILLabKernelsTests",
            dependencies: ["GILLabKernels", "CKernels", "CKernelsProbes", "GILLabTestSupport"],
            path: "Tests/GILLabKernelsTests"
        ),
        .testTarget(name: "GILLabTests", dependencies: ["GILLab", "GILLabTestSupport", "WorkerExample"], path: "Tests/GILLabTests"),
        // A user's own executable as the worker process (WorkerProcess.runIfWorker()).
        .executableTarget(name: "WorkerExample", dependencies: ["GILLab"], path: "Tests/WorkerExample"),
        .testTarget(name: "gillabTests", dependencies: ["gillab", "GILLab", "GILLabTestSupport"], path: "Tests/gillabTests"),
    ]
)
