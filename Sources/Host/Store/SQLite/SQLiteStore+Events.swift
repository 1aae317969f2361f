import Foundation
import GRDB

extension SQLiteStore: EventStore, CheckpointStore {
    public func appendEvents(_ events: [NewEvent]) async throws -> [EventRecord] {
        guard !isReadOnly else { throw readOnlyError }
        // Each session's last_seq moves with its events.
        defer { sessionCache?.invalidate(Set(events.map(\.sessionID))) }
        do {
            return try await eventWriter.append(events)
        } catch let error as DatabaseError {
            throw Self.mapped(error)
        }
    }

    public func events(sessionID: String, afterSeq: Int64, limit: Int) async throws -> [EventRecord] {
        try await read { db in
            // Columns by position and a cursor, not rows by name: replays read millions of these.
            let statement = try db.cachedStatement(sql: "SELECT seq, type, time, payload FROM events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?")
            let rows = try Row.fetchCursor(statement, arguments: [sessionID, afterSeq, max(1, limit)])
            var records: [EventRecord] = []
            records.reserveCapacity(min(max(1, limit), 4096))
            while let row = try rows.next() {
                records.append(EventRecord(sessionID: sessionID, seq: row[0], type: row[1], time: StoreTime.decode(row[2] as Int64), payload: row[3]))
            }
            return records
        }
    }

    public func eventCount(sessionID: String) async throws -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE session_id = ?", arguments: [sessionID]) ?? 0 }
    }

    public func driverEventCount(sessionID: String, afterSeq: Int64) async throws -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE session_id = ? AND seq > ? AND type NOT LIKE 'host.%'",
                             arguments: [sessionID, afterSeq]) ?? 0
        }
    }

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

    public func checkpoints(sessionID: String) async throws -> [CheckpointRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM checkpoints WHERE session_id = ? ORDER BY id", arguments: [sessionID])
                .map(CheckpointRecord.init(row:))
        }
    }
}
