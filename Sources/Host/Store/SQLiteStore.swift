import Foundation
import GRDB

/// The embedded store: one SQLite file in WAL mode with foreign keys on, migrated at open. Readers
/// run in parallel and never block the single writer.
public final class SQLiteStore: GatewayStore {
    let pool: DatabasePool
    private let events: EventGroupCommit
    public let configuration: StoreConfiguration

    /// Opens (creating if needed) the database and runs pending migrations before returning.
    public init(configuration: StoreConfiguration) throws {
        self.configuration = configuration
        let directory = configuration.databaseFile.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError(kind: .database, message: "cannot create the data directory \(directory.path): \((error as NSError).localizedDescription)")
        }
        var grdb = Configuration()
        grdb.foreignKeysEnabled = true
        grdb.maximumReaderCount = configuration.maximumReaders
        grdb.busyMode = .timeout(10)
        let synchronous = configuration.durability == .full ? "FULL" : "NORMAL"
        grdb.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }
        do {
            pool = try DatabasePool(path: configuration.databaseFile.path, configuration: grdb)
            try StoreMigrations.migrator.migrate(pool)
        } catch {
            throw StoreError(kind: .database, message: "cannot open \(configuration.databaseFile.path): \(error)")
        }
        events = EventGroupCommit(pool: pool)
    }

    // MARK: Agents

    public func createAgent(_ agent: AgentRecord) async throws -> AgentRecord {
        var agent = agent
        agent.createdAt = StoreTime.round(agent.createdAt)
        agent.updatedAt = StoreTime.round(agent.updatedAt)
        let stored = agent
        try await write { db in
            try db.execute(sql: """
                INSERT INTO agents (id, name, driver_id, config, environment, workspace, status, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [stored.id, stored.name, stored.driverID, stored.configJSON, stored.environmentJSON, stored.workspace,
                                 stored.status.rawValue, StoreTime.encode(stored.createdAt), StoreTime.encode(stored.updatedAt)])
        }
        return stored
    }

    public func upsertAgent(_ agent: AgentRecord) async throws -> AgentRecord {
        let now = StoreTime.round(Date())
        return try await write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE name = ?", arguments: [agent.name]) {
                var existing = AgentRecord(row: row)
                existing.driverID = agent.driverID
                existing.configJSON = agent.configJSON
                existing.environmentJSON = agent.environmentJSON
                existing.workspace = agent.workspace
                existing.status = agent.status
                existing.updatedAt = now
                try db.execute(sql: "UPDATE agents SET driver_id = ?, config = ?, environment = ?, workspace = ?, status = ?, updated_at = ? WHERE id = ?",
                               arguments: [existing.driverID, existing.configJSON, existing.environmentJSON, existing.workspace,
                                           existing.status.rawValue, StoreTime.encode(now), existing.id])
                return existing
            }
            var created = agent
            created.createdAt = now
            created.updatedAt = now
            try db.execute(sql: """
                INSERT INTO agents (id, name, driver_id, config, environment, workspace, status, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [created.id, created.name, created.driverID, created.configJSON, created.environmentJSON, created.workspace,
                                 created.status.rawValue, StoreTime.encode(now), StoreTime.encode(now)])
            return created
        }
    }

    public func agent(id: String) async throws -> AgentRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE id = ?", arguments: [id]).map(AgentRecord.init(row:)) }
    }

    public func agent(named name: String) async throws -> AgentRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE name = ?", arguments: [name]).map(AgentRecord.init(row:)) }
    }

    public func agents() async throws -> [AgentRecord] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM agents ORDER BY name").map(AgentRecord.init(row:)) }
    }

    // MARK: Sessions

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
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM sessions WHERE id = ?", arguments: [id]).map(SessionRecord.init(row:)) }
    }

    public func sessions(states: Set<SessionState>?, limit: Int, after cursor: String?) async throws -> SessionPage {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let states {
            conditions.append("state IN (\(states.map { _ in "?" }.joined(separator: ", ")))")
            arguments += states.map { $0.rawValue as (any DatabaseValueConvertible)? }
        }
        if let cursor {
            let parts = cursor.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let created = Int64(parts[0]) else {
                throw StoreError(kind: .invalidCursor, message: "invalid cursor '\(cursor)'")
            }
            conditions.append("(created_at < ? OR (created_at = ? AND id < ?))")
            arguments += [created, created, String(parts[1])] as [(any DatabaseValueConvertible)?]
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let pageSize = max(1, min(limit, 1000))
        let statementArguments = StatementArguments(arguments + [pageSize + 1])
        let rows = try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM sessions \(filter) ORDER BY created_at DESC, id DESC LIMIT ?", arguments: statementArguments)
                .map(SessionRecord.init(row:))
        }
        let page = Array(rows.prefix(pageSize))
        let next = rows.count > pageSize ? page.last.map { "\(StoreTime.encode($0.createdAt)):\($0.id)" } : nil
        return SessionPage(sessions: page, nextCursor: next)
    }

    public func sessions(in states: Set<SessionState>) async throws -> [SessionRecord] {
        guard !states.isEmpty else { return [] }
        let placeholders = states.map { _ in "?" }.joined(separator: ", ")
        let arguments = StatementArguments(states.map(\.rawValue))
        return try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM sessions WHERE state IN (\(placeholders)) ORDER BY created_at, rowid", arguments: arguments)
                .map(SessionRecord.init(row:))
        }
    }

    @discardableResult
    public func transitionSession(id: String, to state: SessionState, error: String? = nil, accountID: String?? = nil) async throws -> SessionRecord {
        let now = StoreTime.round(Date())
        return try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM sessions WHERE id = ?", arguments: [id]) else {
                throw StoreError.notFound("session \(id)")
            }
            var session = try SessionRecord(row: row)
            try SessionStateMachine.validate(sessionID: id, from: session.state, to: state)
            session.state = state
            session.updatedAt = now
            if state == .running, session.startedAt == nil { session.startedAt = now }
            if state.isTerminal { session.endedAt = now }
            if state == .running || state.isTerminal { session.waitingReason = nil }
            if let error { session.error = error }
            if let accountID { session.accountID = accountID }
            try db.execute(sql: """
                UPDATE sessions SET state = ?, updated_at = ?, started_at = ?, ended_at = ?, error = ?, waiting_reason = ?, account_id = ?
                WHERE id = ?
                """, arguments: [state.rawValue, StoreTime.encode(now), StoreTime.encode(session.startedAt), StoreTime.encode(session.endedAt),
                                 session.error, session.waitingReason, session.accountID, id])
            return session
        }
    }

    public func setWaitingReason(sessionID: String, _ reason: String?) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE sessions SET waiting_reason = ? WHERE id = ?", arguments: [reason, sessionID])
        }
    }

    // MARK: Events

    public func appendEvents(_ events: [NewEvent]) async throws -> [EventRecord] {
        try await self.events.append(events)
    }

    public func events(sessionID: String, afterSeq: Int64, limit: Int) async throws -> [EventRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                             arguments: [sessionID, afterSeq, max(1, limit)]).map(EventRecord.init(row:))
        }
    }

    public func eventCount(sessionID: String) async throws -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE session_id = ?", arguments: [sessionID]) ?? 0 }
    }

    // MARK: Checkpoints

    @discardableResult
    public func saveCheckpoint(sessionID: String, seq: Int64, state: [UInt8]) async throws -> CheckpointRecord {
        let now = StoreTime.round(Date())
        return try await write { db in
            try db.execute(sql: "INSERT INTO checkpoints (session_id, seq, state, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [sessionID, seq, Data(state), StoreTime.encode(now)])
            return CheckpointRecord(id: db.lastInsertedRowID, sessionID: sessionID, seq: seq, state: state, createdAt: now)
        }
    }

    public func latestCheckpoint(sessionID: String) async throws -> CheckpointRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM checkpoints WHERE session_id = ? ORDER BY id DESC LIMIT 1", arguments: [sessionID])
                .map(CheckpointRecord.init(row:))
        }
    }

    // MARK: Accounts

    public func createAccount(_ account: AccountRecord) async throws -> AccountRecord {
        var account = account
        account.createdAt = StoreTime.round(account.createdAt)
        let stored = account
        try await write { db in
            try db.execute(sql: """
                INSERT INTO accounts (id, provider, label, encrypted_credentials, status, cooldown_until, last_used_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [stored.id, stored.provider, stored.label, Data(stored.sealedCredentials), stored.status.rawValue,
                                 StoreTime.encode(stored.cooldownUntil), StoreTime.encode(stored.lastUsedAt), StoreTime.encode(stored.createdAt)])
        }
        return stored
    }

    public func accounts(provider: String?) async throws -> [AccountRecord] {
        try await read { db in
            if let provider {
                return try Row.fetchAll(db, sql: "SELECT * FROM accounts WHERE provider = ? ORDER BY created_at, rowid", arguments: [provider])
                    .map(AccountRecord.init(row:))
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM accounts ORDER BY provider, created_at, rowid").map(AccountRecord.init(row:))
        }
    }

    public func account(id: String) async throws -> AccountRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM accounts WHERE id = ?", arguments: [id]).map(AccountRecord.init(row:)) }
    }

    public func updateAccount(id: String, status: AccountRecord.Status, cooldownUntil: Date?, lastUsedAt: Date?) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE accounts SET status = ?, cooldown_until = ?, last_used_at = COALESCE(?, last_used_at) WHERE id = ?",
                           arguments: [status.rawValue, StoreTime.encode(cooldownUntil), StoreTime.encode(lastUsedAt), id])
            if db.changesCount == 0 { throw StoreError.notFound("account \(id)") }
        }
    }

    // MARK: Command decisions

    public func recordCommandDecision(_ decision: CommandDecisionRecord) async throws {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO command_decisions (id, session_id, command, decision, rule_id, pack_id, severity, reason, status, exit_code,
                                               created_at, decided_at, decided_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [decision.id, decision.sessionID, decision.command, decision.decision.rawValue, decision.ruleID,
                                 decision.packID, decision.severity?.rawValue, decision.reason, decision.status.rawValue,
                                 decision.exitCode.map { Int64($0) }, StoreTime.encode(decision.createdAt), StoreTime.encode(decision.decidedAt),
                                 decision.decidedBy])
        }
    }

    public func commandDecision(id: String) async throws -> CommandDecisionRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM command_decisions WHERE id = ?", arguments: [id]).map(CommandDecisionRecord.init(row:))
        }
    }

    public func commandDecisions(sessionID: String) async throws -> [CommandDecisionRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM command_decisions WHERE session_id = ? ORDER BY created_at, rowid", arguments: [sessionID])
                .map(CommandDecisionRecord.init(row:))
        }
    }

    public func pendingCommandDecisions() async throws -> [CommandDecisionRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM command_decisions WHERE status = 'pending' ORDER BY created_at, rowid")
                .map(CommandDecisionRecord.init(row:))
        }
    }

    public func updateCommandDecision(id: String, from: CommandDecisionRecord.Status?, to status: CommandDecisionRecord.Status,
                                      exitCode: Int32?, decidedBy: String?) async throws -> Bool {
        let now = StoreTime.encode(Date())
        return try await write { db in
            let condition = from.map { _ in " AND status = ?" } ?? ""
            var arguments: [(any DatabaseValueConvertible)?] = [status.rawValue, exitCode.map { Int64($0) }, decidedBy, now, id]
            if let from { arguments.append(from.rawValue) }
            try db.execute(sql: """
                UPDATE command_decisions SET status = ?, exit_code = COALESCE(?, exit_code), decided_by = COALESCE(?, decided_by),
                    decided_at = ? WHERE id = ?\(condition)
                """, arguments: StatementArguments(arguments))
            return db.changesCount > 0
        }
    }

    // MARK: Users, API keys, refresh tokens

    public func createUser(_ user: UserRecord) async throws -> UserRecord {
        var user = user
        user.createdAt = StoreTime.round(user.createdAt)
        let stored = user
        try await write { db in
            try db.execute(sql: "INSERT INTO users (id, email, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [stored.id, stored.email, stored.passwordHash, stored.role.rawValue, StoreTime.encode(stored.createdAt)])
        }
        return stored
    }

    public func user(email: String) async throws -> UserRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM users WHERE email = ?", arguments: [email]).map(UserRecord.init(row:)) }
    }

    public func createAPIKey(_ key: APIKeyRecord) async throws -> APIKeyRecord {
        var key = key
        key.createdAt = StoreTime.round(key.createdAt)
        let stored = key
        try await write { db in
            try db.execute(sql: """
                INSERT INTO api_keys (id, user_id, name, key_hash, prefix, created_at, expires_at, last_used_at, revoked_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [stored.id, stored.userID, stored.name, stored.keyHash, stored.prefix, StoreTime.encode(stored.createdAt),
                                 StoreTime.encode(stored.expiresAt), StoreTime.encode(stored.lastUsedAt), StoreTime.encode(stored.revokedAt)])
        }
        return stored
    }

    public func apiKey(hash: String) async throws -> APIKeyRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE key_hash = ?", arguments: [hash]).map(APIKeyRecord.init(row:)) }
    }

    public func createRefreshToken(_ token: RefreshTokenRecord) async throws -> RefreshTokenRecord {
        var token = token
        token.expiresAt = StoreTime.round(token.expiresAt)
        let stored = token
        try await write { db in
            try db.execute(sql: "INSERT INTO refresh_tokens (id, user_id, token_hash, expires_at, revoked_at, replaced_by) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [stored.id, stored.userID, stored.tokenHash, StoreTime.encode(stored.expiresAt),
                                       StoreTime.encode(stored.revokedAt), stored.replacedBy])
        }
        return stored
    }

    public func refreshToken(hash: String) async throws -> RefreshTokenRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM refresh_tokens WHERE token_hash = ?", arguments: [hash]).map(RefreshTokenRecord.init(row:))
        }
    }

    // MARK: Access

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as DatabaseError {
            throw StoreError(kind: .database, message: "\(error)")
        }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch let error as DatabaseError {
            throw StoreError(kind: error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE || error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY
                                 ? .conflict : .database,
                             message: "\(error)")
        }
    }
}
