import Foundation

/// When a rate-limited account may be used again, from what the provider said.
public enum RateLimitSignal {
    /// From a driver's `rate_limited` event: seconds to wait, or an RFC 3339 reset time. Without
    /// either, a minute.
    public static func cooldownEnd(retryAfterSeconds: Double?, resetAt: String?, now: Date) -> Date {
        if let seconds = retryAfterSeconds, seconds.isFinite, seconds >= 0 { return now.addingTimeInterval(seconds) }
        if let resetAt, let date = parseRFC3339(resetAt) { return max(date, now) }
        return now.addingTimeInterval(60)
    }

    /// From HTTP response headers (names case-insensitive): `retry-after` (seconds or an HTTP date),
    /// Anthropic's `anthropic-ratelimit-*-reset` (RFC 3339), OpenAI's `x-ratelimit-reset-requests` /
    /// `-tokens` (durations such as `6m0s`, `1s`, `20ms`). The latest time named wins.
    public static func cooldownEnd(headers: [String: String], now: Date) -> Date? {
        var candidates: [Date] = []
        for (rawName, value) in headers {
            let name = rawName.lowercased()
            if name == "retry-after" {
                if let seconds = Double(value.trimmingCharacters(in: .whitespaces)) {
                    candidates.append(now.addingTimeInterval(seconds))
                } else if let date = parseHTTPDate(value) {
                    candidates.append(date)
                }
            } else if name.hasPrefix("anthropic-ratelimit-"), name.hasSuffix("-reset"), let date = parseRFC3339(value) {
                candidates.append(date)
            } else if name.hasPrefix("x-ratelimit-reset"), let seconds = parseDuration(value) {
                candidates.append(now.addingTimeInterval(seconds))
            }
        }
        return candidates.max()
    }

    static func parseRFC3339(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    static func parseHTTPDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text.trimmingCharacters(in: .whitespaces))
    }

    /// `1h2m3.5s`, `6m0s`, `20ms`, `1s`: Go-style durations as OpenAI sends them.
    static func parseDuration(_ text: String) -> Double? {
        var total = 0.0
        var number = ""
        var index = text.startIndex
        var sawUnit = false
        while index < text.endIndex {
            let character = text[index]
            if character.isNumber || character == "." {
                number.append(character)
                index = text.index(after: index)
                continue
            }
            guard let value = Double(number) else { return nil }
            let rest = text[index...]
            let (unit, length): (Double, Int) =
                rest.hasPrefix("ms") ? (0.001, 2) : rest.hasPrefix("h") ? (3600, 1) : rest.hasPrefix("m") ? (60, 1) : rest.hasPrefix("s") ? (1, 1) : (0, 0)
            guard length > 0 else { return nil }
            total += value * unit
            number = ""
            sawUnit = true
            index = text.index(index, offsetBy: length)
        }
        if !number.isEmpty { return nil }
        return sawUnit ? total : nil
    }
}
