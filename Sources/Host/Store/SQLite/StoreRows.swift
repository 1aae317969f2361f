import Foundation
import GRDB

/// Timestamps are stored as whole milliseconds since 1970 (INTEGER): they sort, compare and
/// round-trip exactly. Dates beyond what that holds (about 292 million years either way) are
/// stored as the nearest it can; the edges refuse such input long before it gets here.
enum StoreTime {
    static func encode(_ date: Date) -> Int64 {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        guard milliseconds.isFinite else { return milliseconds < 0 ? .min : .max }
        return Int64(exactly: milliseconds) ?? (milliseconds < 0 ? .min : .max)
    }
    static func encode(_ date: Date?) -> Int64? { date.map { encode($0) } }
    static func decode(_ value: Int64) -> Date { Date(timeIntervalSince1970: Double(value) / 1000) }
    static func decode(_ value: Int64?) -> Date? { value.map { decode($0) } }
    /// The date as it will read back from the store.
    static func round(_ date: Date) -> Date { decode(encode(date)) }
}

extension AgentRecord {
    init(row: Row) {
        self.init(id: row["id"], name: row["name"], driverID: row["driver_id"], configJSON: row["config"],
                  environmentJSON: row["environment"], workspace: row["workspace"],
                  network: (row["network"] as String?).map { $0 == "on" },
                  status: Status(rawValue: row["status"] as String) ?? .disabled,
                  createdAt: StoreTime.decode(row["created_at"] as Int64), updatedAt: StoreTime.decode(row["updated_at"] as Int64))
    }
}

extension SessionRecord {
    init(row: Row) throws {
        let stateName: String = row["state"]
        guard let state = SessionState(rawValue: stateName) else {
            throw StoreError(kind: .database, message: "session \(row["id"] as String) has unknown state '\(stateName)'")
        }
        self.init(id: row["id"], agentID: row["agent_id"], task: row["task"], state: state,
                  createdAt: StoreTime.decode(row["created_at"] as Int64), updatedAt: StoreTime.decode(row["updated_at"] as Int64),
                  startedAt: StoreTime.decode(row["started_at"] as Int64?), endedAt: StoreTime.decode(row["ended_at"] as Int64?),
                  error: row["error"], waitingReason: row["waiting_reason"], accountID: row["account_id"], lastSeq: row["last_seq"],
                  historyPrunedAt: StoreTime.decode(row["history_pruned_at"] as Int64?))
    }
}

extension EventRecord {
    init(row: Row) {
        self.init(sessionID: row["session_id"], seq: row["seq"], type: row["type"], time: StoreTime.decode(row["time"] as Int64),
                  payload: row["payload"])
    }
}

extension CheckpointRecord {
    init(row: Row) {
        let data: Data = row["state"]
        self.init(id: row["id"], sessionID: row["session_id"], seq: row["seq"], state: [UInt8](data),
                  createdAt: StoreTime.decode(row["created_at"] as Int64))
    }
}

extension AccountRecord {
    init(row: Row) throws {
        let statusName: String = row["status"]
        guard let status = Status(rawValue: statusName) else {
            throw StoreError(kind: .database, message: "account \(row["id"] as String) has unknown status '\(statusName)'")
        }
        let sealed: Data = row["encrypted_credentials"]
        self.init(id: row["id"], provider: row["provider"], label: row["label"], sealedCredentials: [UInt8](sealed), status: status,
                  statusReason: row["status_reason"], cooldownUntil: StoreTime.decode(row["cooldown_until"] as Int64?), lastUsedAt: StoreTime.decode(row["last_used_at"] as Int64?),
                  createdAt: StoreTime.decode(row["created_at"] as Int64))
    }
}

extension CommandDecisionRecord {
    init(row: Row) throws {
        let decisionName: String = row["decision"], statusName: String = row["status"]
        guard let decision = PolicyVerdict(rawValue: decisionName), let status = Status(rawValue: statusName) else {
            throw StoreError(kind: .database, message: "command decision \(row["id"] as String) is unreadable")
        }
        self.init(id: row["id"], sessionID: row["session_id"], command: row["command"], decision: decision, ruleID: row["rule_id"],
                  packID: row["pack_id"], severity: (row["severity"] as String?).flatMap(PolicySeverity.init(rawValue:)),
                  reason: row["reason"], status: status, exitCode: (row["exit_code"] as Int64?).map { Int32(truncatingIfNeeded: $0) },
                  createdAt: StoreTime.decode(row["created_at"] as Int64), decidedAt: StoreTime.decode(row["decided_at"] as Int64?),
                  decidedBy: row["decided_by"], outcome: row["outcome"])
    }
}

extension UserRecord {
    init(row: Row) throws {
        let roleName: String = row["role"]
        guard let role = Role(rawValue: roleName) else { throw StoreError(kind: .database, message: "unknown role '\(roleName)'") }
        self.init(id: row["id"], email: row["email"], passwordHash: row["password_hash"], role: role,
                  createdAt: StoreTime.decode(row["created_at"] as Int64))
    }
}

extension APIKeyRecord {
    init(row: Row) {
        self.init(id: row["id"], userID: row["user_id"], name: row["name"], keyHash: row["key_hash"], prefix: row["prefix"],
                  createdAt: StoreTime.decode(row["created_at"] as Int64), expiresAt: StoreTime.decode(row["expires_at"] as Int64?),
                  lastUsedAt: StoreTime.decode(row["last_used_at"] as Int64?), revokedAt: StoreTime.decode(row["revoked_at"] as Int64?))
    }
}

extension RefreshTokenRecord {
    init(row: Row) {
        self.init(id: row["id"], userID: row["user_id"], tokenHash: row["token_hash"], familyID: row["family_id"],
                  expiresAt: StoreTime.decode(row["expires_at"] as Int64), usedAt: StoreTime.decode(row["used_at"] as Int64?),
                  revokedAt: StoreTime.decode(row["revoked_at"] as Int64?), replacedBy: row["replaced_by"])
    }
}
