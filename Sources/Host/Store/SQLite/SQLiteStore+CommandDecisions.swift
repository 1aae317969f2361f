import Foundation
import GRDB

extension SQLiteStore: CommandDecisionStore {
    public func recordCommandDecision(_ decision: CommandDecisionRecord) async throws {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO command_decisions (id, session_id, command, decision, rule_id, pack_id, severity, reason, status, exit_code,
                                               created_at, decided_at, decided_by, outcome)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [decision.id, decision.sessionID, decision.command, decision.decision.rawValue, decision.ruleID,
                                 decision.packID, decision.severity?.rawValue, decision.reason, decision.status.rawValue,
                                 decision.exitCode.map { Int64($0) }, StoreTime.encode(decision.createdAt), StoreTime.encode(decision.decidedAt),
                                 decision.decidedBy, decision.outcome])
        }
    }

    public func commandDecision(id: String) async throws -> CommandDecisionRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM command_decisions WHERE id = ?", arguments: [id]).map(CommandDecisionRecord.init(row:))
        }
    }

    public func commandDecisions(sessionID: String) async throws -> [CommandDecisionRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM command_decisions WHERE session_id = ? ORDER BY created_at, id", arguments: [sessionID])
                .map(CommandDecisionRecord.init(row:))
        }
    }

    public func pendingCommandDecisions(sessionID: String?) async throws -> [CommandDecisionRecord] {
        try await read { db in
            if let sessionID {
                return try Row.fetchAll(db, sql: "SELECT * FROM command_decisions WHERE status = 'pending' AND session_id = ? ORDER BY created_at, id",
                                        arguments: [sessionID]).map(CommandDecisionRecord.init(row:))
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM command_decisions WHERE status = 'pending' ORDER BY created_at, id")
                .map(CommandDecisionRecord.init(row:))
        }
    }

    public func commandDecisions(_ filter: CommandDecisionFilter, limit: Int, after cursor: String?) async throws -> CommandDecisionPage {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        func oneOf(_ column: String, _ values: [String]) {
            conditions.append("\(column) IN (\(values.map { _ in "?" }.joined(separator: ", ")))")
            arguments += values.sorted().map { $0 as (any DatabaseValueConvertible)? }
        }
        if let sessionID = filter.sessionID {
            conditions.append("session_id = ?")
            arguments.append(sessionID)
        }
        if let verdicts = filter.verdicts {
            guard !verdicts.isEmpty else { return CommandDecisionPage(decisions: [], nextCursor: nil) }
            oneOf("decision", verdicts.map(\.rawValue))
        }
        if let statuses = filter.statuses {
            guard !statuses.isEmpty else { return CommandDecisionPage(decisions: [], nextCursor: nil) }
            oneOf("status", statuses.map(\.rawValue))
        }
        let (page, next) = try await newestFirstPage(table: "command_decisions", conditions: conditions, arguments: arguments, limit: limit,
                                                     after: cursor, decode: CommandDecisionRecord.init(row:)) { ($0.createdAt, $0.id) }
        return CommandDecisionPage(decisions: page, nextCursor: next)
    }

    public func updateCommandDecision(id: String, from: CommandDecisionRecord.Status?, to status: CommandDecisionRecord.Status,
                                      exitCode: Int32?, decidedBy: String?, outcome: String?) async throws -> Bool {
        let now = StoreTime.encode(Date())
        return try await write { db in
            let condition = from.map { _ in " AND status = ?" } ?? ""
            var arguments: [(any DatabaseValueConvertible)?] = [status.rawValue, exitCode.map { Int64($0) }, decidedBy, outcome, now, id]
            if let from { arguments.append(from.rawValue) }
            try db.execute(sql: """
                UPDATE command_decisions SET status = ?, exit_code = COALESCE(?, exit_code), decided_by = COALESCE(?, decided_by),
                    outcome = COALESCE(?, outcome), decided_at = ? WHERE id = ?\(condition)
                """, arguments: StatementArguments(arguments))
            return db.changesCount > 0
        }
    }
}
