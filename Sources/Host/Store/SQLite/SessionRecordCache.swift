import Foundation

/// Session rows as last read or written by this process, so that the API's most frequent read (one
/// session by id, polled by dashboards and clients) costs no trip to a reader connection.
///
/// Only the process that owns the data directory keeps one: every change to a session row is made
/// by that process, through ``SQLiteStore`` methods that call ``invalidate(_:)`` once their write
/// has committed (or failed). Other processes read the database directly. A store shared by several
/// writers (a server database) must not use it.
///
/// A read that misses takes a ticket before asking the database and keeps its answer only if no
/// session was invalidated in between: an answer read just before a commit is never kept after the
/// commit's invalidation.
final class SessionRecordCache: Sendable {
    static let capacity = 10_000

    private struct State {
        var records: [String: SessionRecord] = [:]
        /// Bumped by every invalidation.
        var generation: UInt64 = 0
    }

    private let state = Locked(State())

    func record(_ id: String) -> SessionRecord? {
        state.withLock { $0.records[id] }
    }

    /// Taken before a read that may be kept with ``keep(_:ticket:)``.
    func ticket() -> UInt64 {
        state.withLock { $0.generation }
    }

    func keep(_ record: SessionRecord, ticket: UInt64) {
        state.withLock { state in
            guard state.generation == ticket else { return }
            // Bounded: past the capacity start over rather than track recency on every read.
            if state.records.count >= Self.capacity, state.records[record.id] == nil { state.records.removeAll(keepingCapacity: true) }
            state.records[record.id] = record
        }
    }

    func invalidate<IDs: Sequence<String>>(_ ids: IDs) {
        state.withLock { state in
            state.generation &+= 1
            for id in ids { state.records[id] = nil }
        }
    }

    func invalidateAll() {
        state.withLock { state in
            state.generation &+= 1
            state.records.removeAll()
        }
    }

    func invalidate(_ id: String) {
        invalidate(CollectionOfOne(id))
    }
}
