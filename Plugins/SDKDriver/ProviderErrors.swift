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
        case 429: return .rateLimited(retryAfterSeconds: retryAfter(headers, now: now), message: message)
        case 529: return .overloaded(message: message)
        case 408, 500...599: return type == "overloaded_error" ? .overloaded(message: message) : .transient(status: status, message: message)
        default: return type == "overloaded_error" ? .overloaded(message: message) : .refused(status: status, message: message)
        }
    }

    /// `{"error": {...}}` (both formats; Anthropic adds `"type": "error"` beside it).
    private static func errorObject(_ body: String) -> [String: Any]? {
        WireJSON.object(body)?["error"] as? [String: Any]
    }

    /// Seconds until the limit that was hit resets. `retry-after` (seconds or an HTTP date) says it
    /// outright; otherwise the latest reset among the limits that are used up: Anthropic's
    /// `anthropic-ratelimit-*-reset` (RFC 3339 times) and OpenAI's `x-ratelimit-reset-*` (durations
    /// such as `6m0s` or `20ms`). Without any, one minute. Always from 1 second to a day.
    static func retryAfter(_ headers: [(String, String)], now: Date = Date()) -> Double {
        let seconds = statedRetryAfter(headers, now: now)
        return seconds.isFinite ? min(max(seconds, 1), 86_400) : 60
    }

    private static func statedRetryAfter(_ headers: [(String, String)], now: Date) -> Double {
        var fields: [String: String] = [:]
        for (name, value) in headers { fields[name.lowercased()] = value.trimmingCharacters(in: .whitespaces) }
        if let milliseconds = fields["retry-after-ms"].flatMap(Double.init), milliseconds >= 0 { return milliseconds / 1000 }
        if let value = fields["retry-after"] {
            if let seconds = Double(value), seconds >= 0 { return seconds }
            if let date = httpDate(value) { return max(0, date.timeIntervalSince(now)) }
        }
        var exhausted: [Double] = []
        var any: [Double] = []
        for (name, value) in fields {
            var seconds: Double?
            var remainingName: String?
            if name.hasPrefix("anthropic-ratelimit-"), name.hasSuffix("-reset") {
                seconds = rfc3339(value).map { max(0, $0.timeIntervalSince(now)) }
                remainingName = String(name.dropLast("-reset".count)) + "-remaining"
            } else if name.hasPrefix("x-ratelimit-reset-") {
                seconds = duration(value)
                remainingName = "x-ratelimit-remaining-" + name.dropFirst("x-ratelimit-reset-".count)
            }
            guard let seconds else { continue }
            any.append(seconds)
            if let remainingName, fields[remainingName] == "0" { exhausted.append(seconds) }
        }
        return (exhausted.isEmpty ? any : exhausted).max() ?? 60
    }

    /// A Go-style duration: `1h2m3.5s`, `6m0s`, `20ms`, `1.5s`.
    static func duration(_ text: String) -> Double? {
        var total = 0.0
        var number = ""
        var rest = Substring(text)
        var sawUnit = false
        while let character = rest.first {
            if character.isNumber || character == "." {
                number.append(character)
                rest = rest.dropFirst()
                continue
            }
            guard let value = Double(number) else { return nil }
            let unit: Double
            if rest.hasPrefix("ms") { unit = 0.001; rest = rest.dropFirst(2) }
            else if rest.hasPrefix("h") { unit = 3600; rest = rest.dropFirst() }
            else if rest.hasPrefix("m") { unit = 60; rest = rest.dropFirst() }
            else if rest.hasPrefix("s") { unit = 1; rest = rest.dropFirst() }
            else { return nil }
            total += value * unit
            number = ""
            sawUnit = true
        }
        if !number.isEmpty { return sawUnit ? nil : Double(number) }
        return sawUnit ? total : nil
    }

    static func rfc3339(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
