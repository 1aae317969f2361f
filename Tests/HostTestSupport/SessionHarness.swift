import Foundation
import Host
import Logging

/// A whole host runtime in a temporary directory: plugins.d with the scripted test drivers, a real
/// SQLite store, the real command policy and executor, and a running scheduler.
public final class SessionHarness: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let runtime: GatewayRuntime
    private let schedulerTask: Task<Void, Never>

    public var store: SQLiteStore { runtime.store }
    public var scheduler: SessionScheduler { runtime.scheduler }

    public static let secretKey = Data((0..<32).map { UInt8($0 * 7 % 256) }).base64EncodedString()

    public init(limits: GatewayConfiguration.Limits = .init(), policy: PolicyConfiguration = .default,
                directory existing: TemporaryDirectory? = nil) async throws {
        let directory = try existing ?? TemporaryDirectory("sessions")
        self.directory = directory
        try Self.writePlugins(into: directory)
        var configuration = GatewayConfiguration(dataDirectory: directory.file("data"), pluginsDirectory: directory.file("plugins.d"))
        configuration.limits = limits
        runtime = try await GatewayRuntime.open(configuration: configuration, policy: policy,
                                                environment: ["FLYWHEEL_SECRET_KEY": Self.secretKey], logger: .quiet)
        let scheduler = runtime.scheduler
        schedulerTask = Task { await scheduler.run() }
    }

    /// plugins.d with `test.scripted` and `test.scripted-account` (needs a `testprov` account).
    public static func writePlugins(into directory: TemporaryDirectory) throws {
        try directory.write("plugins.d/scripted.toml", "path = \"\(try ScriptedDriver.library().path)\"\n")
        try directory.write("plugins.d/scripted-account.toml", "path = \"\(try ScriptedDriver.accountLibrary().path)\"\n")
    }

    /// Stops the scheduler (as a host shutdown would).
    public func stop() async {
        schedulerTask.cancel()
        await schedulerTask.value
    }

    public func agent(_ name: String = "agent", driver: String = "test.scripted", environment: [String: String] = [:]) async throws -> AgentRecord {
        let environmentJSON = String(decoding: try JSONSerialization.data(withJSONObject: environment), as: UTF8.self)
        return try await store.upsertAgent(AgentRecord(name: name, driverID: driver, environmentJSON: environmentJSON))
    }

    public func submit(_ task: String, agent: AgentRecord) async throws -> SessionRecord {
        try await scheduler.submit(agentID: agent.id, task: task)
    }

    public struct Timeout: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Waits until `condition` holds for the session, polling the store.
    @discardableResult
    public func waitFor(_ sessionID: String, timeout: Duration = .seconds(30), _ what: String = "condition",
                        _ condition: @escaping @Sendable (SessionRecord) -> Bool) async throws -> SessionRecord {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let session = try await store.session(id: sessionID), condition(session) { return session }
            try await Task.sleep(for: .milliseconds(20))
        }
        let state = try await store.session(id: sessionID)?.state.rawValue ?? "missing"
        throw Timeout(description: "session \(sessionID) did not reach \(what) within \(timeout) (state \(state))")
    }

    @discardableResult
    public func waitForState(_ sessionID: String, _ states: Set<SessionState>, timeout: Duration = .seconds(30)) async throws -> SessionRecord {
        try await waitFor(sessionID, timeout: timeout, "\(states.map(\.rawValue).sorted())") { states.contains($0.state) }
    }

    public func events(_ sessionID: String) async throws -> [EventRecord] {
        try await store.events(sessionID: sessionID, afterSeq: 0, limit: 1_000_000)
    }

    public func workspace(of agent: AgentRecord) -> URL {
        runtime.configuration.defaultWorkspace(agentName: agent.name)
    }

    public func remove() {
        directory.remove()
    }
}

extension EventRecord {
    /// The payload as a dictionary.
    public var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any]) ?? [:]
    }
}
