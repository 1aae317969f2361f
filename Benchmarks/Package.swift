// swift-tools-version:6.0
// Figures on demand, never part of the test run: `swift run -c release FlywheelBenchmarks [name...]`.
import PackageDescription

let package = Package(
    name: "FlywheelBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "flywheel", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "FlywheelBenchmarks",
            dependencies: [
                .product(name: "Host", package: "flywheel"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/FlywheelBenchmarks"
        )
    ]
)
