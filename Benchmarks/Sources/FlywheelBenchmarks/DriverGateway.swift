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

    /// One session run to its end: how long it took, how it ended, and its stored events of one type.
    struct SessionRun {
        var seconds: Double
        var state: SessionState
        var events: Int
        /// The JSON bytes of those events.
        var bytes: Int
    }

    /// Creates a session of `agentID` for `task` (the gateway's service must be running), waits
    /// until it ends, and counts its stored events of type `counted`.
    func runSession(agentID: String, task: String, counting counted: String) async throws -> SessionRun {
        let start = BenchmarkSupport.now()
        let session = try await gateway.sessions.create(agentID: agentID, task: task)
        while try await !gateway.sessions.show(session.id).state.isTerminal { try await Task.sleep(for: .milliseconds(5)) }
        let seconds = Double(BenchmarkSupport.now() - start) / 1e9
        var run = SessionRun(seconds: seconds, state: try await gateway.sessions.show(session.id).state, events: 0, bytes: 0)
        var after: Int64 = 0
        while true {
            let page = try await gateway.events.events(sessionID: session.id, after: after, limit: 1000)
            guard let last = page.last else { break }
            after = last.seq
            for event in page where event.type == counted {
                run.events += 1
                run.bytes += event.payload.utf8.count
            }
        }
        return run
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
