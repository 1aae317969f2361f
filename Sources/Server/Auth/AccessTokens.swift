import Foundation
import Host
import JWTKit
import NIOConcurrencyHelpers

/// Short-lived access tokens: HS256 JWTs that name the user (`sub`), signed with the gateway's key.
/// The user's role is not in the token: it is read from the store on each request, so a changed
/// role or a deleted user takes effect at once.
public struct AccessTokens: Sendable {
    let keys: JWTKeyCollection
    public let lifetime: TimeInterval
    /// Tokens verified before, until they expire: most requests carry a token seen a moment ago,
    /// and verifying one (the key collection is an actor, then HMAC and JSON) would otherwise
    /// serialise every request of the server on that actor.
    let verified = VerifiedTokens()
    static let issuer = "flywheel"

    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var iat: IssuedAtClaim
        var iss: IssuerClaim

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

    public func issue(userID: String, now: Date = Date()) async throws -> String {
        try await keys.sign(Claims(sub: SubjectClaim(value: userID), exp: ExpirationClaim(value: now.addingTimeInterval(lifetime)),
                                   iat: IssuedAtClaim(value: now), iss: IssuerClaim(value: Self.issuer)))
    }

    /// The user id a valid token names; throws ``APIError`` 401 `TOKEN_EXPIRED` or `INVALID_TOKEN`.
    public func verify(_ token: String, now: Date = Date()) async throws -> String {
        if let userID = verified.user(for: token, now: now) { return userID }
        do {
            let claims = try await keys.verify(token, as: Claims.self)
            verified.remember(token, userID: claims.sub.value, expires: claims.exp.value, now: now)
            return claims.sub.value
        } catch let error as JWTError where error.errorType == .claimVerificationFailure && error.failedClaim is ExpirationClaim {
            throw APIError.unauthenticated("the access token has expired", code: "TOKEN_EXPIRED")
        } catch {
            throw APIError.unauthenticated("the access token is not valid", code: "INVALID_TOKEN")
        }
    }
}

/// Access tokens already verified, with their user and expiry; bounded, and an expired one is never
/// answered from here.
final class VerifiedTokens: Sendable {
    static let capacity = 10_000
    private let entries = NIOLockedValueBox<[String: (userID: String, expires: Date)]>([:])

    func user(for token: String, now: Date) -> String? {
        entries.withLockedValue { entries in
            guard let entry = entries[token] else { return nil }
            guard entry.expires > now else {
                entries[token] = nil
                return nil
            }
            return entry.userID
        }
    }

    func remember(_ token: String, userID: String, expires: Date, now: Date) {
        entries.withLockedValue { entries in
            if entries.count >= Self.capacity {
                entries = entries.filter { $0.value.expires > now }
                // Still full of live tokens: start over rather than grow without bound.
                if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[token] = (userID, expires)
        }
    }
}
