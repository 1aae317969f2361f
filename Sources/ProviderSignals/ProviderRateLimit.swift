import Foundation

/// When a provider's rate limit resets, from the headers of its 429: shared by the SDK driver's
/// runs and the host's key check.
public enum ProviderRateLimit {
    /// Seconds until the limit that was hit resets. `retry-after` (seconds or an HTTP date) says it
    /// outright; otherwise the latest reset among the limits that are used up: Anthropic's
    /// `anthropic-ratelimit-*-reset` (RFC 3339 times) and OpenAI's `x-ratelimit-reset-*` (durations
    /// such as `6m0s` or `20ms`). Without any, one minute. Always from 1 second to a day.
    public static func retryAfter(_ headers: [(String, String)], now: Date = Date()) -> Double {
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
    public static func duration(_ text: String) -> Double? {
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

    public static func rfc3339(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    public static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
