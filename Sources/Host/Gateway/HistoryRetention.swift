import Foundation
import Logging

/// Deletes the events and checkpoints of sessions that ended longer ago than the configured age,
/// at start and then hourly, in small batches so it never holds the writer for long. Off unless
/// `[retention] ended_session_history_days` is set.
struct HistoryRetention: Sendable {
    let store: any RetentionStore
    let age: Duration
    let logger: Logger
    var interval: Duration = .seconds(3600)
    var batch = 50

    /// Prunes until cancelled.
    func run() async {
        await repeatUntilCancelled(every: interval) { await pruneNow() }
    }

    /// Prunes everything past the age now; returns how many sessions lost their history.
    @discardableResult
    func pruneNow(now: Date = Date()) async -> Int {
        let seconds = Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
        let cutoff = now.addingTimeInterval(-seconds)
        var total = 0
        do {
            while !Task.isCancelled {
                let pruned = try await store.pruneHistory(endedBefore: cutoff, limit: batch)
                total += pruned
                if pruned < batch { break }
            }
        } catch {
            logger.error("cannot prune the history of ended sessions", metadata: ["error": .string("\(error)")])
        }
        if total > 0 { logger.info("pruned the history of ended sessions", metadata: ["flywheel.retention.sessions": .stringConvertible(total)]) }
        return total
    }
}
