// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "flywheel",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "flywheel", targets: ["flywheel"]),
        .executable(name: "flywheel-guard", targets: ["flywheel-guard"]),
        .library(name: "Host", targets: ["Host"]),
        .library(name: "Guard", targets: ["Guard"]),
        .library(name: "Server", targets: ["Server"]),
        .library(name: "PluginABI", targets: ["PluginABI"]),
        // A Swift client of `flywheel serve`: the HTTP API and the live event stream.
        .library(name: "FlywheelClient", targets: ["FlywheelClient"]),
        .library(name: "PluginKit", targets: ["PluginKit"]),
        // Agent drivers: loaded by the host with dlopen only, never linked into it.
        .library(name: "SDKDriver", type: .dynamic, targets: ["SDKDriver"]),
        .library(name: "ACPDriver", type: .dynamic, targets: ["ACPDriver"]),
        .library(name: "TmuxDriver", type: .dynamic, targets: ["TmuxDriver"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // ServiceGroup: the long-running parts start together and shut down gracefully on signals.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // `flywheel serve`: the HTTP server (SwiftNIO underneath), and its test client on a real socket.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        // Bcrypt for passwords (only its HummingbirdBcrypt target is built into the host).
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        // The live event stream (`/ws`), and its client for the tests.
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.0"),
        // Signed, short-lived access tokens (HS256 JWTs).
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        // Metrics: the host counts through swift-metrics; serve exports them in Prometheus text.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        // The SDK driver's HTTPS client to LLM providers: streaming bodies, pooled connections, and
        // cancellation that closes the request at once. Built into libSDKDriver.so only.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.25.0"),
        // TLS for the client's `wss://` connections (already under AsyncHTTPClient).
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
    ],
    targets: [
        // The one public C header third parties compile drivers against.
        .target(name: "PluginABI", path: "Sources/PluginABI"),
        // A JSON value decoded by type: shared by the host and API clients.
        .target(name: "FlywheelJSON", path: "Sources/FlywheelJSON"),
        // How LLM providers' error answers read: shared by the host (checking a key) and the SDK driver.
        .target(name: "ProviderSignals", path: "Sources/ProviderSignals"),
        // Helpers for writing a driver in Swift on top of the C ABI.
        .target(name: "PluginKit", dependencies: ["PluginABI", "FlywheelJSON"], path: "Sources/PluginKit"),
        // The host as a library: plugin loading, policy, store, sessions, accounts.
        // The command guard: pure (no store, no plugins), so the hook executable can link it alone.
        .target(
            name: "Guard",
            dependencies: [.product(name: "TOMLKit", package: "TOMLKit")],
            path: "Sources/Guard"
        ),
        // The guard alone, for the Claude Code hook (a process per tool call): the Swift runtime
        // linked statically, nothing of the host, so it starts in a few milliseconds.
        .executableTarget(
            name: "flywheel-guard",
            dependencies: ["Guard"],
            path: "Sources/flywheel-guard",
            linkerSettings: [.unsafeFlags([
                "-static-stdlib",
                // Foundation's static archives, which a module built for dynamic linking does not name.
                "-Xlinker", "--start-group", "-lFoundation", "-lFoundationInternationalization", "-lFoundationEssentials",
                "-lCoreFoundation", "-l_FoundationICU", "-l_FoundationCShims", "-l_FoundationCollections", "-lswiftSynchronization",
                "-lswiftDispatch", "-ldispatch", "-lBlocksRuntime", "-Xlinker", "--end-group",
            ])]
        ),
        .target(
            name: "Host",
            dependencies: [
                "PluginABI",
                "Guard",
                "FlywheelJSON",
                "ProviderSignals",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Metrics", package: "swift-metrics"),
                // Checking an account's key with its provider (already under FlywheelClient and the SDK driver).
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/Host"
        ),
        // The HTTP API on the host's services: routes, auth, errors. `flywheel serve` runs it.
        .target(
            name: "Server",
            dependencies: [
                "Host",
                "Guard",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // The dashboard's asset names carry a hash of their content.
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/Server"
        ),
        // The API's client library: AsyncHTTPClient for requests, the WebSocket client for `/ws`.
        // It needs nothing of the host, so any Swift program can depend on it.
        .target(
            name: "FlywheelClient",
            dependencies: [
                "FlywheelJSON",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/FlywheelClient"
        ),
        .executableTarget(
            name: "flywheel",
            dependencies: [
                "Host",
                "Server",
                "FlywheelClient",
                // Named as well as re-exported by Host, so a change to the guard rebuilds this target.
                "Guard",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Sources/flywheel"
        ),
        .target(
            name: "SDKDriver",
            dependencies: ["PluginKit", "ProviderSignals", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio")],
            path: "Plugins/SDKDriver"
        ),
        .target(name: "ACPDriver", dependencies: ["PluginKit"], path: "Plugins/ACPDriver"),
        .target(name: "TmuxDriver", dependencies: ["PluginKit"], path: "Plugins/TmuxDriver"),

        .target(
            name: "HostTestSupport",
            dependencies: ["Host", "Guard", "PluginABI", .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            path: "Tests/HostTestSupport"
        ),
        .testTarget(
            name: "PluginABITests",
            dependencies: ["PluginABI"],
            path: "Tests/PluginABITests"
        ),
        .testTarget(
            name: "PolicyTests",
            dependencies: ["Host", "Guard", "HostTestSupport", .product(name: "TOMLKit", package: "TOMLKit")],
            path: "Tests/PolicyTests",
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "StoreTests",
            dependencies: ["Host", "Guard", "HostTestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Tests/StoreTests"
        ),
        .testTarget(
            name: "AccountTests",
            dependencies: ["Host", "Guard", "HostTestSupport", "ProviderSignals", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/AccountTests"
        ),
        .testTarget(
            name: "CommandTests",
            dependencies: ["Host", "Guard", "HostTestSupport"],
            path: "Tests/CommandTests"
        ),
        .testTarget(
            name: "SessionTests",
            dependencies: ["Host", "Guard", "HostTestSupport", .product(name: "Logging", package: "swift-log")],
            path: "Tests/SessionTests"
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: ["Host", "Guard", "Server", "HostTestSupport", "FlywheelClient",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                           .product(name: "NIOWebSocket", package: "swift-nio"),
                           .product(name: "Metrics", package: "swift-metrics"),
                           .product(name: "Prometheus", package: "swift-prometheus"),
                           .product(name: "HTTPTypes", package: "swift-http-types"),
                           .product(name: "Logging", package: "swift-log")],
            path: "Tests/ServerTests"
        ),
        .testTarget(
            name: "ACPDriverTests",
            dependencies: ["Host", "Guard", "HostTestSupport"],
            path: "Tests/ACPDriverTests"
        ),
        .testTarget(
            name: "SDKDriverTests",
            dependencies: ["Host", "Guard", "HostTestSupport"],
            path: "Tests/SDKDriverTests"
        ),
        .testTarget(
            name: "TmuxDriverTests",
            dependencies: ["Host", "Guard", "HostTestSupport"],
            path: "Tests/TmuxDriverTests"
        ),
        .testTarget(
            name: "PluginLoadingTests",
            dependencies: ["Host", "Guard", "HostTestSupport", "PluginABI"],
            path: "Tests/PluginLoadingTests"
        ),
    ]
)
