import Foundation
import Host

/// The API's JSON shapes (camelCase). Secrets never appear: agent environment values are
/// write-only (only their names are shown), passwords and tokens are never echoed.
struct AgentJSON: Encodable {
    var id: String
    var name: String
    var driverId: String
    var config: JSONValue
    var environmentNames: [String]
    var workspace: String?
    var network: Bool?
    var enabled: Bool
    var createdAt: Date
    var updatedAt: Date

    init(_ agent: AgentRecord) {
        id = agent.id
        name = agent.name
        driverId = agent.driverID
        config = (try? JSONValue.parse(Array(agent.configJSON.utf8))) ?? .object([:])
        environmentNames = agent.environment.keys.sorted()
        workspace = agent.workspace
        network = agent.network
        enabled = agent.status == .active
        createdAt = agent.createdAt
        updatedAt = agent.updatedAt
    }
}

struct SessionJSON: Encodable {
    var id: String
    var agentId: String
    var task: String
    var state: String
    var createdAt: Date
    var updatedAt: Date
    var startedAt: Date?
    var endedAt: Date?
    var error: String?
    var waitingReason: String?
    var lastSeq: Int64

    init(_ session: SessionRecord) {
        id = session.id
        agentId = session.agentID
        task = session.task
        state = session.state.rawValue
        createdAt = session.createdAt
        updatedAt = session.updatedAt
        startedAt = session.startedAt
        endedAt = session.endedAt
        error = session.error
        waitingReason = session.waitingReason
        lastSeq = session.lastSeq
    }
}

struct SessionPageJSON: Encodable {
    var sessions: [SessionJSON]
    var nextCursor: String?
}

struct EventJSON: Encodable {
    var sessionId: String
    var seq: Int64
    var type: String
    var time: Date
    var data: JSONValue

    init(_ event: EventRecord) {
        sessionId = event.sessionID
        seq = event.seq
        type = event.type
        time = event.time
        data = (try? JSONValue.parse(Array(event.payload.utf8))) ?? .string(event.payload)
    }
}

struct CheckpointJSON: Encodable {
    var id: Int64
    var seq: Int64
    var bytes: Int
    var createdAt: Date

    init(_ checkpoint: CheckpointRecord) {
        id = checkpoint.id
        seq = checkpoint.seq
        bytes = checkpoint.state.count
        createdAt = checkpoint.createdAt
    }
}

struct CommandDecisionJSON: Encodable {
    var id: String
    var sessionId: String
    var command: String
    var decision: String
    var ruleId: String?
    var packId: String?
    var severity: String?
    var reason: String?
    var status: String
    var exitCode: Int32?
    var createdAt: Date
    var decidedAt: Date?
    var decidedBy: String?
    var outcome: String?

    init(_ record: CommandDecisionRecord) {
        id = record.id
        sessionId = record.sessionID
        command = record.command
        decision = record.decision.rawValue
        ruleId = record.ruleID
        packId = record.packID
        severity = record.severity?.rawValue
        reason = record.reason
        status = record.status.rawValue
        exitCode = record.exitCode
        createdAt = record.createdAt
        decidedAt = record.decidedAt
        decidedBy = record.decidedBy
        outcome = record.outcome
    }
}

struct UserJSON: Encodable {
    var id: String
    var email: String
    var role: String
    var createdAt: Date

    init(_ user: UserRecord) {
        id = user.id
        email = user.email
        role = user.role.rawValue
        createdAt = user.createdAt
    }
}

struct APIKeyJSON: Encodable {
    var id: String
    var name: String
    /// The first characters of the key, to recognise it by.
    var prefix: String
    var userId: String
    var createdAt: Date
    var expiresAt: Date?
    var lastUsedAt: Date?
    var revokedAt: Date?
    /// The key itself: only in the answer that creates it.
    var key: String?

    init(_ record: APIKeyRecord, key: String? = nil) {
        id = record.id
        name = record.name
        prefix = record.prefix
        userId = record.userID
        createdAt = record.createdAt
        expiresAt = record.expiresAt
        lastUsedAt = record.lastUsedAt
        revokedAt = record.revokedAt
        self.key = key
    }
}

/// An account as the API shows it: never its credentials.
struct AccountJSON: Encodable {
    var id: String
    var provider: String
    var label: String
    var status: String
    var statusReason: String?
    var cooldownUntil: Date?
    var lastUsedAt: Date?
    var createdAt: Date

    init(_ account: AccountRecord) {
        id = account.id
        provider = account.provider
        label = account.label
        status = account.status.rawValue
        statusReason = account.statusReason
        cooldownUntil = account.cooldownUntil
        lastUsedAt = account.lastUsedAt
        createdAt = account.createdAt
    }
}

/// What checking an account's key with its provider found, and the account after it.
struct AccountVerificationJSON: Encodable {
    var outcome: String
    var message: String
    var account: AccountJSON

    init(_ verification: AccountVerification) {
        outcome = verification.outcome.rawValue
        message = verification.message
        account = AccountJSON(verification.account)
    }
}

struct PluginJSON: Encodable {
    var manifest: String
    var status: String
    var driverId: String?
    var name: String?
    var version: String?
    var abiVersion: String?
    var reason: String?

    init(_ entry: PluginCatalog.Entry) {
        manifest = entry.manifestFile.lastPathComponent
        status = entry.status.name
        let plugin = entry.status.loadedPlugin
        driverId = plugin?.descriptor.id
        name = plugin?.descriptor.name
        version = plugin?.descriptor.version
        abiVersion = plugin?.abiVersion
        reason = entry.status.rejection?.description
    }
}

/// A list under one key, so the shape can grow (a cursor, a count) without breaking clients.
struct ListJSON<Item: Encodable>: Encodable {
    var items: [Item]
}
