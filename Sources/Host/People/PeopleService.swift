import Crypto
import Foundation
import Logging

/// People who sign in to the HTTP API: users with bcrypt-hashed passwords, and the rotating refresh
/// tokens of their sign-ins. Only hashes of passwords and tokens are stored.
///
/// A refresh token is used up when it is exchanged; its successor belongs to the same family (the
/// sign-in). A used token that comes back means two parties hold tokens of that sign-in, so the
/// whole family is revoked and both must sign in again, with one exception: within
/// `refreshReuseGrace` of its use, while its successor is still unused, the answer to the exchange
/// is taken to be lost (a reload cut it off) and the token is exchanged again, the unused successor
/// counting as used from then on. Should the lost answer turn up after all, its token is refused as
/// reuse and the sign-in ends, as it would have without the grace.
public struct PeopleService: Sendable {
    let store: any PeopleStore
    let hasher: PasswordHasher
    public let refreshLifetime: TimeInterval
    /// See the type's description; 0 turns the grace off.
    public let refreshReuseGrace: TimeInterval
    /// Users as every authenticated request reads them; see ``user(id:)``.
    let recentUsers = RecentUsers()

    let logger: Logger

    init(store: any PeopleStore, settings: ServerSettings, logger: Logger) {
        self.store = store
        self.logger = logger
        hasher = PasswordHasher(cost: UInt8(clamping: settings.passwordCost))
        refreshLifetime = settings.refreshTokenSeconds
        refreshReuseGrace = settings.refreshReuseGraceSeconds
    }

    /// How long a password may be, in characters (Unicode scalars).
    public static let passwordLength = 8...1024

    /// A refresh token as the client holds it, with the record stored for it.
    public struct IssuedRefreshToken: Sendable {
        public var token: String
        public var record: RefreshTokenRecord
    }

    // MARK: Users

    public func createUser(email: String, password: String, role: UserRecord.Role) async throws -> UserRecord {
        let email = try Self.validEmail(email)
        try Self.checkPassword(password)
        if try await store.user(email: email) != nil { throw EmailTaken(email: email) }
        let hash = await hasher.hash(password)
        do {
            return try await store.createUser(UserRecord(email: email, passwordHash: hash, role: role))
        } catch let error as StoreError where error.kind == .conflict {
            throw EmailTaken(email: email)
        }
    }

    public func users() async throws -> [UserRecord] {
        try await store.users()
    }

    /// Changes a user's role and/or password. A new password signs the user out everywhere (every
    /// refresh token revoked). Refused with ``LastAdmin`` when no admin would be left.
    public func changeUser(id: String, role: UserRecord.Role? = nil, password: String? = nil) async throws -> UserRecord {
        // From the store, not what was read recently: the role kept must be the one stored.
        guard let existing = try await store.user(id: id) else { throw UserNotFound(userID: id) }
        if let password { try Self.checkPassword(password) }
        let hash: String? = if let password { await hasher.hash(password) } else { nil }
        do {
            guard try await store.updateUser(id: id, role: role ?? existing.role, passwordHash: hash) else { throw LastAdmin(userID: id) }
        } catch let error as StoreError where error.kind == .notFound {
            throw UserNotFound(userID: id)
        }
        recentUsers.forget(id)
        if hash != nil { try await store.revokeRefreshTokens(userID: id, at: Date()) }
        return try await user(id: id)
    }

    /// Removes a user, their API keys and sign-ins. Refused with ``LastAdmin`` for the last admin.
    public func deleteUser(id: String) async throws {
        do {
            guard try await store.deleteUser(id: id) else { throw LastAdmin(userID: id) }
        } catch let error as StoreError where error.kind == .notFound {
            throw UserNotFound(userID: id)
        }
        recentUsers.forget(id)
    }

    /// The user as stored. Every authenticated request asks, so an answer is remembered for
    /// ``RecentUsers/lifetime``: a change or removal made through this service is seen at once, one
    /// made by another process within that time.
    public func user(id: String) async throws -> UserRecord {
        if let user = recentUsers.user(id) { return user }
        let generation = recentUsers.generation
        guard let user = try await store.user(id: id) else { throw UserNotFound(userID: id) }
        recentUsers.remember(user, readAt: generation)
        return user
    }

    /// The user these credentials belong to. An unknown email costs as much as a wrong password,
    /// so the answer's timing does not tell which emails exist.
    public func authenticate(email: String, password: String) async throws -> UserRecord {
        let user = try await store.user(email: email.trimmingCharacters(in: .whitespaces))
        let matches = await hasher.verify(password, hash: user?.passwordHash ?? unknownUserHash)
        guard let user, matches else { throw InvalidCredentials() }
        return user
    }

    /// A well-formed hash at the configured cost that no password is expected to match (its salt
    /// and digest are fixed), verified against when the email is unknown.
    var unknownUserHash: String {
        let cost = hasher.cost < 10 ? "0\(hasher.cost)" : "\(hasher.cost)"
        return "$2b$\(cost)$C6UzMDM.H6dfI/f/IKxGhuJcJ0S/dwFJ9bTn2NdPq1vQJ1Fz8u7K."
    }

    /// With no users yet, creates the first admin: from `email` and `password` when given, else
    /// with the email `admin@localhost` and a generated password, returned so it can be shown once.
    /// Nil when users exist.
    public func bootstrapAdmin(email: String?, password: String?) async throws -> (user: UserRecord, generatedPassword: String?)? {
        guard try await store.users().isEmpty else { return nil }
        let generated = password == nil ? Self.randomToken(bytes: 18) : nil
        do {
            let user = try await createUser(email: email ?? "admin@localhost", password: password ?? generated!, role: .admin)
            return (user, generated)
        } catch is EmailTaken {
            return nil
        }
    }

    // MARK: Refresh tokens

    /// The first token of a new sign-in.
    public func issueRefreshToken(userID: String) async throws -> IssuedRefreshToken {
        let (token, record) = makeRefreshToken(userID: userID, familyID: nil)
        return IssuedRefreshToken(token: token, record: try await store.createRefreshToken(record))
    }

    /// Exchanges a refresh token for its successor, returning the user it signs in.
    public func rotate(refreshToken token: String, now: Date = Date()) async throws -> (user: UserRecord, next: IssuedRefreshToken) {
        let digest = Self.digest(token)
        guard let record = try await store.refreshToken(hash: digest) else { throw RefreshTokenRejected(reason: .unknown) }
        if record.revokedAt != nil { throw RefreshTokenRejected(reason: .revoked) }
        if record.usedAt != nil { return try await exchangeAgain(record, now: now) }
        guard record.expiresAt > now else { throw RefreshTokenRejected(reason: .expired) }
        guard let user = try await store.user(id: record.userID) else { throw RefreshTokenRejected(reason: .unknown) }
        let (nextToken, nextRecord) = makeRefreshToken(userID: user.id, familyID: record.familyID)
        // Compare-and-set: of two exchanges of one token, one wins; the other is judged as a token
        // presented again, by what the winner stored.
        guard try await store.rotateRefreshToken(oldID: record.id, next: nextRecord, at: now) else {
            guard let current = try await store.refreshToken(hash: digest) else { throw RefreshTokenRejected(reason: .unknown) }
            if current.revokedAt != nil { throw RefreshTokenRejected(reason: .revoked) }
            return try await exchangeAgain(current, now: now)
        }
        return (user, IssuedRefreshToken(token: nextToken, record: nextRecord))
    }

    /// A used token presented again: exchanged once more within the grace, counted from its one
    /// use, while the token replacing it is unused (the answer was lost); otherwise reuse, which
    /// ends the sign-in. Several at once all succeed, one after another, each replacing the last.
    private func exchangeAgain(_ record: RefreshTokenRecord, now: Date) async throws -> (user: UserRecord, next: IssuedRefreshToken) {
        // A second of slack before the use: two processes' clocks, or the store's rounding.
        if refreshReuseGrace > 0, let usedAt = record.usedAt, record.replacedBy != nil,
           (-1...refreshReuseGrace).contains(now.timeIntervalSince(usedAt)) {
            guard let user = try await store.user(id: record.userID) else { throw RefreshTokenRejected(reason: .unknown) }
            let (nextToken, nextRecord) = makeRefreshToken(userID: user.id, familyID: record.familyID)
            if try await store.replaceUnusedSuccessor(oldID: record.id, next: nextRecord, at: now) {
                logger.notice("refresh token exchanged again within the grace: its answer is taken to be lost",
                               metadata: ["sign_in": .string(record.familyID), "user": .string(user.id)])
                return (user, IssuedRefreshToken(token: nextToken, record: nextRecord))
            }
        }
        throw try await reuse(of: record, now: now)
    }

    /// How long a refresh token is kept after it expired or its sign-in ended. Longer than any
    /// access token lives (a day at most): an ended sign-in's revoked tokens are what refuse its
    /// access tokens in a process that did not see it end.
    public static let endedTokenKeep: TimeInterval = 2 * 86_400

    /// Deletes the refresh tokens of sign-ins that ended, or whose every token expired, more than
    /// ``endedTokenKeep`` ago, in batches of `batch` sign-ins; returns how many tokens. Each page
    /// load of the dashboard makes one, so without this the table only grows. A live sign-in keeps
    /// all its tokens: a used one that comes back still ends it. A deleted token presented later is
    /// unknown (`INVALID_REFRESH_TOKEN`), as an expired or revoked one is.
    @discardableResult
    public func pruneRefreshTokens(now: Date = Date(), batch: Int = 100) async throws -> Int {
        let cutoff = now.addingTimeInterval(-Self.endedTokenKeep)
        var total = 0
        while !Task.isCancelled {
            let deleted = try await store.deleteRefreshTokenFamilies(expiredBefore: cutoff, revokedBefore: cutoff, limit: batch)
            total += deleted
            if deleted == 0 { break }
        }
        return total
    }

    /// Signs out the sign-in this refresh token belongs to: every token of its family is revoked.
    /// An unknown token is an error; one already revoked is not. Returns the sign-in (family) id.
    @discardableResult
    public func signOut(refreshToken token: String, now: Date = Date()) async throws -> String {
        guard let record = try await store.refreshToken(hash: Self.digest(token)) else { throw RefreshTokenRejected(reason: .unknown) }
        try await store.revokeRefreshTokens(familyID: record.familyID, at: now)
        return record.familyID
    }

    /// Whether a sign-in (a refresh-token family) has ended: signed out, or revoked after a reuse.
    public func signInHasEnded(_ familyID: String) async throws -> Bool {
        try await store.refreshTokenFamilyRevoked(familyID: familyID)
    }

    /// Why a user, or the API key they came with, checked earlier no longer holds, or nil while both
    /// do: for connections that outlive the request that authenticated them (the WebSocket). A
    /// sign-in is checked with ``signInHasEnded(_:)``.
    public func credentialProblem(userID: String, apiKeyID: String?, now: Date = Date()) async throws -> String? {
        do {
            _ = try await user(id: userID)
        } catch is UserNotFound {
            return "the user no longer exists"
        }
        if let apiKeyID {
            guard let key = try await store.apiKey(id: apiKeyID), key.revokedAt == nil else { return "the API key was revoked" }
            if let expiry = key.expiresAt, expiry <= now { return "the API key has expired" }
        }
        return nil
    }

    private func reuse(of record: RefreshTokenRecord, now: Date) async throws -> RefreshTokenRejected {
        try await store.revokeRefreshTokens(familyID: record.familyID, at: now)
        return RefreshTokenRejected(reason: .reused, signIn: record.familyID)
    }

    private func makeRefreshToken(userID: String, familyID: String?) -> (String, RefreshTokenRecord) {
        let token = "fwr_" + Self.randomToken(bytes: 32)
        let record = RefreshTokenRecord(userID: userID, tokenHash: Self.digest(token), familyID: familyID,
                                        expiresAt: Date().addingTimeInterval(refreshLifetime))
        return (token, record)
    }

    // MARK: API keys

    /// A new API key as its owner sees it once (`key`); only its hash is stored.
    public struct IssuedAPIKey: Sendable {
        public var key: String
        public var record: APIKeyRecord
    }

    /// An API key lives at most this long (ten years); a key without an expiry lives until revoked.
    public static let maxAPIKeyLifetime: TimeInterval = 3650 * 86_400

    /// API keys start with this, so a bearer credential tells what it is (and scanners find leaks).
    public static let apiKeyPrefix = "fwk_"

    public func createAPIKey(userID: String, name: String, lifetime: TimeInterval?) async throws -> IssuedAPIKey {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard (1...100).contains(name.count) else { throw InvalidRequest(field: "name", reason: "must be 1-100 characters") }
        if let lifetime, !(lifetime > 0 && lifetime <= Self.maxAPIKeyLifetime) {
            throw InvalidRequest(field: "expiresInDays", reason: "must be more than 0 and at most 3650 (ten years)")
        }
        _ = try await user(id: userID)
        let key = Self.apiKeyPrefix + Self.randomToken(bytes: 32)
        let record = APIKeyRecord(userID: userID, name: name, keyHash: Self.digest(key), prefix: String(key.prefix(12)),
                                  expiresAt: lifetime.map { Date().addingTimeInterval($0) })
        return IssuedAPIKey(key: key, record: try await store.createAPIKey(record))
    }

    public func apiKeys(userID: String) async throws -> [APIKeyRecord] {
        try await store.apiKeys(userID: userID)
    }

    /// Revokes one of `userID`'s keys (any user's, for an admin): it stops working at once.
    public func revokeAPIKey(id: String, userID: String, asAdmin: Bool) async throws -> APIKeyRecord {
        guard let key = try await store.apiKey(id: id), asAdmin || key.userID == userID else { throw APIKeyNotFound(keyID: id) }
        _ = try await store.revokeAPIKey(id: id, at: Date())
        return try await store.apiKey(id: id) ?? key
    }

    /// The user an API key acts for, and the key. Its last use is recorded at most once a minute.
    public func authenticate(apiKey key: String, now: Date = Date()) async throws -> (user: UserRecord, key: APIKeyRecord) {
        guard let record = try await store.apiKey(hash: Self.digest(key)) else { throw APIKeyRejected(reason: .unknown) }
        if record.revokedAt != nil { throw APIKeyRejected(reason: .revoked) }
        if let expiry = record.expiresAt, expiry <= now { throw APIKeyRejected(reason: .expired) }
        guard let user = try await store.user(id: record.userID) else { throw APIKeyRejected(reason: .unknown) }
        if record.lastUsedAt.map({ now.timeIntervalSince($0) >= 60 }) ?? true {
            try await store.touchAPIKey(id: record.id, at: now)
        }
        return (user, record)
    }

    // MARK: Helpers

    /// SHA-256, hex: tokens are random and long, so a fast hash is enough to keep them unusable if
    /// the database leaks.
    public static func digest(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String($0, radix: 16).leftPaddedHex }.joined()
    }

    /// `bytes` random bytes, base64url without padding.
    public static func randomToken(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func checkPassword(_ password: String) throws {
        guard passwordLength.contains(password.unicodeScalars.count) else {
            throw InvalidRequest(field: "password", reason: "must be \(passwordLength.lowerBound)-\(passwordLength.upperBound) characters")
        }
    }

    static func validEmail(_ email: String) throws -> String {
        let trimmed = email.trimmingCharacters(in: .whitespaces)
        // Split on code points, as the schema's pattern reads them: as characters, "@" followed by a
        // combining mark or an emoji modifier would be one character and no "@" at all.
        let parts = trimmed.unicodeScalars.split(separator: "@", omittingEmptySubsequences: false)
        // No whitespace and no control character (C0, DEL, C1): the API's schema says the same.
        guard trimmed.unicodeScalars.count <= 254, parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
              !trimmed.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control }) else {
            throw InvalidRequest(field: "email", reason: "must be an address like name@example.com")
        }
        return trimmed
    }
}

extension String {
    fileprivate var leftPaddedHex: String { count == 1 ? "0" + self : self }
}

/// Users read recently, for at most ``lifetime``. A change made here makes every user be read
/// again; a read that started before a change is never remembered after it (its generation is
/// stale), so an old role cannot come back.
final class RecentUsers: Sendable {
    static let lifetime: TimeInterval = 2
    static let capacity = 10_000

    private struct State {
        var users: [String: (user: UserRecord, until: Date)] = [:]
        var generation = 0
    }

    private let state = Locked(State())

    var generation: Int { state.withLock { $0.generation } }

    func user(_ id: String, now: Date = Date()) -> UserRecord? {
        state.withLock { state in
            guard let entry = state.users[id], entry.until > now else { return nil }
            return entry.user
        }
    }

    func remember(_ user: UserRecord, readAt generation: Int, now: Date = Date()) {
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.users.count >= Self.capacity { state.users.removeAll(keepingCapacity: true) }
            state.users[user.id] = (user, now.addingTimeInterval(Self.lifetime))
        }
    }

    func forget(_ id: String) {
        state.withLock { state in
            state.users[id] = nil
            state.generation += 1
        }
    }
}
