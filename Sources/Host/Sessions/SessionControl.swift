import Foundation

/// Requests for one running session (cancel, pause), delivered to its runner.
final class SessionControl: Sendable {
    enum Request: Sendable { case cancel, pause }

    let requests: AsyncStream<Request>
    private let continuation: AsyncStream<Request>.Continuation

    init() {
        (requests, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    func send(_ request: Request) { continuation.yield(request) }

    func finish() { continuation.finish() }
}

/// How one run of a session ended, and so what its state becomes.
public enum SessionRunOutcome: Sendable, Equatable {
    case done
    case failed(String)
    case cancelled
    case paused
    /// The account hit a provider rate limit: cool it down and queue the session again.
    case rateLimited(accountID: String, until: Date, error: String)
    /// The host is shutting down: the session stays `running` for recovery at the next start.
    case interrupted
}
