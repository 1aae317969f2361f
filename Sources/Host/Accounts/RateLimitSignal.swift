import Foundation
import ProviderSignals

/// When a rate-limited account may be used again, from what the provider said.
public enum RateLimitSignal {
    /// From a driver's `rate_limited` event: seconds to wait, or an RFC 3339 reset time. Without
    /// either, a minute.
    public static func cooldownEnd(retryAfterSeconds: Double?, resetAt: String?, now: Date) -> Date {
        if let seconds = retryAfterSeconds, seconds.isFinite, seconds >= 0 { return now.addingTimeInterval(seconds) }
        if let resetAt, let date = ProviderRateLimit.rfc3339(resetAt) { return max(date, now) }
        return now.addingTimeInterval(60)
    }
}
