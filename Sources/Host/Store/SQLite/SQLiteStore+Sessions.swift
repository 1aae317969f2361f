import Foundation
import GRDB

extension SQLiteStore: SessionStore {
    public func createSession(_ session: SessionRecord) async throws -> SessionRecord {
        var session = session
        session.createdAt = StoreTime.round(session.createdAt)
        session.updatedAt = session.createdAt
        let stored = session
        try await write { db in
            try db.execute(sql: """
                INSERT INTO sessions (id, agent_id, task, state, created_at, updated_at, account_id, last_seq)
                VALUES (?, ?, ?, ?, ?, ?, ?, 0)
                """, arguments: [stored.id, stored.agentID, stored.task, stored.state.rawValue, StoreTime.encode(stored.createdAt),
                                 StoreTime.encode(stored.updatedAt), stored.accountID])
        }
        return stored
    }

    public func session(id: String) async throws -> SessionRecord? {
        if let cached = sessionCache?.record(id) { return cached }
        let ticket = sessionCache?.ticket()
        // A prepared statement kept with the connection: every API read of a session comes here.
        let record = try await read { db in
            try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM sessions WHERE id = ?"), arguments: [id]).map(SessionRecord.init(row:))
        }
        if let record, let ticket { sessionCache?.keep(record, ticket: ticket) }
        return record
    }

    public func sessions(_ filter: SessionFilter, limit: Int, after cursor: String?) async throws -> SessionPage {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let states = filter.states {
            guard !states.isEmpty else { return SessionPage(sessions: [], nextCursor: nil) }
            conditions.append("state IN (\(states.map { _ in "?" }.joined(separator: ", ")))")
            arguments += states.sorted { $0.rawValue < $1.rawValue }.map { $0.rawValue as (any DatabaseValueConvertible)? }
        }
        if let agentID = filter.agentID {
            conditions.append("agent_id = ?")
            arguments.append(agentID)
        }
        let (page, next) = try await newestFirstPage(table: "sessions", conditions: conditions, arguments: arguments, limit: limit,
                                                     after: cursor, decode: SessionRecord.init(row:)) { ($0.createdAt, $0.id) }
        return SessionPage(sessions: page, nextCursor: next)
    }

    public func sessions(in states: Set<SessionState>) async throws -> [SessionRecord] {
        guard !states.isEmpty else { return [] }
        let placeholders = states.map { _ in "?" }.joined(separator: ", ")
        let arguments = StatementArguments(states.map(\.rawValue))
        return try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM sessions WHERE state IN (\(placeholders)) ORDER BY created_at, id", arguments: arguments)
                .map(SessionRecord.init(row:))
        }
    }

    @discardableResult
    public func transitionSession(_ transition: SessionTransition) async throws -> SessionTransitionResult {
        let now = StoreTime.round(Date())
        defer { sessionCache?.invalidate(transition.sessionID) }
        return try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM sessions WHERE id = ?", arguments: [transition.sessionID]) else {
                throw StoreError.notFound("session \(transition.sessionID)")
            }
            var session = try SessionRecord(row: row)
            let from = session.state
            if let expected = transition.expected, !expected.contains(from) {
                throw IllegalSessionTransition(sessionID: session.id, from: from, to: transition.to)
            }
            try SessionStateMachine.validate(sessionID: session.id, from: from, to: transition.to)
            session.state = transition.to
            session.updatedAt = now
            if transition.to == .running, session.startedAt == nil { session.startedAt = now }
            if transition.to.isTerminal { session.endedAt = now }
            if transition.to == .running || transition.to.isTerminal { session.waitingReason = nil }
            if let error = transition.error { session.error = error }
            if let accountID = transition.accountID { session.accountID = accountID }
            session.lastSeq += 1

            var payload: [String: Any] = transition.note
            payload["type"] = "host.session.state"
            payload["state"] = transition.to.rawValue
            payload["from"] = from.rawValue
            if let error = transition.error { payload["error"] = error }
            let event = EventRecord(sessionID: session.id, seq: session.lastSeq, type: "host.session.state", time: now,
                                    payload: HostJSON.encode(payload))
            // Compare-and-set: the row changes only if nobody changed its state since it was read
            // (within this transaction that cannot happen on SQLite; on a server database it can).
            try db.execute(sql: """
                UPDATE sessions SET state = ?, updated_at = ?, started_at = ?, ended_at = ?, error = ?, waiting_reason = ?, account_id = ?,
                    last_seq = ?
                WHERE id = ? AND state = ? AND last_seq = ?
                """, arguments: [transition.to.rawValue, StoreTime.encode(now), StoreTime.encode(session.startedAt),
                                 StoreTime.encode(session.endedAt), session.error, session.waitingReason, session.accountID,
                                 session.lastSeq, session.id, from.rawValue, session.lastSeq - 1])
            guard db.changesCount == 1 else {
                throw IllegalSessionTransition(sessionID: session.id, from: from, to: transition.to)
            }
            try db.execute(sql: "INSERT INTO events (session_id, seq, type, time, payload) VALUES (?, ?, ?, ?, ?)",
                           arguments: [event.sessionID, event.seq, event.type, StoreTime.encode(event.time), event.payload])
            return SessionTransitionResult(session: session, event: event)
        }
    }

    public func setWaitingReason(sessionID: String, _ reason: String?) async throws {
        defer { sessionCache?.invalidate(sessionID) }
        try await write { db in
            try db.execute(sql: "UPDATE sessions SET waiting_reason = ? WHERE id = ?", arguments: [reason, sessionID])
        }
    }

    public func sessionCounts() async throws -> [SessionState: Int] {
        try await read { db in
            var counts: [SessionState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM sessions GROUP BY state") {
                let name: String = row["state"]
                guard let state = SessionState(rawValue: name) else { throw StoreError(kind: .database, message: "unknown session state '\(name)'") }
                counts[state] = row["n"]
            }
            return counts
        }
    }
}

extension SQLiteStore {
    /// One page of `table`'s rows that meet `conditions`, newest first (creation time, then id), after
    /// `cursor`; the cursor of the next page when there is one.
    func newestFirstPage<Record: Sendable>(table: String, conditions: [String], arguments: [(any DatabaseValueConvertible)?], limit: Int,
                                           after cursor: String?, decode: @escaping @Sendable (Row) throws -> Record,
                                           position: (Record) -> (Date, String)) async throws -> ([Record], String?) {
        var conditions = conditions, arguments = arguments
        if let cursor {
            let (created, id) = try StoreCursor.decode(cursor)
            conditions.append("(created_at < ? OR (created_at = ? AND id < ?))")
            arguments += [created, created, id] as [(any DatabaseValueConvertible)?]
        }
        let condition = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let pageSize = max(1, min(limit, 1000))
        let statementArguments = StatementArguments(arguments + [pageSize + 1])
        let rows = try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM \(table) \(condition) ORDER BY created_at DESC, id DESC LIMIT ?", arguments: statementArguments)
                .map(decode)
        }
        let page = Array(rows.prefix(pageSize))
        let next = rows.count > pageSize ? page.last.map { record in
            let (createdAt, id) = position(record)
            return StoreCursor.encode(createdAt: createdAt, id: id)
        } : nil
        return (page, next)
    }
}

/// The position in a newest-first listing: the last row's creation time and id (`<time>:<id>`).
enum StoreCursor {
    static func encode(createdAt: Date, id: String) -> String {
        "\(StoreTime.encode(createdAt)):\(id)"
    }

    static func decode(_ cursor: String) throws -> (createdAt: Int64, id: String) {
        // Split on the byte: a combining mark after the ':' would hide it from a split by characters.
        let bytes = cursor.utf8
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), let created = Int64(String(Substring(bytes[..<colon]))),
              bytes.index(after: colon) != bytes.endIndex else {
            throw StoreError(kind: .invalidCursor, message: "invalid cursor '\(cursor)'")
        }
        return (created, String(Substring(bytes[bytes.index(after: colon)...])))
    }
}
