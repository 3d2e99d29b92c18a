// swift-tools-version:6.0
import PackageDescription

// Pane: a learned image codec for CPUs. Module layout follows DESIGN.md.
let release: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "Pane",
    products: [
        .executable(name: "pane", targets: ["pane"]),
        .library(name: "Pane", targets: ["Pane"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg-dev"])]),
        // libjpeg's default error handler calls exit(); this shim turns errors into return codes via setjmp.
        .target(name: "CPaneJPEGShim", dependencies: ["CJPEG"]),
        // libpng reports errors by longjmp; this shim catches them with setjmp, as the JPEG one does.
        .target(name: "CPanePNGShim", dependencies: ["CPNG", "CZlib"]),
        .target(name: "PaneImageIO", dependencies: ["CPNG", "CPanePNGShim", "CPaneJPEGShim", "CZlib"]),
        .target(name: "PaneMetrics", dependencies: ["PaneImageIO"]),
        .target(name: "CPaneKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "PaneKernels", dependencies: ["CPaneKernels"], swiftSettings: release),
        .target(name: "PaneModel", dependencies: ["PaneKernels", "CPaneKernels", "CZlib"], swiftSettings: release),
        // rANS over integer CDF tables; identical bytes to Training/rans.py.
        .target(name: "PaneEntropy", swiftSettings: release),
        // The .pane container: header, sections, CRC-32; identical bytes to Training/bitstream.py.
        .target(name: "PaneBitstream", dependencies: ["CZlib"]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "Pane", dependencies: ["PaneModel", "PaneEntropy", "PaneBitstream", "PaneImageIO", "PaneMetrics"],
                swiftSettings: release),
        // RD sweeps against other codecs, SVG plots, the batch runner.
        .target(name: "PaneTools", dependencies: ["Pane", "PaneImageIO", "PaneMetrics", "PaneBitstream"]),
        // libFuzzer entry points (Fuzz/run) and the replay tool; the corpus replays in PaneFuzzTests.
        .target(name: "PaneFuzz", dependencies: ["Pane", "PaneModel", "PaneEntropy", "PaneBitstream", "PaneImageIO"]),
        .executableTarget(name: "pane-fuzz", dependencies: ["PaneFuzz", "Pane"]),
        .executableTarget(name: "pane", dependencies: [
            "Pane", "PaneModel", "PaneKernels", "PaneImageIO", "PaneMetrics", "PaneBitstream", "PaneTools",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "PaneImageIOTests", dependencies: ["PaneImageIO"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PaneMetricsTests", dependencies: ["PaneMetrics", "PaneImageIO"], exclude: ["reference_metrics.py"]),
        .testTarget(name: "PaneModelTests", dependencies: ["PaneModel", "PaneKernels", "CPaneKernels", "Pane", "PaneImageIO", "PaneMetrics",
                                                      "PaneBitstream", "PaneEntropy"],
                    exclude: ["Fixtures"], swiftSettings: release),
        .testTarget(name: "PaneEntropyTests", dependencies: ["PaneEntropy"], exclude: ["Fixtures"], swiftSettings: release),
        .testTarget(name: "PaneFuzzTests", dependencies: ["PaneFuzz", "Pane", "PaneBitstream", "PaneImageIO"],
                    swiftSettings: release),
        .testTarget(name: "PaneBitstreamTests", dependencies: ["PaneBitstream"], exclude: ["Fixtures"]),
        .testTarget(name: "PaneToolsTests", dependencies: ["PaneTools", "Pane", "PaneImageIO", "PaneMetrics"],
                    exclude: ["Fixtures"], swiftSettings: release),
        .testTarget(name: "paneTests", dependencies: ["pane", "CZlib"], exclude: ["Fixtures"]),
    ],
    // Kernels hand raw buffers to concurrentPerform; Swift 6's Sendable checking cannot see that the slices are disjoint.
    swiftLanguageModes: [.v5]
)
