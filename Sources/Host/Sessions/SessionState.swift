/// Where a session is in its life (ARCHITECTURE §5).
public enum SessionState: String, Sendable, Codable, CaseIterable {
    case created, queued, running, paused, done, failed, cancelled

    /// Done, failed and cancelled sessions never change again.
    public var isTerminal: Bool { self == .done || self == .failed || self == .cancelled }
}

/// A transition the state machine does not allow; the HTTP API maps it to 409 with the current state.
public struct IllegalSessionTransition: Error, Sendable, Equatable, CustomStringConvertible {
    public var sessionID: String?
    public var from: SessionState
    public var to: SessionState

    public var description: String {
        "session \(sessionID ?? "?") is \(from.rawValue) and cannot become \(to.rawValue)"
    }
}

/// The one place session transitions are decided.
///
/// `created → queued → running → done | failed | paused`, `paused → running` (resume), and
/// `cancelled` from any state that is not terminal. Beyond the architecture's list: `queued → failed`
/// and `paused → failed`, so a session that cannot be started or resumed (no such driver, a host
/// restart with no checkpoint) ends with a reason instead of dangling; `running → queued`, so a
/// run that failed over (its account hit a rate limit) or was interrupted by a restart goes back to
/// the queue; and `paused → queued`, so a resume is recorded at once, by whichever process asks,
/// and the session waits its turn like any other (it starts from its checkpoint).
public enum SessionStateMachine {
    public static func canTransition(from: SessionState, to: SessionState) -> Bool {
        if from.isTerminal { return false }
        switch (from, to) {
        case (_, .cancelled): return true
        case (.created, .queued): return true
        case (.queued, .running), (.queued, .failed): return true
        case (.running, .done), (.running, .failed), (.running, .paused), (.running, .queued): return true
        case (.paused, .running), (.paused, .queued), (.paused, .failed): return true
        default: return false
        }
    }

    public static func validate(sessionID: String? = nil, from: SessionState, to: SessionState) throws(IllegalSessionTransition) {
        guard canTransition(from: from, to: to) else {
            throw IllegalSessionTransition(sessionID: sessionID, from: from, to: to)
        }
    }
}
