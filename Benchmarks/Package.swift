// swift-tools-version:6.0
// Figures on demand, never part of the test run: `swift run -c release FlywheelBenchmarks [name...]`.
import PackageDescription

let package = Package(
    name: "FlywheelBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "flywheel", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .executableTarget(
            name: "FlywheelBenchmarks",
            dependencies: [
                .product(name: "Host", package: "flywheel"),
                .product(name: "Guard", package: "flywheel"),
                .product(name: "Server", package: "flywheel"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                // Reads the command-guard corpus, which is TOML.
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            path: "Sources/FlywheelBenchmarks"
        )
    ]
)
