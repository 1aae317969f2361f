import Foundation

/// Everything the gateway keeps. SQLite implements it today; a PostgreSQL backend can implement it
/// later without touching callers.
public protocol GatewayStore: Sendable {
    // Agents
    func createAgent(_ agent: AgentRecord) async throws -> AgentRecord
    /// Creates the agent, or updates the one with the same name.
    func upsertAgent(_ agent: AgentRecord) async throws -> AgentRecord
    func agent(id: String) async throws -> AgentRecord?
    func agent(named name: String) async throws -> AgentRecord?
    func agents() async throws -> [AgentRecord]

    // Sessions
    func createSession(_ session: SessionRecord) async throws -> SessionRecord
    func session(id: String) async throws -> SessionRecord?
    /// Sessions newest first, `limit` at a time; pass the returned cursor to continue.
    func sessions(states: Set<SessionState>?, limit: Int, after cursor: String?) async throws -> SessionPage
    /// Sessions in any of `states`, oldest first (the scheduler's queue, recovery at start-up).
    func sessions(in states: Set<SessionState>) async throws -> [SessionRecord]
    /// Moves a session through the state machine inside one transaction; throws
    /// ``IllegalSessionTransition`` with the current state when the move is not allowed.
    @discardableResult
    func transitionSession(id: String, to state: SessionState, error: String?, accountID: String??) async throws -> SessionRecord
    func setWaitingReason(sessionID: String, _ reason: String?) async throws

    // Events
    /// Appends events, giving each the next seq of its session; returns once they are committed.
    func appendEvents(_ events: [NewEvent]) async throws -> [EventRecord]
    func events(sessionID: String, afterSeq: Int64, limit: Int) async throws -> [EventRecord]
    func eventCount(sessionID: String) async throws -> Int

    // Checkpoints
    @discardableResult
    func saveCheckpoint(sessionID: String, seq: Int64, state: [UInt8]) async throws -> CheckpointRecord
    func latestCheckpoint(sessionID: String) async throws -> CheckpointRecord?

    // Accounts
    func createAccount(_ account: AccountRecord) async throws -> AccountRecord
    func accounts(provider: String?) async throws -> [AccountRecord]
    func account(id: String) async throws -> AccountRecord?
    func updateAccount(id: String, status: AccountRecord.Status, cooldownUntil: Date?, lastUsedAt: Date?) async throws

    // Command decisions
    func recordCommandDecision(_ decision: CommandDecisionRecord) async throws
    func commandDecision(id: String) async throws -> CommandDecisionRecord?
    func commandDecisions(sessionID: String) async throws -> [CommandDecisionRecord]
    func pendingCommandDecisions() async throws -> [CommandDecisionRecord]
    /// Changes a decision's status only if it is still `from`; returns whether it did.
    func updateCommandDecision(id: String, from: CommandDecisionRecord.Status?, to status: CommandDecisionRecord.Status,
                               exitCode: Int32?, decidedBy: String?) async throws -> Bool

    // Accounts of people (used by the HTTP API's auth)
    func createUser(_ user: UserRecord) async throws -> UserRecord
    func user(email: String) async throws -> UserRecord?
    func createAPIKey(_ key: APIKeyRecord) async throws -> APIKeyRecord
    func apiKey(hash: String) async throws -> APIKeyRecord?
    func createRefreshToken(_ token: RefreshTokenRecord) async throws -> RefreshTokenRecord
    func refreshToken(hash: String) async throws -> RefreshTokenRecord?
}

/// One page of a session listing.
public struct SessionPage: Sendable {
    public var sessions: [SessionRecord]
    /// Pass to the next call; nil when there are no more.
    public var nextCursor: String?
}

/// A store operation that could not be done, with what it was about.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case notFound
        case conflict
        case invalidCursor
        case database
    }

    public var kind: Kind
    public var message: String

    public var description: String { message }

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    static func notFound(_ what: String) -> StoreError { StoreError(kind: .notFound, message: "\(what) not found") }
}
