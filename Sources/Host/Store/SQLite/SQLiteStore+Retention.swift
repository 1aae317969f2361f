import Foundation
import GRDB

extension SQLiteStore: RetentionStore {
    public func pruneHistory(endedBefore cutoff: Date, limit: Int) async throws -> Int {
        let now = StoreTime.encode(Date())
        let pruned = try await write { db in
            let ids = try String.fetchAll(db, sql: """
                SELECT id FROM sessions WHERE ended_at IS NOT NULL AND ended_at < ? AND history_pruned_at IS NULL
                ORDER BY ended_at, id LIMIT ?
                """, arguments: [StoreTime.encode(cutoff), max(1, limit)])
            for id in ids {
                try db.execute(sql: "DELETE FROM events WHERE session_id = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM checkpoints WHERE session_id = ?", arguments: [id])
                try db.execute(sql: "UPDATE sessions SET history_pruned_at = ? WHERE id = ?", arguments: [now, id])
            }
            return ids
        }
        sessionCache?.invalidate(pruned)
        return pruned.count
    }
}
