import Foundation
@_spi(Testing) import Host
import Logging
import ServiceLifecycle

/// A whole owning gateway in a temporary directory: plugins.d with the scripted test drivers, a real
/// SQLite store, the real command policy and executor, and its service running in a ServiceGroup.
public final class SessionHarness: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let gateway: Gateway
    private let group: ServiceGroup
    private let serviceTask: Task<Void, any Error>

    public var store: SQLiteStore { gateway.store }
    public var sessions: SessionService { gateway.sessions }
    public var approvals: ApprovalService { gateway.approvals }
    public var hub: EventHub { gateway.events.hub }
    public var scheduler: SessionScheduler { gateway.scheduler! }

    public static let secretKey = Data((0..<32).map { UInt8($0 * 7 % 256) }).base64EncodedString()

    /// Passwords are hashed at bcrypt's lowest cost here: the tests are about behaviour, not work factors.
    public static let testServerSettings: ServerSettings = {
        var settings = ServerSettings()
        settings.passwordCost = 4
        // Limits generous enough that only the rate-limit tests meet them.
        settings.loginAttemptsPerMinute = 6000
        settings.clientRateLimitBurst = 100_000
        settings.rateLimitBurst = 100_000
        return settings
    }()

    public init(limits: GatewayConfiguration.Limits = .init(), policy: PolicyConfiguration = .default,
                server: ServerSettings = SessionHarness.testServerSettings, directory existing: TemporaryDirectory? = nil,
                accountProviders: [String: ProviderEndpoint] = ProviderEndpoint.builtIn) async throws {
        let directory = try existing ?? TemporaryDirectory("sessions")
        self.directory = directory
        try Self.writePlugins(into: directory)
        var configuration = GatewayConfiguration(dataDirectory: directory.file("data"), pluginsDirectory: directory.file("plugins.d"))
        configuration.limits = limits
        configuration.server = server
        configuration.accountProviders = accountProviders
        gateway = try await Gateway.open(configuration: configuration, policy: policy, environment: ["FLYWHEEL_SECRET_KEY": Self.secretKey],
                                         requireOwnership: true, logger: .quiet)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [.init(service: gateway.service()!)], logger: .quiet))
        self.group = group
        serviceTask = Task { try await group.run() }
    }

    /// plugins.d with `test.scripted` and `test.scripted-account` (needs a `testprov` account).
    public static func writePlugins(into directory: TemporaryDirectory) throws {
        try directory.write("plugins.d/scripted.toml", "path = \"\(try ScriptedDriver.library().path)\"\n")
        try directory.write("plugins.d/scripted-account.toml", "path = \"\(try ScriptedDriver.accountLibrary().path)\"\n")
    }

    /// Stops the gateway at once, without a graceful shutdown (as a killed host would, but with
    /// the process still alive): running sessions stay `running` for recovery.
    public func stop() async {
        serviceTask.cancel()
        _ = await serviceTask.result
    }

    /// Shuts the gateway down gracefully, as SIGTERM would, and waits until it has.
    public func shutDown() async throws {
        await group.triggerGracefulShutdown()
        try await serviceTask.value
    }

    public func agent(_ name: String = "agent", driver: String = "test.scripted", environment: [String: String] = [:]) async throws -> AgentRecord {
        let environmentJSON = String(decoding: try JSONSerialization.data(withJSONObject: environment), as: UTF8.self)
        return try await store.upsertAgent(AgentRecord(name: name, driverID: driver, environmentJSON: environmentJSON))
    }

    public func submit(_ task: String, agent: AgentRecord) async throws -> SessionRecord {
        try await sessions.create(agentID: agent.id, task: task)
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

    /// Submits `task` to `agent` and waits for the session to end (or pause); returns it with its events.
    public func run(_ task: String, _ agent: AgentRecord, timeout: Duration = .seconds(60)) async throws -> (SessionRecord, [EventRecord]) {
        let session = try await submit(task, agent: agent)
        let ended = try await waitForState(session.id, [.done, .failed, .cancelled, .paused], timeout: timeout)
        return (ended, try await events(session.id))
    }

    /// Waits until the session has an event of `type`.
    public func waitForEvent(_ sessionID: String, _ type: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await events(sessionID).contains(where: { $0.type == type }) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Timeout(description: "no \(type) event in session \(sessionID) within \(timeout)")
    }

    public func events(_ sessionID: String) async throws -> [EventRecord] {
        try await store.events(sessionID: sessionID, afterSeq: 0, limit: 1_000_000)
    }

    public func workspace(of agent: AgentRecord) -> URL {
        gateway.configuration.defaultWorkspace(agentName: agent.name)
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
