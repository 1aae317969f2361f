import Foundation
import ProviderSignals

/// What an unsuccessful HTTP answer from a provider means for the run and for its account.
enum ProviderFailure: Sendable, Equatable {
    /// HTTP 429 for a rate limit: the account cools down until the reset, the session fails over.
    case rateLimited(retryAfterSeconds: Double, message: String)
    /// Provider-wide overload (529, `overloaded_error`): retry later with the same account.
    case overloaded(message: String)
    /// A server error (5xx) or request timeout (408): retried.
    case transient(status: Int, message: String)
    /// 401: the key is not valid; the account is marked invalid.
    case accountInvalid(message: String)
    /// Out of credit, over a spend limit, quota used up: the account is taken out of rotation.
    case accountExhausted(message: String)
    /// Anything else (400, 403, 404, 413, ...): the request itself was refused.
    case refused(status: Int, message: String)

    var retriesWithSameAccount: Bool {
        switch self {
        case .overloaded, .transient: true
        default: false
        }
    }

    /// Taking an account out of rotation needs the provider's own word for it: a documented
    /// error type or code, or (for Anthropic's out-of-credit answer, which has no type of its own)
    /// the words of its JSON error message on a client-error status. A 429 that says when to retry
    /// is a rate limit whatever its words ("exceeded your current quota" per minute, say).
    static func classify(status: Int, headers: [(String, String)], body: String, now: Date = Date()) -> ProviderFailure {
        let error = Self.errorObject(body)
        let type = (error?["type"] as? String) ?? ""
        let code = (error?["code"] as? String) ?? ""
        let said = (error?["message"] as? String) ?? ""
        let message = said.isEmpty ? "HTTP \(status): \(WireJSON.excerpt(body.isEmpty ? "(no body)" : body))"
            : "\(said) (HTTP \(status)\(type.isEmpty ? "" : ", \(type)"))"
        let limitResets = headers.contains { ProviderErrorReading.isResetHeader($0.0.lowercased()) }
        if ProviderErrorReading.isOutOfCredit(status: status, type: type, code: code, message: said, limitResets: limitResets) {
            return .accountExhausted(message: message)
        }
        switch status {
        case 401:
            return ProviderErrorReading.namesTheKey(type: type, code: code, message: said)
                ? .accountInvalid(message: message) : .refused(status: status, message: message)
        case 429: return .rateLimited(retryAfterSeconds: ProviderRateLimit.retryAfter(headers, now: now), message: message)
        case 529: return .overloaded(message: message)
        case 408, 500...599: return type == "overloaded_error" ? .overloaded(message: message) : .transient(status: status, message: message)
        default: return type == "overloaded_error" ? .overloaded(message: message) : .refused(status: status, message: message)
        }
    }

    /// `{"error": {...}}` (both formats; Anthropic adds `"type": "error"` beside it).
    private static func errorObject(_ body: String) -> [String: Any]? {
        WireJSON.object(body)?["error"] as? [String: Any]
    }
}
