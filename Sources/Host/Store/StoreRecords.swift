import Foundation
import Synchronization

/// An agent: a driver, its configuration, and where its commands run.
public struct AgentRecord: Sendable, Equatable, Codable {
    /// Disabled agents keep their history, but their queued sessions do not start.
    public enum Status: String, Sendable, Codable { case active, disabled }

    public var id: String
    public var name: String
    public var driverID: String
    /// The driver configuration, a JSON object.
    public var configJSON: String
    /// Environment added to the agent's commands, a JSON object of strings.
    public var environmentJSON: String
    public var workspace: String?
    /// Whether the agent's sandboxed commands may reach the network; nil: the gateway's default.
    public var network: Bool?
    public var status: Status
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String = StoreIDs.make(), name: String, driverID: String, configJSON: String = "{}",
                environmentJSON: String = "{}", workspace: String? = nil, network: Bool? = nil, status: Status = .active,
                createdAt: Date = Date(), updatedAt: Date = Date()) {
        self.id = id
        self.network = network
        self.name = name
        self.driverID = driverID
        self.configJSON = configJSON
        self.environmentJSON = environmentJSON
        self.workspace = workspace
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var environment: [String: String] {
        (try? JSONSerialization.jsonObject(with: Data(environmentJSON.utf8)) as? [String: String]) ?? [:]
    }
}

/// One task given to one agent.
public struct SessionRecord: Sendable, Equatable, Codable {
    public var id: String
    public var agentID: String
    public var task: String
    public var state: SessionState
    public var createdAt: Date
    public var updatedAt: Date
    public var startedAt: Date?
    public var endedAt: Date?
    /// Why the session failed or was cancelled.
    public var error: String?
    /// Why a queued session is not running yet (no account free, limits reached).
    public var waitingReason: String?
    public var accountID: String?
    /// The seq of the session's last event (0 before the first).
    public var lastSeq: Int64
    /// When retention deleted the session's events and checkpoints; nil while they are kept.
    public var historyPrunedAt: Date?

    public init(id: String = StoreIDs.make(), agentID: String, task: String, state: SessionState = .created,
                createdAt: Date = Date(), updatedAt: Date = Date(), startedAt: Date? = nil, endedAt: Date? = nil,
                error: String? = nil, waitingReason: String? = nil, accountID: String? = nil, lastSeq: Int64 = 0,
                historyPrunedAt: Date? = nil) {
        self.id = id
        self.agentID = agentID
        self.task = task
        self.state = state
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.error = error
        self.waitingReason = waitingReason
        self.accountID = accountID
        self.lastSeq = lastSeq
        self.historyPrunedAt = historyPrunedAt
    }
}

/// An event to append; the store gives it its seq.
public struct NewEvent: Sendable, Equatable {
    public var sessionID: String
    public var type: String
    /// A JSON object.
    public var payload: String
    public var time: Date

    public init(sessionID: String, type: String, payload: String, time: Date = Date()) {
        self.sessionID = sessionID
        self.type = type
        self.payload = payload
        self.time = time
    }
}

/// A stored event: append-only, numbered per session from 1 without gaps.
public struct EventRecord: Sendable, Equatable, Codable {
    public var sessionID: String
    public var seq: Int64
    public var type: String
    public var time: Date
    public var payload: String

    public init(sessionID: String, seq: Int64, type: String, time: Date, payload: String) {
        self.sessionID = sessionID
        self.seq = seq
        self.type = type
        self.time = time
        self.payload = payload
    }
}

/// What is needed to resume a session: the driver's state after event `seq`.
public struct CheckpointRecord: Sendable, Equatable {
    public var id: Int64
    public var sessionID: String
    public var seq: Int64
    public var state: [UInt8]
    public var createdAt: Date
}

/// A BYOA account; credentials are sealed (AES-GCM) and never leave the store in clear.
public struct AccountRecord: Sendable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable { case verified, cooldown, disabled, invalid }

    public var id: String
    public var provider: String
    public var label: String
    public var sealedCredentials: [UInt8]
    public var status: Status
    /// Why the account is out of rotation, when the gateway took it out (a refused key, no credit).
    public var statusReason: String?
    public var cooldownUntil: Date?
    public var lastUsedAt: Date?
    public var createdAt: Date

    public init(id: String = StoreIDs.make(), provider: String, label: String, sealedCredentials: [UInt8], status: Status = .verified,
                statusReason: String? = nil, cooldownUntil: Date? = nil, lastUsedAt: Date? = nil, createdAt: Date = Date()) {
        self.id = id
        self.provider = provider
        self.label = label
        self.sealedCredentials = sealedCredentials
        self.status = status
        self.statusReason = statusReason
        self.cooldownUntil = cooldownUntil
        self.lastUsedAt = lastUsedAt
        self.createdAt = createdAt
    }
}

/// The policy decision on one command an agent asked for, and what became of it.
public struct CommandDecisionRecord: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        /// Held for an operator (mode `ask`).
        case pending
        /// An operator approved it (it then runs) or denied it.
        case approved, denied
        /// Nobody answered in time.
        case expired
        /// Denied by policy; never ran.
        case blocked
        /// It ran (see exit code), or could not be started.
        case ran, failed
        /// The policy allowed it but the host would not run it (say, a `cwd` outside the workspace).
        case refused
        /// Its session ended while it was held or running; a running one was killed.
        case cancelled
        /// Allowed, and handed back to the driver that asked for the decision only (ABI 1.1): the
        /// driver runs it itself (types it into its agent's terminal); the host ran nothing.
        case delegated
    }

    public var id: String
    public var sessionID: String
    public var command: String
    public var decision: PolicyVerdict
    public var ruleID: String?
    public var packID: String?
    public var severity: PolicySeverity?
    public var reason: String?
    public var status: Status
    public var exitCode: Int32?
    public var createdAt: Date
    public var decidedAt: Date?
    public var decidedBy: String?
    /// What became of the command, in words, when that is more than its status says (why the host
    /// refused it, why it expired, that it was killed).
    public var outcome: String?

    public init(id: String = StoreIDs.make(), sessionID: String, command: String, decision: PolicyVerdict, ruleID: String? = nil,
                packID: String? = nil, severity: PolicySeverity? = nil, reason: String? = nil, status: Status,
                exitCode: Int32? = nil, createdAt: Date = Date(), decidedAt: Date? = nil, decidedBy: String? = nil, outcome: String? = nil) {
        self.id = id
        self.sessionID = sessionID
        self.command = command
        self.decision = decision
        self.ruleID = ruleID
        self.packID = packID
        self.severity = severity
        self.reason = reason
        self.status = status
        self.exitCode = exitCode
        self.createdAt = createdAt
        self.decidedAt = decidedAt
        self.decidedBy = decidedBy
        self.outcome = outcome
    }
}

/// A person who can sign in. Passwords are stored only as hashes.
public struct UserRecord: Sendable, Equatable {
    public enum Role: String, Sendable, Codable, CaseIterable { case admin, `operator`, viewer }
    public var id: String
    public var email: String
    public var passwordHash: String
    public var role: Role
    public var createdAt: Date

    public init(id: String = StoreIDs.make(), email: String, passwordHash: String, role: Role, createdAt: Date = Date()) {
        self.id = id
        self.email = email
        self.passwordHash = passwordHash
        self.role = role
        self.createdAt = createdAt
    }
}

/// An API key for programs; only its hash and a display prefix are stored.
public struct APIKeyRecord: Sendable, Equatable {
    public var id: String
    public var userID: String
    public var name: String
    public var keyHash: String
    public var prefix: String
    public var createdAt: Date
    public var expiresAt: Date?
    public var lastUsedAt: Date?
    public var revokedAt: Date?

    public init(id: String = StoreIDs.make(), userID: String, name: String, keyHash: String, prefix: String, createdAt: Date = Date(),
                expiresAt: Date? = nil, lastUsedAt: Date? = nil, revokedAt: Date? = nil) {
        self.id = id
        self.userID = userID
        self.name = name
        self.keyHash = keyHash
        self.prefix = prefix
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }
}

/// A rotating refresh token; only its hash is stored. Each refresh uses the token up and issues
/// the next one in the same family; a used or revoked token presented again revokes the family.
public struct RefreshTokenRecord: Sendable, Equatable {
    public var id: String
    public var userID: String
    public var tokenHash: String
    /// The sign-in this token descends from: every rotation keeps it.
    public var familyID: String
    public var expiresAt: Date
    /// When it was exchanged for its successor (`replacedBy`).
    public var usedAt: Date?
    public var revokedAt: Date?
    public var replacedBy: String?

    public init(id: String = StoreIDs.make(), userID: String, tokenHash: String, familyID: String? = nil, expiresAt: Date,
                usedAt: Date? = nil, revokedAt: Date? = nil, replacedBy: String? = nil) {
        self.id = id
        self.userID = userID
        self.tokenHash = tokenHash
        self.familyID = familyID ?? id
        self.expiresAt = expiresAt
        self.usedAt = usedAt
        self.revokedAt = revokedAt
        self.replacedBy = replacedBy
    }
}

/// Ids are lower-case UUID strings in the time-ordered version 7 layout: ids made by one process
/// sort in the order they were made, so "oldest first" needs no database-specific row number.
public enum StoreIDs {
    public static func make() -> String {
        let (milliseconds, counter) = clock.withLock { state -> (UInt64, UInt16) in
            let now = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
            if now > state.milliseconds {
                state = (now, 0)
            } else if state.counter == 0x0FFF {
                state = (state.milliseconds + 1, 0)
            } else {
                state.counter += 1
            }
            return state
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - index))) }
        bytes[6] = 0x70 | UInt8(counter >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: counter)
        var random = SystemRandomNumberGenerator()
        for index in 8..<16 { bytes[index] = random.next() }
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        let hex = bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return parts.joined(separator: "-")
    }

    /// The last timestamp used and a counter within it, so ids of one millisecond still sort.
    private static let clock = Locked<(milliseconds: UInt64, counter: UInt16)>((0, 0))
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
