import Foundation
import Synchronization

/// Requests for one running session, delivered to its runner.
final class SessionControl: Sendable {
    enum Request: Sendable {
        /// An operator cancelled the session.
        case cancel
        /// An operator paused it: save a checkpoint, then stop the run.
        case pause
        /// The host is shutting down gracefully: checkpoint if the driver can, then stop the run.
        case shutdown
    }

    let requests: AsyncStream<Request>
    private let continuation: AsyncStream<Request>.Continuation
    private let checkpoints = Atomic<Int8>(-1)

    init() {
        (requests, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    func send(_ request: Request) { continuation.yield(request) }

    func finish() { continuation.finish() }

    /// Whether the run's driver can save checkpoints; nil until the runner has created the instance.
    var supportsCheckpoints: Bool? {
        switch checkpoints.load(ordering: .acquiring) {
        case 0: false
        case 1: true
        default: nil
        }
    }

    func setSupportsCheckpoints(_ value: Bool) { checkpoints.store(value ? 1 : 0, ordering: .releasing) }
}

/// How one run of a session ended, and so what its state becomes.
public enum SessionRunOutcome: Sendable, Equatable {
    case done
    case failed(String)
    case cancelled
    case paused
    /// The account hit a provider rate limit: cool it down and queue the session again.
    case rateLimited(accountID: String, until: Date, error: String)
    /// The account cannot serve any run (a refused key, no credit): take it out of rotation with
    /// the reason and queue the session again.
    case accountUnusable(accountID: String, status: AccountRecord.Status, reason: String, error: String)
    /// The host shut down gracefully; `checkpointed` when the run saved a checkpoint to resume from.
    case stopped(checkpointed: Bool)
    /// The host was stopped without a graceful shutdown: the session stays `running` for recovery
    /// at the next start.
    case interrupted
}

/// Runs `body` in a task of its own that the caller's cancellation does not reach, and waits for it:
/// for the records a cancelled run must still write (what became of its commands, its outcome).
func uncancelled<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await Task { try await body() }.value
}
