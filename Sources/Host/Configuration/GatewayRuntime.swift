import Crypto
import Foundation
import Logging

/// Everything a host process needs to run sessions, assembled from configuration: plugins, policy,
/// store, event hub, command gate, account pool and scheduler. `flywheel sessions run` uses it today
/// and `flywheel serve` will tomorrow.
public struct GatewayRuntime: Sendable {
    public let configuration: GatewayConfiguration
    public let catalog: PluginCatalog
    public let store: SQLiteStore
    public let hub: EventHub
    public let log: SessionEventLog
    public let policy: CommandPolicy
    public let accounts: AccountPool
    public let scheduler: SessionScheduler
    public let lock: HostLock
    public let logger: Logger

    /// Opens the runtime. `environment` supplies `FLYWHEEL_SECRET_KEY` (read here, at the edge).
    /// Sessions a previous process left running are recovered before this returns.
    public static func open(configuration: GatewayConfiguration, policy: PolicyConfiguration, environment: [String: String],
                            runner: any CommandRunning = CommandExecutor(), logger: Logger) async throws -> GatewayRuntime {
        let lock = try HostLock(dataDirectory: configuration.dataDirectory)
        let catalog = try PluginLoader(logger: logger).loadDirectory(configuration.pluginsDirectory)
        let store = try SQLiteStore(configuration: StoreConfiguration(databaseFile: configuration.databaseFile))
        let key = try SecretKeyLoader.load(environment: environment, keyFile: configuration.secretKeyFile)
        let hub = EventHub()
        let log = SessionEventLog(store: store, hub: hub)
        let limits = SessionLimits(configuration.limits)
        let commandPolicy = CommandPolicy(configuration: policy)
        let gate = CommandGate(policy: commandPolicy, store: store, log: log, runner: runner, limits: limits, logger: logger)
        let sessionRunner = SessionRunner(
            catalog: catalog, store: store, log: log, gate: gate, limits: limits,
            defaultWorkspace: { configuration.defaultWorkspace(agentName: $0.name) }, logger: logger)
        let selection: AccountSelection = configuration.accountSelection == .leastRecentlyUsed ? .leastRecentlyUsed : .roundRobin
        let accounts = AccountPool(store: store, cipher: CredentialCipher(key: key), selection: selection)
        _ = try await SessionRecovery.recover(store: store, log: log, catalog: catalog, logger: logger)
        let scheduler = SessionScheduler(runner: sessionRunner, accounts: accounts)
        return GatewayRuntime(configuration: configuration, catalog: catalog, store: store, hub: hub, log: log, policy: commandPolicy,
                              accounts: accounts, scheduler: scheduler, lock: lock, logger: logger)
    }
}
