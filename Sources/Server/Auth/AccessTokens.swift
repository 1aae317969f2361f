import Foundation
import Host
import JWTKit
import NIOConcurrencyHelpers

/// Short-lived access tokens: HS256 JWTs that name the user (`sub`) and the sign-in they belong to
/// (`sid`, the refresh-token family), signed with the gateway's key. The user's role is not in the
/// token: it is read from the store on each request, so a changed role or a deleted user takes
/// effect at once. A sign-in that ends (logout, or a refresh token used twice) ends its access
/// tokens at once too.
public struct AccessTokens: Sendable {
    let keys: JWTKeyCollection
    public let lifetime: TimeInterval
    /// Tokens verified before, until they expire: most requests carry a token seen a moment ago,
    /// and verifying one (the key collection is an actor, then HMAC and JSON) would otherwise
    /// serialise every request of the server on that actor.
    let verified = VerifiedTokens()
    /// Sign-ins ended while their access tokens could still be alive.
    let ended = EndedSignIns()
    static let issuer = "flywheel"

    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var iat: IssuedAtClaim
        var iss: IssuerClaim
        /// The sign-in (refresh-token family); absent in tokens that belong to none.
        var sid: String?

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
            guard iss.value == AccessTokens.issuer else { throw JWTError.claimVerificationFailure(failedClaim: iss, reason: "not issued here") }
        }
    }

    public init(key: SigningKey, lifetime: TimeInterval) async {
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: key.bytes), digestAlgorithm: .sha256)
        self.lifetime = lifetime
    }

    public func issue(userID: String, signIn: String? = nil, now: Date = Date()) async throws -> String {
        try await keys.sign(Claims(sub: SubjectClaim(value: userID), exp: ExpirationClaim(value: now.addingTimeInterval(lifetime)),
                                   iat: IssuedAtClaim(value: now), iss: IssuerClaim(value: Self.issuer), sid: signIn))
    }

    /// Ends a sign-in's access tokens: from now on each is refused with `TOKEN_REVOKED`.
    public func endSignIn(_ signIn: String, now: Date = Date()) {
        ended.add(signIn, until: now.addingTimeInterval(lifetime), now: now)
        verified.forget(signIn: signIn)
    }

    /// Drops what is remembered of a user's tokens, so each is checked against the store again on
    /// its next use: after a password change has ended all of the user's sign-ins.
    public func recheck(userID: String) {
        verified.forget(userID: userID)
    }

    /// The user id a valid token names; throws ``APIError`` 401 `TOKEN_EXPIRED`, `TOKEN_REVOKED` or
    /// `INVALID_TOKEN`. `hasEnded` asks the store whether a sign-in has ended (once per token: the
    /// answer is kept with the verified token, and ``endSignIn(_:now:)`` overrides it at once).
    public func verify(_ token: String, now: Date = Date(),
                       hasEnded: @Sendable (String) async throws -> Bool = { _ in false }) async throws -> String {
        try await verifySignIn(token, now: now, hasEnded: hasEnded).userID
    }

    /// ``verify(_:now:hasEnded:)``, with the sign-in the token belongs to (nil for tokens of none).
    public func verifySignIn(_ token: String, now: Date = Date(),
                             hasEnded: @Sendable (String) async throws -> Bool = { _ in false }) async throws -> (userID: String, signIn: String?) {
        if let entry = verified.entry(for: token, now: now) {
            if let signIn = entry.signIn, ended.contains(signIn, now: now) { throw Self.revoked }
            return (entry.userID, entry.signIn)
        }
        let claims: Claims
        do {
            claims = try await keys.verify(token, as: Claims.self)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure && error.failedClaim is ExpirationClaim {
            throw APIError.unauthenticated("the access token has expired", code: "TOKEN_EXPIRED")
        } catch {
            throw APIError.unauthenticated("the access token is not valid", code: "INVALID_TOKEN")
        }
        // Taken before the store is asked: an answer older than a later recheck is not kept.
        let checkedAt = Date()
        if let signIn = claims.sid {
            if ended.contains(signIn, now: now) { throw Self.revoked }
            if try await hasEnded(signIn) {
                ended.add(signIn, until: claims.exp.value, now: now)
                throw Self.revoked
            }
        }
        verified.remember(token, userID: claims.sub.value, signIn: claims.sid, expires: claims.exp.value, now: now, checkedAt: checkedAt)
        return (claims.sub.value, claims.sid)
    }

    static let revoked = APIError.unauthenticated("the access token's sign-in has ended (signed out); sign in again", code: "TOKEN_REVOKED")

    /// Whether a sign-in ended in this process (sign-out, reuse of a refresh token) while its
    /// access tokens could still be alive.
    public func hasEnded(signIn: String, now: Date = Date()) -> Bool {
        ended.contains(signIn, now: now)
    }
}

/// Sign-ins that ended, each kept until no access token of it can still be valid; bounded by the
/// sign-outs of one token lifetime.
final class EndedSignIns: Sendable {
    private let entries = NIOLockedValueBox<[String: Date]>([:])

    func add(_ signIn: String, until: Date, now: Date) {
        entries.withLockedValue { entries in
            if entries.count >= 1_024 { entries = entries.filter { $0.value > now } }
            entries[signIn] = max(entries[signIn] ?? until, until)
        }
    }

    func contains(_ signIn: String, now: Date) -> Bool {
        entries.withLockedValue { entries in
            guard let until = entries[signIn] else { return false }
            return until > now
        }
    }
}

/// Access tokens already verified, with their user and expiry; bounded, and an expired one is never
/// answered from here.
final class VerifiedTokens: Sendable {
    static let capacity = 10_000
    struct Entry {
        var userID: String
        var signIn: String?
        var expires: Date
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// When each user's tokens were last dropped for a recheck: a store answer from before then
        /// is not remembered (it may predate the change that asked for the recheck).
        var rechecked: [String: Date] = [:]
    }

    private let state = NIOLockedValueBox(State())

    func entry(for token: String, now: Date) -> Entry? {
        state.withLockedValue { state in
            guard let entry = state.entries[token] else { return nil }
            guard entry.expires > now else {
                state.entries[token] = nil
                return nil
            }
            return entry
        }
    }

    func forget(signIn: String) {
        state.withLockedValue { state in state.entries = state.entries.filter { $0.value.signIn != signIn } }
    }

    func forget(userID: String, at time: Date = Date()) {
        state.withLockedValue { state in
            state.entries = state.entries.filter { $0.value.userID != userID }
            if state.rechecked.count >= 1_024 { state.rechecked = state.rechecked.filter { time.timeIntervalSince($0.value) < 3_600 } }
            state.rechecked[userID] = time
        }
    }

    func remember(_ token: String, userID: String, signIn: String?, expires: Date, now: Date, checkedAt: Date = .distantFuture) {
        state.withLockedValue { state in
            if let rechecked = state.rechecked[userID], checkedAt <= rechecked { return }
            if state.entries.count >= Self.capacity {
                state.entries = state.entries.filter { $0.value.expires > now }
                // Still full of live tokens: start over rather than grow without bound.
                if state.entries.count >= Self.capacity { state.entries.removeAll(keepingCapacity: true) }
            }
            state.entries[token] = Entry(userID: userID, signIn: signIn, expires: expires)
        }
    }
}
