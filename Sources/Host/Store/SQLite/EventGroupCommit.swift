import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// The single writer of events: appends from every session that arrive while a write is in progress
/// are committed together in the next transaction (group commit), so many busy sessions cost a few
/// transactions, not one per event. Each caller's events get consecutive seqs of their session, and
/// a caller returns only once its events are committed.
///
/// It needs no task of its own: the write runs on GRDB's writer queue and schedules the next one
/// from its completion.
final class EventGroupCommit: Sendable {
    private struct Waiter: @unchecked Sendable {
        var events: [NewEvent]
        var continuation: CheckedContinuation<[EventRecord], any Error>
    }

    private struct State {
        var pending: [Waiter] = []
        var writing = false
    }

    private let writer: any DatabaseWriter
    private let state = Locked(State())

    init(writer: any DatabaseWriter) {
        self.writer = writer
    }

    func append(_ events: [NewEvent]) async throws -> [EventRecord] {
        guard !events.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let lead = state.withLock { state in
                state.pending.append(Waiter(events: events, continuation: continuation))
                if state.writing { return false }
                state.writing = true
                return true
            }
            if lead { drain() }
        }
    }

    private func drain() {
        let batch = state.withLock { state in
            let batch = state.pending
            state.pending = []
            if batch.isEmpty { state.writing = false }
            return batch
        }
        guard !batch.isEmpty else { return }
        writer.asyncWrite({ db in
            try Self.write(batch.map(\.events), db)
        }, completion: { _, result in
            switch result {
            case .success(let outcomes):
                for (waiter, outcome) in zip(batch, outcomes) { waiter.continuation.resume(with: outcome) }
            case .failure(let error):
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
            self.drain()
        })
    }

    /// Writes each caller's events in a savepoint of its own, so one bad caller (an unknown session,
    /// say) fails alone. Each session's seqs are reserved with one `UPDATE … RETURNING` (SQL that
    /// PostgreSQL runs too), which also serialises writers of one session on a server database.
    private static func write(_ groups: [[NewEvent]], _ db: Database) throws -> [Result<[EventRecord], any Error>] {
        let insert = try db.cachedStatement(sql: "INSERT INTO events (session_id, seq, type, time, payload) VALUES (?, ?, ?, ?, ?)")
        let reserve = try db.cachedStatement(sql: "UPDATE sessions SET last_seq = last_seq + ? WHERE id = ? RETURNING last_seq")
        var outcomes: [Result<[EventRecord], any Error>] = []
        outcomes.reserveCapacity(groups.count)
        for events in groups {
            do {
                var records: [EventRecord] = []
                try db.inSavepoint {
                    // How many seqs each session needs, in the order sessions first appear.
                    var counts: [String: Int64] = [:]
                    var order: [String] = []
                    for event in events {
                        if counts[event.sessionID] == nil { order.append(event.sessionID) }
                        counts[event.sessionID, default: 0] += 1
                    }
                    var next: [String: Int64] = [:]
                    for session in order {
                        let count = counts[session] ?? 0
                        guard let last = try Int64.fetchOne(reserve, arguments: [count, session]) else {
                            throw StoreError.notFound("session \(session)")
                        }
                        next[session] = last - count + 1
                    }
                    records.reserveCapacity(events.count)
                    for event in events {
                        let seq = next[event.sessionID] ?? 0
                        next[event.sessionID] = seq + 1
                        let time = StoreTime.round(event.time)
                        try insertEvent(insert, db, event.sessionID, seq, event.type, StoreTime.encode(time), event.payload)
                        records.append(EventRecord(sessionID: event.sessionID, seq: seq, type: event.type, time: time, payload: event.payload))
                    }
                    return .commit
                }
                outcomes.append(.success(records))
            } catch {
                outcomes.append(.failure(error))
            }
        }
        return outcomes
    }

    /// One event row, bound straight to SQLite: this runs once per event, and building GRDB's
    /// argument array for it cost more than the insert itself.
    private static func insertEvent(_ statement: Statement, _ db: Database, _ session: String, _ seq: Int64,
                                    _ type: String, _ time: Int64, _ payload: String) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        var code = bindText(handle, 1, session)
        if code == SQLITE_OK { code = sqlite3_bind_int64(handle, 2, seq) }
        if code == SQLITE_OK { code = bindText(handle, 3, type) }
        if code == SQLITE_OK { code = sqlite3_bind_int64(handle, 4, time) }
        if code == SQLITE_OK { code = bindText(handle, 5, payload) }
        if code == SQLITE_OK { code = sqlite3_step(handle) }
        sqlite3_clear_bindings(handle)
        guard code == SQLITE_DONE else {
            let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
            sqlite3_reset(handle)
            throw DatabaseError(resultCode: ResultCode(rawValue: sqlite3_extended_errcode(db.sqliteConnection)),
                                message: message, sql: statement.sql)
        }
        sqlite3_reset(handle)
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private static func bindText(_ handle: OpaquePointer?, _ index: Int32, _ text: String) -> Int32 {
        var text = text
        return text.withUTF8 { bytes in
            // An empty string still binds as text, not NULL: SQLite wants a non-null pointer.
            guard let base = bytes.baseAddress, bytes.count > 0 else { return sqlite3_bind_text(handle, index, "", 0, transient) }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text(handle, index, $0, Int32(bytes.count), transient)
            }
        }
    }
}
