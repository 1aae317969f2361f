import Foundation

// The API's resources as a client sees them (docs/api.md). Decoding ignores fields a newer server
// adds, so a client keeps working across server upgrades.

/// A session: one task given to one agent.
public struct Session: Codable, Sendable, Hashable {
    public var id: String
    public var agentId: String
    public var task: String
    /// created, queued, running, paused, done, failed or cancelled.
    public var state: String
    public var createdAt: Date
    public var updatedAt: Date
    public var startedAt: Date?
    public var endedAt: Date?
    public var error: String?
    public var waitingReason: String?
    /// The seq of its newest stored event.
    public var lastSeq: Int64

    /// The states a session never leaves.
    public static let finalStates: Set<String> = ["done", "failed", "cancelled"]

    public var hasEnded: Bool { Self.finalStates.contains(state) }
}

/// One page of sessions, newest first; `nextCursor` asks for the next one.
public struct SessionPage: Codable, Sendable {
    public var sessions: [Session]
    public var nextCursor: String?
}

/// A stored event of a session, in seq order.
public struct Event: Codable, Sendable, Hashable {
    public var sessionId: String
    public var seq: Int64
    public var type: String
    public var time: Date
    public var data: JSONValue

    public init(sessionId: String, seq: Int64, type: String, time: Date, data: JSONValue) {
        self.sessionId = sessionId
        self.seq = seq
        self.type = type
        self.time = time
        self.data = data
    }

    /// The final state this event announces (`host.session.state` with done, failed or cancelled), if any.
    public var finalState: String? {
        guard type == "host.session.state", let state = data["state"]?.stringValue, Session.finalStates.contains(state) else { return nil }
        return state
    }
}

public struct Checkpoint: Codable, Sendable, Hashable {
    public var id: Int64
    public var seq: Int64
    public var bytes: Int
    public var createdAt: Date
}

/// An agent: a driver with its configuration, environment and workspace.
public struct Agent: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var driverId: String
    public var config: JSONValue
    /// Environment values are write-only: only their names come back.
    public var environmentNames: [String]
    public var workspace: String?
    public var network: Bool?
    public var enabled: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, name: String, driverId: String, config: JSONValue, environmentNames: [String], workspace: String?,
                network: Bool?, enabled: Bool, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.name = name
        self.driverId = driverId
        self.config = config
        self.environmentNames = environmentNames
        self.workspace = workspace
        self.network = network
        self.enabled = enabled
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// What `createAgent` sends. `workspace` is an absolute path; by default the server picks one.
public struct NewAgent: Codable, Sendable {
    public var name: String
    public var driverId: String
    public var config: JSONValue?
    public var environment: [String: String]?
    public var workspace: String?
    public var network: Bool?
    public var enabled: Bool?

    public init(name: String, driverId: String, config: JSONValue? = nil, environment: [String: String]? = nil,
                workspace: String? = nil, network: Bool? = nil, enabled: Bool? = nil) {
        self.name = name
        self.driverId = driverId
        self.config = config
        self.environment = environment
        self.workspace = workspace
        self.network = network
        self.enabled = enabled
    }
}

/// A command an agent asked for, with the guard's decision and, for a held one, the operator's.
public struct CommandDecision: Codable, Sendable, Hashable {
    public var id: String
    public var sessionId: String
    public var command: String
    /// allow, warn, ask or deny.
    public var decision: String
    public var ruleId: String?
    public var packId: String?
    public var severity: String?
    public var reason: String?
    /// pending (held for an operator), approved, denied, ran, blocked, …
    public var status: String
    public var exitCode: Int32?
    public var createdAt: Date
    public var decidedAt: Date?
    public var decidedBy: String?
    public var outcome: String?
}

/// What the guard says of a command (`POST /api/dcg/check`); nothing runs.
public struct GuardDecision: Codable, Sendable, Hashable {
    public var decision: String
    public var ruleId: String?
    public var packId: String?
    public var severity: String?
    public var reason: String?
    public var alternative: String?
}

/// A BYOA provider account; its credentials never come back.
public struct Account: Codable, Sendable, Hashable {
    public var id: String
    public var provider: String
    public var label: String
    /// verified, cooldown, invalid or disabled.
    public var status: String
    public var statusReason: String?
    public var cooldownUntil: Date?
    public var lastUsedAt: Date?
    public var createdAt: Date
}

/// What checking an account's key with its provider found.
public struct AccountVerification: Codable, Sendable, Hashable {
    /// verified, invalid, out_of_credit, rate_limited or inconclusive (nothing learnt; the account
    /// is unchanged).
    public var outcome: String
    /// The provider's words; never the key.
    public var message: String
    /// The account after the server recorded the outcome.
    public var account: Account
}

/// A manifest in the server's `plugins.d`, loaded or not.
public struct Plugin: Codable, Sendable, Hashable {
    public var manifest: String
    /// loaded, disabled or rejected.
    public var status: String
    public var driverId: String?
    public var name: String?
    public var version: String?
    public var abiVersion: String?
    public var reason: String?
}

/// The signed-in user.
public struct User: Codable, Sendable, Hashable {
    public var id: String
    public var email: String
    /// admin, operator or viewer.
    public var role: String
    public var createdAt: Date
}

/// The API's list shape: `{"items": [...]}`.
struct Items<Item: Decodable & Sendable>: Decodable, Sendable {
    var items: [Item]
}
