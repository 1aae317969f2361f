import Foundation
import Host

/// A real SQLite store in a fresh temporary directory.
public struct TestStore: Sendable {
    public let directory: TemporaryDirectory
    public let store: SQLiteStore

    /// `cachesSessions` as the owner of a data directory opens it.
    public init(cachesSessions: Bool = false) throws {
        directory = try TemporaryDirectory("store")
        store = try SQLiteStore(configuration: StoreConfiguration(databaseFile: directory.file("flywheel.sqlite"), cachesSessions: cachesSessions))
    }

    /// Opens the same database file again, as a restarted host would.
    public func reopen() throws -> SQLiteStore {
        try SQLiteStore(configuration: StoreConfiguration(databaseFile: directory.file("flywheel.sqlite")))
    }

    /// An agent and a session in `state` (moved there through legal transitions).
    public func makeSession(state: SessionState = .created, agentName: String = "agent-\(UUID().uuidString.prefix(8))") async throws -> SessionRecord {
        var agent = try await store.agent(named: agentName)
        if agent == nil { agent = try await store.createAgent(AgentRecord(name: agentName, driverID: "test.scripted")) }
        guard let agent else { throw StoreError(kind: .database, message: "no agent") }
        var session = try await store.createSession(SessionRecord(agentID: agent.id, task: "test"))
        let path: [SessionState] =
            switch state {
            case .created: []
            case .queued: [.queued]
            case .running: [.queued, .running]
            case .paused: [.queued, .running, .paused]
            case .done: [.queued, .running, .done]
            case .failed: [.queued, .running, .failed]
            case .cancelled: [.cancelled]
            }
        for next in path { session = try await store.transitionSession(SessionTransition(sessionID: session.id, to: next)).session }
        return session
    }
}
