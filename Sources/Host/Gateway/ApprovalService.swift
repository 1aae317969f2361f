import Foundation

/// Held commands (policy `ask`): list, approve, deny. An answer is recorded once, compare-and-set,
/// with who gave it, and wakes the waiting command at once. Held commands of a session that ends
/// expire with it (see ``CommandGate``).
public struct ApprovalService: Sendable {
    let store: any GatewayStore
    let log: SessionEventLog
    let gate: CommandGate
    let control: ControlClient?

    /// Held commands, oldest first: of one session, or of all.
    public func pending(sessionID: String? = nil) async throws -> [CommandDecisionRecord] {
        if let sessionID, try await store.session(id: sessionID) == nil { throw SessionNotFound(sessionID: sessionID) }
        return try await store.pendingCommandDecisions(sessionID: sessionID)
    }

    /// The guard's decisions on agents' commands across sessions, newest first, a page at a time.
    public func decisions(_ filter: CommandDecisionFilter, limit: Int, cursor: String?) async throws -> CommandDecisionPage {
        if let sessionID = filter.sessionID, try await store.session(id: sessionID) == nil { throw SessionNotFound(sessionID: sessionID) }
        return try await store.commandDecisions(filter, limit: limit, after: cursor)
    }

    /// What the gateway's policy decides on a command, as it would for an agent's (nothing runs).
    public func check(_ command: String) async -> PolicyDecision {
        await gate.policy.decide(command)
    }

    /// Lets a held command run, once.
    @discardableResult
    public func approve(_ id: String, by: String) async throws -> CommandDecisionRecord {
        try await answer(id, .approved, by: by)
    }

    /// Refuses a held command; it never runs.
    @discardableResult
    public func deny(_ id: String, by: String) async throws -> CommandDecisionRecord {
        try await answer(id, .denied, by: by)
    }

    private func answer(_ id: String, _ status: CommandDecisionRecord.Status, by: String) async throws -> CommandDecisionRecord {
        guard !by.isEmpty else { throw InvalidRequest(field: "by", reason: "must name who decides") }
        if let control { return try await control.decision(status == .approved ? .approve(id: id, by: by) : .deny(id: id, by: by)) }
        guard let record = try await store.commandDecision(id: id) else { throw HeldCommandNotFound(id: id) }
        let outcome = status == .approved ? "approved by \(by)" : "denied by \(by)"
        guard try await store.updateCommandDecision(id: id, from: .pending, to: status, exitCode: nil, decidedBy: by, outcome: outcome) else {
            let now = try await store.commandDecision(id: id) ?? record
            throw HeldCommandAlreadyDecided(id: id, status: now.status, decidedBy: now.decidedBy)
        }
        try await log.appendHostEvent(sessionID: record.sessionID, type: "host.command.approval",
                                      ["request_id": id, "status": status.rawValue, "decided_by": by])
        gate.announceAnswer(id)
        guard let answered = try await store.commandDecision(id: id) else { throw HeldCommandNotFound(id: id) }
        return answered
    }
}
