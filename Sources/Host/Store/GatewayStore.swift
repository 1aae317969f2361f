import Foundation

/// Everything the gateway keeps, one protocol per concern so each can be implemented and tested on
/// its own. SQLite implements them all today; a PostgreSQL backend can implement them later without
/// touching callers. Every query behind them is written in SQL both databases run.
public typealias GatewayStore = AgentStore & SessionStore & EventStore & CheckpointStore & CommandDecisionStore & AccountStore
    & PeopleStore & RetentionStore

/// Agents: a driver, its configuration, and where its commands run.
public protocol AgentStore: Sendable {
    func createAgent(_ agent: AgentRecord) async throws -> AgentRecord
    /// Creates the agent, or updates the one with the same name.
    func upsertAgent(_ agent: AgentRecord) async throws -> AgentRecord
    /// Replaces an agent's driver, configuration, environment, workspace and status.
    func updateAgent(_ agent: AgentRecord) async throws -> AgentRecord
    /// Removes an agent that no session refers to; throws ``StoreError`` `.conflict` otherwise.
    func deleteAgent(id: String) async throws
    func agent(id: String) async throws -> AgentRecord?
    func agent(named name: String) async throws -> AgentRecord?
    func agents() async throws -> [AgentRecord]
}

/// Sessions and their state machine.
public protocol SessionStore: Sendable {
    func createSession(_ session: SessionRecord) async throws -> SessionRecord
    func session(id: String) async throws -> SessionRecord?
    /// Sessions newest first, `limit` at a time; pass the returned cursor to continue.
    func sessions(_ filter: SessionFilter, limit: Int, after cursor: String?) async throws -> SessionPage
    /// Sessions in any of `states`, oldest first (the scheduler's queue, recovery at start-up).
    func sessions(in states: Set<SessionState>) async throws -> [SessionRecord]
    /// Moves a session through the state machine, compare-and-set, and appends its
    /// `host.session.state` event in the same transaction. Throws ``IllegalSessionTransition`` with
    /// the current state when the machine forbids the move or the session is not in `expected`.
    @discardableResult
    func transitionSession(_ transition: SessionTransition) async throws -> SessionTransitionResult
    func setWaitingReason(sessionID: String, _ reason: String?) async throws
    /// How many sessions are in each state (states with none are left out).
    func sessionCounts() async throws -> [SessionState: Int]
}

/// The append-only event log.
public protocol EventStore: Sendable {
    /// Appends events, giving each the next seq of its session; returns once they are committed.
    func appendEvents(_ events: [NewEvent]) async throws -> [EventRecord]
    func events(sessionID: String, afterSeq: Int64, limit: Int) async throws -> [EventRecord]
    func eventCount(sessionID: String) async throws -> Int
    /// How many of a session's events after `afterSeq` came from its driver (types not `host.*`).
    func driverEventCount(sessionID: String, afterSeq: Int64) async throws -> Int
}

/// Checkpoints: what a session resumes from.
public protocol CheckpointStore: Sendable {
    @discardableResult
    func saveCheckpoint(sessionID: String, seq: Int64, state: [UInt8]) async throws -> CheckpointRecord
    func latestCheckpoint(sessionID: String) async throws -> CheckpointRecord?
    /// Every checkpoint of a session, oldest first.
    func checkpoints(sessionID: String) async throws -> [CheckpointRecord]
}

/// The policy decisions on agents' commands, and the approvals of held ones.
public protocol CommandDecisionStore: Sendable {
    func recordCommandDecision(_ decision: CommandDecisionRecord) async throws
    func commandDecision(id: String) async throws -> CommandDecisionRecord?
    func commandDecisions(sessionID: String) async throws -> [CommandDecisionRecord]
    /// Held commands, oldest first: of one session, or of all when `sessionID` is nil.
    func pendingCommandDecisions(sessionID: String?) async throws -> [CommandDecisionRecord]
    /// Decisions across sessions, newest first, a page at a time (the audit trail of the guard).
    func commandDecisions(_ filter: CommandDecisionFilter, limit: Int, after cursor: String?) async throws -> CommandDecisionPage
    /// Changes a decision's status only if it is still `from` (any status when nil); returns whether it did.
    func updateCommandDecision(id: String, from: CommandDecisionRecord.Status?, to status: CommandDecisionRecord.Status,
                               exitCode: Int32?, decidedBy: String?, outcome: String?) async throws -> Bool
}

/// BYOA provider accounts.
public protocol AccountStore: Sendable {
    func createAccount(_ account: AccountRecord) async throws -> AccountRecord
    func accounts(provider: String?) async throws -> [AccountRecord]
    func account(id: String) async throws -> AccountRecord?
    /// Sets an account's status; `statusReason` says why it is out of rotation (nil clears it).
    /// With `onlyFrom`, only an account in one of those states changes (compare-and-set): false
    /// when it was in another. Throws `notFound` when there is no such account.
    @discardableResult
    func updateAccount(id: String, status: AccountRecord.Status, statusReason: String?, cooldownUntil: Date?, lastUsedAt: Date?,
                       onlyFrom: Set<AccountRecord.Status>?) async throws -> Bool
    /// Removes an account; sessions that used it keep their history (their account becomes none).
    /// False when there is no such account.
    func deleteAccount(id: String) async throws -> Bool
}

/// Retention: the history of long-ended sessions.
public protocol RetentionStore: Sendable {
    /// Deletes the events and checkpoints of up to `limit` sessions that ended before `cutoff` and
    /// still have them, and marks those sessions pruned; returns how many sessions it pruned.
    func pruneHistory(endedBefore cutoff: Date, limit: Int) async throws -> Int
}

/// People who sign in to the HTTP API, their API keys and refresh tokens.
public protocol PeopleStore: Sendable {
    /// Fails with `conflict` when the email (compared case-insensitively) is taken.
    func createUser(_ user: UserRecord) async throws -> UserRecord
    func user(email: String) async throws -> UserRecord?
    func user(id: String) async throws -> UserRecord?
    /// Every user, oldest first.
    func users() async throws -> [UserRecord]
    /// Changes a user's role and, when given, password hash, compare-and-set on keeping an admin:
    /// false (nothing written) when that would leave no admin. Throws `notFound` for no such user.
    func updateUser(id: String, role: UserRecord.Role, passwordHash: String?) async throws -> Bool
    /// Removes a user with their keys and sign-ins, unless they are the last admin (false).
    /// Throws `notFound` for no such user.
    func deleteUser(id: String) async throws -> Bool
    /// Revokes every sign-in of a user; returns how many tokens.
    @discardableResult
    func revokeRefreshTokens(userID: String, at time: Date) async throws -> Int
    func createAPIKey(_ key: APIKeyRecord) async throws -> APIKeyRecord
    func apiKey(hash: String) async throws -> APIKeyRecord?
    func apiKey(id: String) async throws -> APIKeyRecord?
    /// A user's keys, oldest first (revoked ones included).
    func apiKeys(userID: String) async throws -> [APIKeyRecord]
    /// Marks a key revoked, compare-and-set: false when it was revoked already.
    func revokeAPIKey(id: String, at time: Date) async throws -> Bool
    /// Records when a key was last used.
    func touchAPIKey(id: String, at time: Date) async throws
    func createRefreshToken(_ token: RefreshTokenRecord) async throws -> RefreshTokenRecord
    func refreshToken(hash: String) async throws -> RefreshTokenRecord?
    /// Every token of one sign-in, oldest first.
    func refreshTokens(familyID: String) async throws -> [RefreshTokenRecord]
    /// Whether any token of the family was revoked (the sign-in ended), without reading them all.
    func refreshTokenFamilyRevoked(familyID: String) async throws -> Bool
    /// Uses `oldID` up and stores `next` in one transaction, compare-and-set: false (and nothing
    /// written) when the old token was already used or revoked.
    func rotateRefreshToken(oldID: String, next: RefreshTokenRecord, at time: Date) async throws -> Bool
    /// For a used token whose answer was lost: in one transaction, compare-and-set, the token that
    /// replaces `oldID` now is marked used (with no replacement) without having been presented;
    /// `next` is stored, and `oldID` now names `next` as its replacement. False (and nothing
    /// written) unless `oldID` is used and not revoked, and the token replacing it is unused and not
    /// revoked.
    func replaceUnusedSuccessor(oldID: String, next: RefreshTokenRecord, at time: Date) async throws -> Bool
    /// Revokes every token of a family that is not revoked yet; returns how many.
    @discardableResult
    func revokeRefreshTokens(familyID: String, at time: Date) async throws -> Int
    /// Deletes every token of up to `limit` sign-ins (families) whose every token expired before
    /// `expiredBefore`, or that were revoked before `revokedBefore`; returns how many tokens. Whole
    /// families only: a live sign-in keeps its used tokens, whose return is how reuse is seen.
    func deleteRefreshTokenFamilies(expiredBefore: Date, revokedBefore: Date, limit: Int) async throws -> Int
}

/// Which sessions a listing returns.
/// Which command decisions to list; nil fields do not filter.
public struct CommandDecisionFilter: Sendable, Equatable {
    public var sessionID: String?
    /// Only these verdicts of the policy (`deny`, `ask`, …).
    public var verdicts: Set<PolicyVerdict>?
    /// Only decisions whose command ended up so (`pending`, `ran`, `blocked`, …).
    public var statuses: Set<CommandDecisionRecord.Status>?

    public init(sessionID: String? = nil, verdicts: Set<PolicyVerdict>? = nil, statuses: Set<CommandDecisionRecord.Status>? = nil) {
        self.sessionID = sessionID
        self.verdicts = verdicts
        self.statuses = statuses
    }
}

/// One page of command decisions, newest first.
public struct CommandDecisionPage: Sendable {
    public var decisions: [CommandDecisionRecord]
    /// Pass to the next call; nil when there are no more.
    public var nextCursor: String?

    public init(decisions: [CommandDecisionRecord], nextCursor: String?) {
        self.decisions = decisions
        self.nextCursor = nextCursor
    }
}

public struct SessionFilter: Sendable, Equatable {
    /// Only sessions in one of these states; nil for all.
    public var states: Set<SessionState>?
    public var agentID: String?

    public init(states: Set<SessionState>? = nil, agentID: String? = nil) {
        self.states = states
        self.agentID = agentID
    }
}

/// One page of a session listing.
public struct SessionPage: Sendable {
    public init(sessions: [SessionRecord], nextCursor: String?) {
        self.sessions = sessions
        self.nextCursor = nextCursor
    }

    public var sessions: [SessionRecord]
    /// Pass to the next call; nil when there are no more.
    public var nextCursor: String?
}

/// A state change to make, compare-and-set.
public struct SessionTransition: Sendable {
    public var sessionID: String
    public var to: SessionState
    /// The move happens only while the session is in one of these states; nil: any state the
    /// state machine allows the move from.
    public var expected: Set<SessionState>?
    /// Recorded as the session's error (failed, cancelled) and in the event.
    public var error: String?
    /// `.some(nil)` clears the session's account; nil leaves it.
    public var accountID: String??
    /// Extra string members of the `host.session.state` event (why the change happened).
    public var note: [String: String]

    public init(sessionID: String, to: SessionState, expected: Set<SessionState>? = nil, error: String? = nil,
                accountID: String?? = nil, note: [String: String] = [:]) {
        self.sessionID = sessionID
        self.to = to
        self.expected = expected
        self.error = error
        self.accountID = accountID
        self.note = note
    }
}

/// The session after a transition, and the state event committed with it.
public struct SessionTransitionResult: Sendable {
    public var session: SessionRecord
    public var event: EventRecord
}

/// A store operation that could not be done, with what it was about.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case notFound
        case conflict
        case invalidCursor
        /// The database refuses writes (a read-only file or directory).
        case readOnly
        /// The file is not a database, or is damaged.
        case corrupt
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
