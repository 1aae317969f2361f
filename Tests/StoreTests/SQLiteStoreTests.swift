import Foundation
import GRDB
@testable import Host
import HostTestSupport
import Testing

@Suite("SQLite store")
struct SQLiteStoreTests {
    @Test("a fresh file gets the schema; reopening keeps every row and runs no migration twice")
    func reopen() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        let session = try await test.makeSession(state: .running)
        _ = try await test.store.appendEvents([NewEvent(sessionID: session.id, type: "status", payload: #"{"type":"status","message":"hi"}"#)])
        try await test.store.saveCheckpoint(sessionID: session.id, seq: 1, state: [1, 2, 3])
        let reopened = try test.reopen()
        let again = try #require(try await reopened.session(id: session.id))
        #expect(again == (try await test.store.session(id: session.id)))
        #expect(again.lastSeq == 3)
        #expect(try await reopened.events(sessionID: session.id, afterSeq: 0, limit: 10).map(\.type) == ["host.session.state", "host.session.state", "status"])
        #expect(try await reopened.latestCheckpoint(sessionID: session.id)?.state == [1, 2, 3])
        _ = try test.reopen()
    }

    /// A database file as an older flywheel left it: migrated up to `version`.
    static func database(upTo version: String, in folder: TemporaryDirectory) throws -> (URL, DatabaseQueue) {
        let file = folder.file("flywheel.sqlite")
        let queue = try DatabaseQueue(path: file.path)
        try StoreMigrations.migrator.migrate(queue, upTo: version)
        return (file, queue)
    }

    @Test("v7 lets a decision be delegated and keeps every decision recorded before it, with its indexes")
    func delegatedMigration() async throws {
        let folder = try TemporaryDirectory("migrate-v7")
        defer { folder.remove() }
        let (file, queue) = try Self.database(upTo: "v6", in: folder)
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO agents (id, name, driver_id, config, created_at, updated_at) VALUES ('a1', 'old', 'test.scripted', '{}', 1, 1)")
            try db.execute(sql: "INSERT INTO sessions (id, agent_id, task, state, created_at, updated_at) VALUES ('s1', 'a1', 't', 'created', 1, 1)")
            try db.execute(sql: """
                INSERT INTO command_decisions (id, session_id, command, decision, status, created_at, outcome)
                VALUES ('d1', 's1', 'git reset --hard', 'ask', 'expired', 5, 'no operator answered in time')
                """)
        }
        try queue.close()
        let store = try SQLiteStore(configuration: StoreConfiguration(databaseFile: file))
        let kept = try #require(try await store.commandDecision(id: "d1"))
        #expect(kept.status == .expired && kept.outcome == "no operator answered in time" && kept.command == "git reset --hard")
        try await store.recordCommandDecision(CommandDecisionRecord(id: "d2", sessionID: "s1", command: "ls", decision: .allow, status: .approved))
        #expect(try await store.updateCommandDecision(id: "d2", from: .approved, to: .delegated, exitCode: nil, decidedBy: nil, outcome: "handed over"))
        #expect(try await store.commandDecision(id: "d2")?.status == .delegated)
        let indexes = try await DatabaseQueue(path: file.path).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'command_decisions' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        }
        #expect(indexes == ["command_decisions_by_session", "command_decisions_by_time", "command_decisions_pending"])
    }

    @Test("only a store that may upgrade the schema upgrades an older database; another refuses, naming why, and leaves it as it was")
    func upgradeOnlyByTheOwner() async throws {
        let folder = try TemporaryDirectory("migrate-owner")
        defer { folder.remove() }
        let (file, queue) = try Self.database(upTo: "v6", in: folder)
        try queue.close()
        func applied() throws -> [String] {
            try DatabaseQueue(path: file.path).read { try StoreMigrations.migrator.appliedIdentifiers($0) }.sorted()
        }
        let before = try applied()
        let refused = #expect(throws: StoreError.self) {
            try SQLiteStore(configuration: StoreConfiguration(databaseFile: file, upgradesSchema: false))
        }
        #expect(refused?.message.contains("needs a schema upgrade") == true, "\(String(describing: refused))")
        #expect(try applied() == before, "nothing migrated")
        // The owner upgrades it; after that a client opens it.
        _ = try SQLiteStore(configuration: StoreConfiguration(databaseFile: file))
        #expect(try applied().count > before.count)
        _ = try SQLiteStore(configuration: StoreConfiguration(databaseFile: file, upgradesSchema: false))
        // A new database is set up by anyone.
        let fresh = folder.file("fresh.sqlite")
        let store = try SQLiteStore(configuration: StoreConfiguration(databaseFile: fresh, upgradesSchema: false))
        #expect(try await store.agents().isEmpty)
    }

    @Test("stores opened at once on a new database migrate it once between them, 50 times over")
    func concurrentMigration() async throws {
        for _ in 0..<50 {
            let folder = try TemporaryDirectory("migrate")
            defer { folder.remove() }
            let file = folder.file("flywheel.sqlite")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        let store = try SQLiteStore(configuration: StoreConfiguration(databaseFile: file))
                        _ = try await store.agents()
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test("retention deletes the history of ended sessions only; the database refuses to delete a live session's events")
    func retention() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        let ended = try await test.makeSession(state: .done)
        let live = try await test.makeSession(state: .running)
        for session in [ended, live] {
            _ = try await test.store.appendEvents([NewEvent(sessionID: session.id, type: "status", payload: #"{"type":"status","message":"x"}"#)])
            try await test.store.saveCheckpoint(sessionID: session.id, seq: 1, state: [1])
        }
        #expect(try await test.store.pruneHistory(endedBefore: Date().addingTimeInterval(-3600), limit: 10) == 0, "ended too recently")
        #expect(try await test.store.pruneHistory(endedBefore: Date().addingTimeInterval(1), limit: 10) == 1)
        #expect(try await test.store.events(sessionID: ended.id, afterSeq: 0, limit: 10).isEmpty)
        #expect(try await test.store.latestCheckpoint(sessionID: ended.id) == nil)
        let pruned = try #require(try await test.store.session(id: ended.id))
        #expect(pruned.historyPrunedAt != nil)
        #expect(pruned.state == .done && pruned.lastSeq == ended.lastSeq + 1, "the session itself is kept")
        #expect(try await test.store.eventCount(sessionID: live.id) == 3)
        #expect(try await test.store.pruneHistory(endedBefore: Date().addingTimeInterval(1), limit: 10) == 0, "pruned once")
        // The database itself keeps a live session's log append-only.
        let reopened = try test.reopen()
        await #expect(throws: StoreError.self) {
            try await reopened.write { db in try db.execute(sql: "DELETE FROM events WHERE session_id = ?", arguments: [live.id]) }
        }
    }

    @Test("foreign keys are enforced")
    func foreignKeys() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        await #expect(throws: StoreError.self) {
            _ = try await test.store.createSession(SessionRecord(agentID: "no-such-agent", task: "x"))
        }
        await #expect(throws: (any Error).self) {
            _ = try await test.store.appendEvents([NewEvent(sessionID: "no-such-session", type: "status", payload: "{}")])
        }
    }

    @Test("events are append-only: the database refuses UPDATE and DELETE")
    func appendOnly() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        let session = try await test.makeSession()
        _ = try await test.store.appendEvents([NewEvent(sessionID: session.id, type: "status", payload: "{}")])
        let database = test.directory.file("flywheel.sqlite").path
        for statement in ["UPDATE events SET payload = 'x'", "DELETE FROM events"] {
            let output = try ProcessRunner.run(command: "python3", ["-c", """
                import sqlite3, sys
                db = sqlite3.connect(sys.argv[1])
                try:
                    db.execute(sys.argv[2]); db.commit(); print("changed")
                except sqlite3.DatabaseError as e:
                    print("refused:", e)
                """, database, statement])
            #expect(output.stdout.hasPrefix("refused: ") && output.stdout.contains("append-only"), "\(statement): \(output.stdout)\(output.stderr)")
        }
        #expect(try await test.store.eventCount(sessionID: session.id) == 1)
    }

    @Test("seqs are gapless and unique per session under many concurrent appenders")
    func concurrentAppends() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        var sessions: [SessionRecord] = []
        for _ in 0..<20 { sessions.append(try await test.makeSession(state: .running)) }
        let store = test.store
        try await withThrowingTaskGroup(of: Void.self) { group in
            for session in sessions {
                for writer in 0..<5 {
                    group.addTask {
                        for batch in 0..<20 {
                            let events = (0..<5).map { index in
                                NewEvent(sessionID: session.id, type: "x-tick", payload: #"{"type":"x-tick","w":\#(writer),"b":\#(batch),"i":\#(index)}"#)
                            }
                            let records = try await store.appendEvents(events)
                            // One call's events are consecutive.
                            #expect(records.map(\.seq) == Array(records[0].seq..<(records[0].seq + 5)))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        for session in sessions {
            let events = try await store.events(sessionID: session.id, afterSeq: 0, limit: 10_000)
            // Two state events (queued, running) came first.
            #expect(events.map(\.seq) == Array(1...502))
            #expect(try await store.session(id: session.id)?.lastSeq == 502)
        }
    }

    @Test("one caller's bad batch fails alone")
    func badBatchIsolated() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        let session = try await test.makeSession()
        let store = test.store
        let bad = Task { try await store.appendEvents([NewEvent(sessionID: "missing", type: "status", payload: "{}")]) }
        let good = Task { try await store.appendEvents([NewEvent(sessionID: session.id, type: "status", payload: "{}")]) }
        #expect(try await good.value.count == 1)
        await #expect(throws: (any Error).self) { try await bad.value }
    }

    @Test("an insert the database refuses fails that caller with a conflict and leaves its savepoint empty")
    func insertConflict() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        let session = try await test.makeSession()
        let store = test.store
        _ = try await store.appendEvents([NewEvent(sessionID: session.id, type: "status", payload: "{}")])
        let before = try await store.eventCount(sessionID: session.id)
        // Wind the session's seq counter back from outside, so the next seq collides with a stored one.
        let database = test.directory.file("flywheel.sqlite").path
        _ = try ProcessRunner.run(command: "python3", ["-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1]); db.execute("UPDATE sessions SET last_seq = 0"); db.commit()
            """, database])
        do {
            _ = try await store.appendEvents([NewEvent(sessionID: session.id, type: "status", payload: "{}")])
            Issue.record("a colliding seq was stored")
        } catch let error as StoreError {
            #expect(error.kind == .conflict, "\(error)")
            #expect(error.message.contains("UNIQUE") || error.message.contains("PRIMARY KEY"), "\(error)")
        }
        #expect(try await store.eventCount(sessionID: session.id) == before)
        // The writer goes on: the counter was rolled back with the savepoint, so the next append fails
        // the same way rather than leaving a gap, and a fresh session still appends.
        let other = try await test.makeSession()
        #expect(try await store.appendEvents([NewEvent(sessionID: other.id, type: "status", payload: "{}")]).count == 1)
    }

    @Test("event text round-trips byte for byte: empty, non-ASCII and long")
    func textFidelity() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        let session = try await test.makeSession()
        // Payloads are JSON, so a NUL arrives escaped (\u0000) and never as a raw byte.
        let payloads = ["", "héllo — 世界 🚀", #"{"t":"a\u0000b"}"#, String(repeating: "xé", count: 35_000)]
        let stored = try await test.store.appendEvents(payloads.map { NewEvent(sessionID: session.id, type: "x-t✓", payload: $0) })
        let read = try await test.store.events(sessionID: session.id, afterSeq: stored[0].seq - 1, limit: 10)
        #expect(read.map(\.payload) == payloads, "payloads differ")
        #expect(read.allSatisfy { $0.type == "x-t✓" })
    }

    @Test("cursor pagination returns every session exactly once, newest first")
    func pagination() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        var created: Set<String> = []
        for index in 0..<23 { created.insert(try await test.makeSession(state: index % 2 == 0 ? .queued : .created).id) }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try await test.store.sessions(SessionFilter(), limit: 5, after: cursor)
            seen += page.sessions.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(seen.count == 23)
        #expect(Set(seen) == created)
        let queued = try await test.store.sessions(SessionFilter(states: [.queued]), limit: 100, after: nil)
        #expect(queued.sessions.count == 12)
        await #expect(throws: StoreError.self) { _ = try await test.store.sessions(SessionFilter(), limit: 5, after: "garbage") }
    }

    @Test("legal transitions set their timestamps; illegal ones throw with the current state")
    func transitions() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        let session = try await test.makeSession(state: .queued)
        #expect(session.startedAt == nil)
        let running = try await test.store.transitionSession(SessionTransition(sessionID: session.id, to: .running, error: nil)).session
        #expect(running.startedAt != nil && running.endedAt == nil)
        let failed = try await test.store.transitionSession(SessionTransition(sessionID: session.id, to: .failed, error: "boom")).session
        #expect(failed.endedAt != nil)
        #expect(failed.error == "boom")
        let error = await #expect(throws: IllegalSessionTransition.self) {
            try await test.store.transitionSession(SessionTransition(sessionID: session.id, to: .running, error: nil)).session
        }
        #expect(error?.from == .failed)
        #expect(error?.to == .running)
        #expect(try await test.store.session(id: session.id)?.state == .failed)
    }

    @Test("command decisions change status only from the expected one")
    func decisions() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        let session = try await test.makeSession(state: .running)
        let decision = CommandDecisionRecord(sessionID: session.id, command: "git reset --hard", decision: .ask, ruleID: "core.git:reset-hard", status: .pending)
        try await test.store.recordCommandDecision(decision)
        #expect(try await test.store.pendingCommandDecisions(sessionID: nil).map(\.id) == [decision.id])
        #expect(try await test.store.updateCommandDecision(id: decision.id, from: .pending, to: .approved, exitCode: nil, decidedBy: "ops", outcome: nil))
        #expect(try await test.store.updateCommandDecision(id: decision.id, from: .pending, to: .denied, exitCode: nil, decidedBy: "late", outcome: nil) == false)
        let stored = try #require(try await test.store.commandDecision(id: decision.id))
        #expect(stored.status == .approved)
        #expect(stored.decidedBy == "ops")
        #expect(try await test.store.pendingCommandDecisions(sessionID: nil).isEmpty)
    }

    @Test("command decisions list newest first across sessions, filtered, in pages that never repeat or skip one")
    func decisionPages() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        let first = try await test.makeSession(state: .running)
        let second = try await test.makeSession(state: .running)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var recorded: [CommandDecisionRecord] = []
        // Several share a time, so the id breaks the tie.
        for index in 0..<25 {
            let record = CommandDecisionRecord(sessionID: index % 2 == 0 ? first.id : second.id, command: "cmd \(index)",
                                               decision: index % 5 == 0 ? .deny : .allow, status: index % 5 == 0 ? .blocked : .ran,
                                               createdAt: start.addingTimeInterval(Double(index / 3)))
            try await test.store.recordCommandDecision(record)
            recorded.append(record)
        }
        let newestFirst = recorded.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.map(\.id)
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try await test.store.commandDecisions(CommandDecisionFilter(), limit: 4, after: cursor)
            #expect(page.decisions.count <= 4)
            seen += page.decisions.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(seen == newestFirst)
        let denied = try await test.store.commandDecisions(CommandDecisionFilter(verdicts: [.deny]), limit: 100, after: nil)
        #expect(Set(denied.decisions.map(\.command)) == ["cmd 0", "cmd 5", "cmd 10", "cmd 15", "cmd 20"])
        let mine = try await test.store.commandDecisions(CommandDecisionFilter(sessionID: second.id, statuses: [.ran]), limit: 100, after: nil)
        #expect(mine.decisions.allSatisfy { $0.sessionID == second.id && $0.status == .ran })
        #expect(mine.decisions.count == 10)
        #expect(try await test.store.commandDecisions(CommandDecisionFilter(verdicts: []), limit: 10, after: nil).decisions.isEmpty)
        await #expect(throws: StoreError.self) { try await test.store.commandDecisions(CommandDecisionFilter(), limit: 10, after: "nonsense") }
    }

    @Test("agents upsert by name; users, keys and tokens are stored by hash")
    func agentsAndAuthTables() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        let first = try await test.store.upsertAgent(AgentRecord(name: "reviewer", driverID: "flywheel.sdk", configJSON: #"{"a":1}"#))
        let second = try await test.store.upsertAgent(AgentRecord(name: "reviewer", driverID: "flywheel.acp", configJSON: #"{"a":2}"#))
        #expect(first.id == second.id)
        #expect(try await test.store.agent(named: "reviewer")?.driverID == "flywheel.acp")
        await #expect(throws: StoreError.self) { _ = try await test.store.createAgent(AgentRecord(name: "bad", driverID: "x", configJSON: "not json")) }
        let user = try await test.store.createUser(UserRecord(email: "Ops@Example.com", passwordHash: "argon2id$…", role: .admin))
        #expect(try await test.store.user(email: "ops@example.com")?.id == user.id)
        _ = try await test.store.createAPIKey(APIKeyRecord(userID: user.id, name: "ci", keyHash: "h1", prefix: "fw_ab"))
        #expect(try await test.store.apiKey(hash: "h1")?.name == "ci")
        _ = try await test.store.createRefreshToken(RefreshTokenRecord(userID: user.id, tokenHash: "t1", expiresAt: Date().addingTimeInterval(60)))
        #expect(try await test.store.refreshToken(hash: "t1")?.userID == user.id)
    }
}
