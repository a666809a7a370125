// swift-tools-version: 6.1
import PackageDescription

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

        // MARK: - Swift

        .target(
            name: "GILLab",
            dependencies: [
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

        // MARK: - Tests

        .testTarget(
            name: "GILLabTests",
            dependencies: ["GILLab", "CKernels", "gillab"],
            path: "Tests/GILLabTests"
        ),
    ]
)
