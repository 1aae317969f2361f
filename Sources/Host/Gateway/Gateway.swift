import Foundation
import Logging

/// The host as the front ends see it: a small set of services that the CLI, the HTTP server and the
/// tests all call, and nothing else reaches around.
///
/// A gateway either **owns** its data directory (it holds `host.lock`, runs sessions, and answers
/// control requests from other processes on its control socket) or is a **client** of the process
/// that owns it: then it reads from the store, and every change to a session or a held command is
/// sent to the owner through that socket, never written behind its back.
public final class Gateway: Sendable {
    public enum Role: Sendable, Equatable {
        case owner
        case client
    }

    public let configuration: GatewayConfiguration
    public let role: Role
    public let sessions: SessionService
    public let events: EventService
    public let approvals: ApprovalService
    public let agents: AgentService
    public let plugins: PluginService
    public let accounts: AccountService
    /// The command policy in force, read and changed over the API.
    public let policy: PolicyService
    /// Users and their sign-ins, for the HTTP API.
    public let people: PeopleService
    /// Whether this gateway's agent commands run sandboxed (always `.disabled` for a client, which
    /// runs none).
    public let sandbox: SandboxStatus
    /// The parts behind the services, for the host's own tests only (`@_spi(Testing) import Host`).
    @_spi(Testing) public let store: SQLiteStore
    let log: SessionEventLog
    @_spi(Testing) public let scheduler: SessionScheduler?
    let lock: HostLock?
    let logger: Logger

    /// Opens the gateway on a data directory: as its owner when no other process holds it (with
    /// `requireOwnership`, waiting a few seconds for a short-lived owner such as another CLI command
    /// to finish, then failing), or as a client of the process that does. With `readOnly`, it never
    /// takes ownership, so a command that only reads cannot keep a host from starting.
    /// `environment` supplies `FLYWHEEL_SECRET_KEY` (read here, at the edge).
    public static func open(configuration: GatewayConfiguration, policy: PolicyConfiguration, environment: [String: String],
                            scope: SessionScheduler.Scope = .all, requireOwnership: Bool = false, readOnly: Bool = false,
                            runner: (any CommandRunning)? = nil, logger: Logger) async throws -> Gateway {
        var lock: HostLock?
        var readOnlyDirectory: HostLock.ReadOnly?
        let deadline = ContinuousClock.now + .seconds(requireOwnership ? 5 : 0)
        while !readOnly, lock == nil {
            do {
                lock = try HostLock(dataDirectory: configuration.dataDirectory)
            } catch let busy as HostLock.Busy {
                guard requireOwnership else { break }
                guard ContinuousClock.now < deadline else { throw busy }
                try await Task.sleep(for: .milliseconds(100))
            } catch let readOnly as HostLock.ReadOnly {
                if requireOwnership { throw StoreError(kind: .readOnly, message: readOnly.description) }
                readOnlyDirectory = readOnly
                break
            }
        }
        let catalog = try PluginLoader(logger: logger).loadDirectory(configuration.pluginsDirectory)
        let registry = PluginRegistry(catalog)
        // The owner alone keeps session rows in memory (it makes every change to the database) and
        // upgrades the schema (a client may be newer than the running owner).
        let store = try SQLiteStore(configuration: StoreConfiguration(databaseFile: configuration.databaseFile, cachesSessions: lock != nil,
                                                                      upgradesSchema: lock != nil))
        let hub = EventHub()
        let log = SessionEventLog(store: store, hub: hub)
        var limits = SessionLimits(configuration.limits)
        limits.sandboxNetwork = configuration.sandbox.network
        // Only the owner runs commands, so only it needs (and probes for) the sandbox.
        var sandboxStatus = SandboxStatus.disabled
        if lock != nil, runner == nil {
            sandboxStatus = try await Self.sandboxStatus(configuration: configuration, catalog: catalog, logger: logger)
        }
        let selection: AccountSelection = configuration.accountSelection == .leastRecentlyUsed ? .leastRecentlyUsed : .roundRobin
        let keyFile = configuration.secretKeyFile
        let loadCipher: @Sendable () throws -> CredentialCipher = {
            CredentialCipher(key: try SecretKeyLoader.load(environment: environment, keyFile: keyFile))
        }
        // The owner checks its key at once; a client never decrypts, and one that only reads never
        // needs the key at all.
        let accounts = lock == nil ? AccountPool(store: store, loadCipher: loadCipher, selection: selection)
            : AccountPool(store: store, cipher: try loadCipher(), selection: selection)
        let commands = runner ?? CommandExecutor(sandbox: sandboxStatus.sandbox)
        let policies = try PolicyService(configured: policy, dataDirectory: configuration.dataDirectory, owner: lock != nil)
        if policies.current.source == .api {
            logger.notice("the command policy set through the API applies", metadata: ["flywheel.policy.file": .string(policies.file.path)])
        }
        let gate = CommandGate(policies: policies.active, store: store, log: log, runner: commands, limits: limits, logger: logger)
        let plugins = PluginService(registry: registry, logger: logger)
        let agents = AgentService(store: store, plugins: plugins,
                                  protectedPaths: ([configuration.dataDirectory, configuration.pluginsDirectory] + (configuration.file.map { [$0] } ?? [])).map(\.path),
                                  workspacesFolder: configuration.dataDirectory.appendingPathComponent("workspaces").path)
        var scheduler: SessionScheduler?
        var control: ControlClient?
        if lock != nil {
            let sessionRunner = SessionRunner(
                plugins: registry, store: store, log: log, gate: gate, limits: limits,
                defaultWorkspace: { configuration.defaultWorkspace(agentName: $0.name) },
                workspaceProblem: { agents.unsafeWorkspaceReason($0) }, logger: logger)
            scheduler = SessionScheduler(runner: sessionRunner, accounts: accounts, scope: scope)
        } else {
            control = ControlClient(socket: ControlSocket.path(in: configuration.dataDirectory), whenNoOwner: readOnlyDirectory?.description)
        }
        return Gateway(
            configuration: configuration, role: lock == nil ? .client : .owner,
            sessions: SessionService(store: store, log: log, scheduler: scheduler, control: control),
            events: EventService(store: store, hub: hub),
            approvals: ApprovalService(store: store, log: log, gate: gate, control: control),
            agents: agents, plugins: plugins, accounts: AccountService(store: store, pool: accounts, verifier: AccountVerifier(endpoints: configuration.accountProviders)), policy: policies,
            people: PeopleService(store: store, settings: configuration.server, logger: logger), sandbox: sandboxStatus, store: store, log: log,
            scheduler: scheduler, lock: lock, logger: logger)
    }

    /// Probes for bubblewrap as `[sandbox] mode` asks, and says in the log when commands will run
    /// unconfined. Throws ``SandboxUnavailable`` when the sandbox is required and cannot be had.
    @_spi(Testing) public static func sandboxStatus(configuration: GatewayConfiguration, catalog: PluginCatalog, logger: Logger,
                                                    searchPath: String = "/usr/local/bin:/usr/bin:/bin") async throws -> SandboxStatus {
        guard configuration.sandbox.mode != .off else {
            logger.warning("agent commands run unconfined: [sandbox] mode = \"off\"")
            return .disabled
        }
        let hidden = [configuration.dataDirectory, configuration.pluginsDirectory] + (configuration.file.map { [$0] } ?? [])
            + catalog.entries.compactMap(\.libraryPath)
        let status = await Sandbox.probe(hiddenPaths: hidden, searchPath: searchPath)
        switch status {
        case .active(let sandbox):
            logger.info("agent commands run in a bubblewrap sandbox", metadata: ["flywheel.sandbox.version": .string(sandbox.version)])
        case .unavailable(let reason):
            if configuration.sandbox.mode == .required { throw SandboxUnavailable(reason: reason) }
            logger.warning("agent commands run unconfined: the sandbox is unavailable", metadata: ["reason": .string(reason)])
        case .disabled:
            break
        }
        return status
    }

    private init(configuration: GatewayConfiguration, role: Role, sessions: SessionService, events: EventService, approvals: ApprovalService,
                 agents: AgentService, plugins: PluginService, accounts: AccountService, policy: PolicyService, people: PeopleService,
                 sandbox: SandboxStatus,
                 store: SQLiteStore,
                 log: SessionEventLog,
                 scheduler: SessionScheduler?, lock: HostLock?, logger: Logger) {
        self.configuration = configuration
        self.role = role
        self.sessions = sessions
        self.events = events
        self.approvals = approvals
        self.agents = agents
        self.plugins = plugins
        self.policy = policy
        self.accounts = accounts
        self.people = people
        self.sandbox = sandbox
        self.store = store
        self.log = log
        self.scheduler = scheduler
        self.lock = lock
        self.logger = logger
    }

    /// Raised by the gateway service once it has recovered what a previous host left running and
    /// answers control requests: until then a server built on this gateway is not ready.
    let readiness = ManagedAtomicFlag()

    /// Whether the gateway is up: its store migrated and plugins loaded (both done by `open`), and
    /// for an owner, recovery finished and the service running.
    public var isReady: Bool { role == .client || readiness.isRaised }

    /// Whether the store could only be opened for reading.
    public var isReadOnly: Bool { store.isReadOnly }

    /// The long-running part of an owning gateway, to run in a `ServiceGroup`: recovery, the
    /// scheduler and the control socket. Nil for a client.
    public func service() -> GatewayService? {
        guard let scheduler else { return nil }
        return GatewayService(gateway: self, scheduler: scheduler)
    }
}
