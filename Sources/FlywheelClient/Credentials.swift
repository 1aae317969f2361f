import Foundation

/// A sign-in: a short-lived access token and the refresh token that renews it. Each refresh uses
/// the refresh token up and returns a new pair; presenting a used one again makes the server end
/// the whole sign-in, so every holder of a sign-in must refresh through one `TokenStore`.
public struct SignIn: Codable, Sendable, Hashable {
    public var email: String?
    public var token: String
    public var refreshToken: String
    public var expiresAt: Date
    /// How long the server's access tokens live, when known: a server with short-lived tokens
    /// has them renewed closer to their end.
    public var lifetime: TimeInterval?

    public init(email: String?, token: String, refreshToken: String, expiresAt: Date, lifetime: TimeInterval? = nil) {
        self.email = email
        self.token = token
        self.refreshToken = refreshToken
        self.expiresAt = expiresAt
        self.lifetime = lifetime
    }

    /// Whether the access token should be renewed before it is sent: it expires within `margin`
    /// (at most a quarter of its lifetime, so that a 60 s token is not renewed on every request).
    public func expires(within margin: TimeInterval, now: Date = Date()) -> Bool {
        expiresAt.timeIntervalSince(now) < min(margin, (lifetime ?? .infinity) / 4)
    }
}

/// Where a client keeps its sign-in. `update` runs with exclusive rights to the sign-in (across
/// processes, for a store they share), so that only one of its holders uses a refresh token.
public protocol TokenStore: Sendable {
    /// The sign-in kept, if any.
    func current() async throws -> SignIn?
    /// Reads the sign-in, lets `change` replace it, and keeps what it returns, with no other
    /// `update` of the same store in between.
    func update(_ change: @Sendable (SignIn?) async throws -> SignIn) async throws -> SignIn
    /// Forgets the sign-in.
    func remove() async throws
}

/// A sign-in kept in memory, for one process.
public actor MemoryTokenStore: TokenStore {
    private var signIn: SignIn?
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(_ signIn: SignIn? = nil) {
        self.signIn = signIn
    }

    public func current() -> SignIn? { signIn }

    public func update(_ change: @Sendable (SignIn?) async throws -> SignIn) async throws -> SignIn {
        // Actors are reentrant across the await in `change`: a queue keeps updates one at a time.
        while busy { await withCheckedContinuation { waiting.append($0) } }
        busy = true
        defer {
            busy = false
            if !waiting.isEmpty { waiting.removeFirst().resume() }
        }
        let changed = try await change(signIn)
        signIn = changed
        return changed
    }

    public func remove() { signIn = nil }
}
