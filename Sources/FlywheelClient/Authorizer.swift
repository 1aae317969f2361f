import Foundation

/// The bearer a client sends, and the one renewal of an expiring sign-in that all its requests wait
/// for: requests that find the token expiring at the same moment never each spend the refresh
/// token (the second would look like a stolen token to the server and end the sign-in).
actor Authorizer {
    nonisolated let credentials: FlywheelClient.Credentials
    /// The sign-in last read from or written to the store.
    private var cached: SignIn?
    private var renewal: (id: Int, task: Task<SignIn, any Error>)?
    private var renewals = 0

    /// An access token this close to expiry is renewed before it is sent.
    static let margin: TimeInterval = 30

    init(credentials: FlywheelClient.Credentials) {
        self.credentials = credentials
    }

    /// What goes after `Bearer`, renewed first if it expires within `margin`; nil without credentials.
    func bearer(using client: FlywheelClient) async throws -> String? {
        switch credentials {
        case .none: return nil
        case .bearer(let token): return token
        case .signIn(let store):
            if let cached, !cached.expires(within: Self.margin) { return cached.token }
            // Another process sharing the store may have renewed it meanwhile.
            guard let current = try await store.current() else { throw Self.notSignedIn(client) }
            if !current.expires(within: Self.margin) {
                cached = current
                return current.token
            }
            return try await renew(rejected: current.token, store: store, client: client).token
        }
    }

    /// A fresh token after the server refused `rejected` as expired; nil when the credentials cannot
    /// be renewed (a plain bearer).
    func renew(rejected: String, using client: FlywheelClient) async throws -> String? {
        guard case .signIn(let store) = credentials else { return nil }
        if let cached, cached.token != rejected, !cached.expires(within: Self.margin) { return cached.token }
        return try await renew(rejected: rejected, store: store, client: client).token
    }

    /// Keeps a new sign-in (after a password sign-in).
    func replace(with signIn: SignIn, in store: any TokenStore) async throws -> SignIn {
        let kept = try await store.update { _ in signIn }
        cached = kept
        return kept
    }

    func forget() { cached = nil }

    func treatAsExpired() { cached?.expiresAt = .distantPast }

    /// One renewal at a time in this process; the store's update makes it one at a time across the
    /// processes that share it, and a holder that finds the sign-in renewed by another takes that.
    private func renew(rejected: String, store: any TokenStore, client: FlywheelClient) async throws -> SignIn {
        if let renewal { return try await renewal.task.value }
        renewals += 1
        let id = renewals
        let task = Task<SignIn, any Error> {
            try await store.update { current in
                guard let current else { throw Self.notSignedIn(client) }
                if current.token != rejected, !current.expires(within: Self.margin) { return current }
                do {
                    let pair: TokenPair = try await client.request(.POST, "/auth/refresh", body: ["refreshToken": current.refreshToken],
                                                                   authenticated: false)
                    return pair.signIn(email: current.email)
                } catch var error as FlywheelAPIError where error.status == 401 {
                    error.hint = "The sign-in ended; sign in again (flywheel login --server \(client.server))"
                    throw error
                }
            }
        }
        renewal = (id, task)
        defer { if renewal?.id == id { renewal = nil } }
        let renewed = try await task.value
        cached = renewed
        return renewed
    }

    private static func notSignedIn(_ client: FlywheelClient) -> FlywheelClientError {
        FlywheelClientError(.notSignedIn, "not signed in to \(client.server): run `flywheel login --server \(client.server)`")
    }
}
