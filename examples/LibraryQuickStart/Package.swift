// swift-tools-version: 6.1
import Foundation
import PackageDescription

// A consumer of the GILLab library, as your own package would be. From a clone of GILLab use
// the path; elsewhere, `.package(url: "https://github.com/<you>/GILLab", branch: "main")`
// with the URL of the repository you cloned. Needs Debian's libopenblas-dev and pkg-config.
// A path dependency's package name is its folder's name (the clone may be called GILLab, main,
// or anything else); with a URL it is the repository's name, "GILLab".
let gillabFolder = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent()
    .deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "LibraryQuickStart",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
    ],
    targets: [
        .executableTarget(name: "LibraryQuickStart", dependencies: [.product(name: "GILLab", package: gillabFolder)]),
    ]
)
