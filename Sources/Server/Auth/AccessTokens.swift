import Foundation
import Host
import JWTKit

/// Short-lived access tokens: HS256 JWTs that name the user (`sub`), signed with the gateway's key.
/// The user's role is not in the token: it is read from the store on each request, so a changed
/// role or a deleted user takes effect at once.
public struct AccessTokens: Sendable {
    let keys: JWTKeyCollection
    public let lifetime: TimeInterval
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
    public func verify(_ token: String) async throws -> String {
        do {
            return try await keys.verify(token, as: Claims.self).sub.value
        } catch let error as JWTError where error.errorType == .claimVerificationFailure && error.failedClaim is ExpirationClaim {
            throw APIError.unauthenticated("the access token has expired", code: "TOKEN_EXPIRED")
        } catch {
            throw APIError.unauthenticated("the access token is not valid", code: "INVALID_TOKEN")
        }
    }
}
