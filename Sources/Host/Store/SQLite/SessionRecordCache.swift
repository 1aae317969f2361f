import Foundation

/// Session rows as last read by this process, so that the API's most frequent read (one session by
/// id, polled by dashboards and clients) costs no trip to a reader connection.
///
/// Only the process that owns the data directory keeps one: every change to a session row is made
/// by that process, through ``SQLiteStore`` methods that call ``invalidate(_:)`` once their write
/// has committed (or failed). Other processes read the database directly. A store shared by several
/// writers (a server database) must not use it.
///
/// A read that misses takes a ticket before asking the database and keeps its answer only if its
/// row was not invalidated in between: an answer read just before a commit is never kept after the
/// commit's invalidation. Other sessions' changes (events streaming into busy sessions) do not stop
/// it from being kept.
final class SessionRecordCache: Sendable {
    /// Rows kept at most, and their text (task, error, waiting reason) in bytes at most.
    let capacity: Int
    let byteCapacity: Int
    /// A row with more text than this is never kept (a task may be up to the API's body limit).
    let largestRecord: Int

    private struct State {
        var records: [String: SessionRecord] = [:]
        var bytes = 0
        /// Bumped by every invalidation; a ticket is its value when the read began.
        var generation: UInt64 = 0
        /// The generation at which each row was last invalidated, for rows invalidated since `floor`.
        var invalidated: [String: UInt64] = [:]
        /// Tickets older than this are refused: `invalidated` was emptied after they were taken.
        var floor: UInt64 = 0
    }

    private let state = Locked(State())

    init(capacity: Int = 10_000, byteCapacity: Int = 32 << 20, largestRecord: Int = 64 << 10) {
        self.capacity = capacity
        self.byteCapacity = byteCapacity
        self.largestRecord = largestRecord
    }

    func record(_ id: String) -> SessionRecord? {
        state.withLock { $0.records[id] }
    }

    /// Taken before a read that may be kept with ``keep(_:ticket:)``.
    func ticket() -> UInt64 {
        state.withLock { $0.generation }
    }

    func keep(_ record: SessionRecord, ticket: UInt64) {
        let size = Self.size(of: record)
        guard size <= largestRecord else { return }
        state.withLock { state in
            guard ticket >= state.floor, (state.invalidated[record.id] ?? 0) <= ticket else { return }
            if let previous = state.records[record.id] { state.bytes -= Self.size(of: previous) }
            // Bounded: past either capacity start over rather than track recency on every read.
            if state.records.count >= capacity || state.bytes + size > byteCapacity {
                state.records.removeAll(keepingCapacity: true)
                state.bytes = 0
            }
            state.records[record.id] = record
            state.bytes += size
        }
    }

    func invalidate<IDs: Sequence<String>>(_ ids: IDs) {
        state.withLock { state in
            state.generation &+= 1
            for id in ids {
                if let previous = state.records.removeValue(forKey: id) { state.bytes -= Self.size(of: previous) }
                state.invalidated[id] = state.generation
            }
            // Bounded too: forgetting which rows changed means refusing every ticket taken so far.
            if state.invalidated.count > capacity {
                state.invalidated.removeAll(keepingCapacity: true)
                state.floor = state.generation
            }
        }
    }

    func invalidate(_ id: String) {
        invalidate(CollectionOfOne(id))
    }

    func invalidateAll() {
        state.withLock { state in
            state.generation &+= 1
            state.records.removeAll()
            state.bytes = 0
            state.invalidated.removeAll()
            state.floor = state.generation
        }
    }

    private static func size(of record: SessionRecord) -> Int {
        record.task.utf8.count + (record.error?.utf8.count ?? 0) + (record.waitingReason?.utf8.count ?? 0)
    }
}
