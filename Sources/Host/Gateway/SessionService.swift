import Foundation

/// Sessions: create, list, show, pause, resume, cancel. Each control request is legal from any
/// caller at any time, whatever the session's state; it fails with a typed error
/// (``SessionNotFound``, ``IllegalSessionTransition`` with from/to, ``PauseUnsupported``), never with
/// a message to match.
public struct SessionService: Sendable {
    let store: any GatewayStore
    let log: SessionEventLog
    let scheduler: SessionScheduler?
    let control: ControlClient?

    /// Creates a session of an agent and queues it.
    public func create(agentID: String, task: String) async throws -> SessionRecord {
        guard !task.isEmpty else { throw InvalidRequest(field: "task", reason: "must not be empty") }
        guard try await store.agent(id: agentID) != nil else { throw AgentNotFound(agent: agentID) }
        if let scheduler { return try await scheduler.submit(agentID: agentID, task: task) }
        return try await requireControl().session(.create(agentID: agentID, task: task))
    }

    public func list(_ filter: SessionFilter = SessionFilter(), limit: Int = 50, cursor: String? = nil) async throws -> SessionPage {
        try await store.sessions(filter, limit: limit, after: cursor)
    }

    /// How many sessions are in each state, every state listed.
    public func counts() async throws -> [SessionState: Int] {
        let counts = try await store.sessionCounts()
        return Dictionary(uniqueKeysWithValues: SessionState.allCases.map { ($0, counts[$0] ?? 0) })
    }

    public func show(_ id: String) async throws -> SessionRecord {
        guard let session = try await store.session(id: id) else { throw SessionNotFound(sessionID: id) }
        return session
    }

    /// The policy decisions on the session's commands, oldest first.
    public func commandDecisions(_ id: String) async throws -> [CommandDecisionRecord] {
        _ = try await show(id)
        return try await store.commandDecisions(sessionID: id)
    }

    public func checkpoints(_ id: String) async throws -> [CheckpointRecord] {
        _ = try await show(id)
        return try await store.checkpoints(sessionID: id)
    }

    /// Cancels the session: one that runs is asked to stop (its state follows when the run ends);
    /// any other that is not final ends at once.
    @discardableResult
    public func cancel(_ id: String) async throws -> SessionRecord {
        if let scheduler { return try await scheduler.cancel(sessionID: id) }
        return try await requireControl().session(.cancel(sessionID: id))
    }

    /// Pauses a running session (its driver must save checkpoints).
    @discardableResult
    public func pause(_ id: String) async throws -> SessionRecord {
        if let scheduler { return try await scheduler.pause(sessionID: id) }
        return try await requireControl().session(.pause(sessionID: id))
    }

    /// Resumes a paused session from its checkpoint as soon as limits allow.
    @discardableResult
    public func resume(_ id: String) async throws -> SessionRecord {
        if let scheduler { return try await scheduler.resume(sessionID: id) }
        return try await requireControl().session(.resume(sessionID: id))
    }

    private func requireControl() throws -> ControlClient {
        guard let control else { throw ControlUnavailable(reason: "this gateway neither owns the data directory nor has a control socket") }
        return control
    }
}

/// A request field that is missing or wrong. (HTTP: 400 with the field.)
public struct InvalidRequest: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public var description: String { "\(field) \(reason)" }

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }
}
