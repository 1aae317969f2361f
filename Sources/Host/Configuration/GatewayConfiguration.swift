import Foundation

/// The gateway's settings (`flywheel.toml`). Every field has a default, so zero config works.
public struct GatewayConfiguration: Sendable, Equatable {
    /// Where the SQLite database, the secret key file and default workspaces live.
    public var dataDirectory: URL
    /// The folder of `*.toml` plugin manifests.
    public var pluginsDirectory: URL
    /// The file the configuration came from, if any (for error messages and relative paths).
    public var file: URL?
    public var limits: Limits
    public var accountSelection: AccountSelectionMode
    /// Where account keys are checked, by provider name (`[accounts.providers.NAME]`): the
    /// built-in anthropic and openai, and any the operator adds or moves.
    public var accountProviders = ProviderEndpoint.builtIn
    /// How long the events and checkpoints of ended sessions are kept; nil (the default): forever.
    /// The sessions themselves, their command decisions and their outcome are always kept.
    public var historyRetentionDays: Double?
    /// How agent commands are confined (`[sandbox]`).
    public var sandbox = SandboxSettings()
    /// How `flywheel serve` listens and signs people in (`[server]`).
    public var server = ServerSettings()

    public struct Limits: Sendable, Equatable {
        /// Sessions running at once across the gateway.
        public var maxConcurrentSessions = 8
        /// Sessions running at once for one agent.
        public var maxConcurrentSessionsPerAgent = 2
        /// Default and maximum time one agent command may run.
        public var commandTimeoutSeconds: Double = 120
        public var maxCommandTimeoutSeconds: Double = 600
        /// Bytes of stdout (and of stderr) kept per command.
        public var commandOutputLimitBytes = 1 << 20
        /// How long a command held for approval waits for an operator.
        public var approvalTimeoutSeconds: Double = 600
        /// How long a cancelled run may take to end before the host gives up on it.
        public var cancelGraceSeconds: Double = 10
        /// Agent commands running at once across the gateway, and for one session; more wait.
        public var maxConcurrentCommands = 16
        public var maxConcurrentCommandsPerSession = 4

        public init() {}
    }

    /// How the account pool picks among usable accounts.
    public enum AccountSelectionMode: String, Sendable, Equatable {
        case roundRobin = "round_robin"
        case leastRecentlyUsed = "least_recently_used"
    }

    public init(
        dataDirectory: URL = URL(fileURLWithPath: "data"),
        pluginsDirectory: URL = URL(fileURLWithPath: "plugins.d"),
        file: URL? = nil,
        limits: Limits = Limits(),
        accountSelection: AccountSelectionMode = .roundRobin
    ) {
        self.dataDirectory = dataDirectory
        self.pluginsDirectory = pluginsDirectory
        self.file = file
        self.limits = limits
        self.accountSelection = accountSelection
    }

    /// The SQLite database file.
    public var databaseFile: URL { dataDirectory.appendingPathComponent("flywheel.sqlite") }
    /// The key file used when `FLYWHEEL_SECRET_KEY` is not set.
    public var secretKeyFile: URL { dataDirectory.appendingPathComponent("secret.key") }
    /// Where an agent's workspace goes when its definition names none.
    public func defaultWorkspace(agentName: String) -> URL {
        dataDirectory.appendingPathComponent("workspaces").appendingPathComponent(agentName)
    }
}
