import Hummingbird
import HTTPTypes

/// Applies a ``RateLimiter`` to every request it sees, keyed by the client's address or by who
/// the request acts for. Refused requests get 429 `RATE_LIMITED` with `Retry-After`; answers carry
/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` of the innermost limit that
/// applies (the sign-in limit on `/auth`, the per-user limit under `/api`).
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    enum Key: Sendable {
        /// The connection's peer address.
        case client
        /// The signed-in user (behind the authenticator).
        case identity
    }

    let limiter: RateLimiter
    let key: Key
    /// Names the bucket family in the key, so two limiters never share buckets.
    let scope: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let subject: String
        switch key {
        case .client: subject = context.clientAddress ?? "unknown"
        case .identity: subject = context.identity.map { $0.credentialID ?? $0.userID } ?? context.clientAddress ?? "unknown"
        }
        let verdict = limiter.take("\(scope):\(subject)")
        guard verdict.allowed else {
            var error = APIError(.tooManyRequests, "RATE_LIMITED", "too many requests; try again in \(verdict.reset) s",
                                 hint: "Requests are limited per client and per user; see docs/api.md")
            error.headers = Self.headers(verdict) + [(.retryAfter, String(verdict.reset))]
            throw error
        }
        do {
            var response = try await next(request, context)
            if response.headers[.rateLimitLimit] == nil {
                for (name, value) in Self.headers(verdict) { response.headers[name] = value }
            }
            return response
        } catch {
            var answer = APIError(error)
            // A 500 keeps its original error, for the log; it needs no limit headers.
            guard answer.status != .internalServerError else { throw error }
            if !answer.headers.contains(where: { $0.0 == .rateLimitLimit }) { answer.headers += Self.headers(verdict) }
            throw answer
        }
    }

    static func headers(_ verdict: RateLimiter.Verdict) -> [(HTTPField.Name, String)] {
        [(.rateLimitLimit, String(verdict.limit)), (.rateLimitRemaining, String(verdict.remaining)), (.rateLimitReset, String(verdict.reset))]
    }
}

extension HTTPField.Name {
    static let rateLimitLimit = HTTPField.Name("RateLimit-Limit")!
    static let rateLimitRemaining = HTTPField.Name("RateLimit-Remaining")!
    static let rateLimitReset = HTTPField.Name("RateLimit-Reset")!
}
