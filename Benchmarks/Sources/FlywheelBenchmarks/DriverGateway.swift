import Foundation
import Host
import Logging

/// A whole gateway in a scratch folder with one driver of this repository, built in release, in its
/// plugins.d: what the driver benchmarks measure through.
struct DriverGateway {
    let gateway: Gateway
    let directory: URL

    /// Builds `product` in release and opens a gateway (sandbox off) that loads `lib<product>.so`.
    static func open(product: String, name: String) async throws -> DriverGateway {
        let root = BenchmarkSupport.repositoryRoot
        try BenchmarkSupport.run(["swift", "build", "-c", "release", "--product", product], in: root)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flywheel-bench-\(name)-\(getpid())")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("plugins.d"), withIntermediateDirectories: true)
        try "path = \"\(root.appendingPathComponent(".build/release/lib\(product).so").path)\"\n"
            .write(to: directory.appendingPathComponent("plugins.d/\(name).toml"), atomically: true, encoding: .utf8)
        var configuration = GatewayConfiguration(dataDirectory: directory.appendingPathComponent("data"),
                                                 pluginsDirectory: directory.appendingPathComponent("plugins.d"))
        configuration.sandbox.mode = .off
        let gateway = try await Gateway.open(configuration: configuration, policy: .default,
                                             environment: ["FLYWHEEL_SECRET_KEY": Data(repeating: 7, count: 32).base64EncodedString()],
                                             requireOwnership: true, logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
        return DriverGateway(gateway: gateway, directory: directory)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
