import Foundation
import NIOConcurrencyHelpers

/// Token buckets by key (a client address, a user, an API key): each holds up to `burst` tokens
/// and gains `perSecond` of them a second; a request takes one.
final class RateLimiter: Sendable {
    struct Rule: Sendable, Equatable {
        var perSecond: Double
        var burst: Double
    }

    /// The answer for one request.
    struct Verdict: Sendable {
        var allowed: Bool
        var limit: Int
        var remaining: Int
        /// Seconds until a token is there again (when refused), or until the bucket is full.
        var reset: Int
    }

    let rule: Rule
    /// Keys tracked at most; past it, buckets that are full again are forgotten first.
    let maxKeys: Int
    private let buckets = NIOLockedValueBox<[String: (tokens: Double, updated: ContinuousClock.Instant)]>([:])

    init(_ rule: Rule, maxKeys: Int = 100_000) {
        self.rule = rule
        self.maxKeys = maxKeys
    }

    func take(_ key: String, now: ContinuousClock.Instant = .now) -> Verdict {
        buckets.withLockedValue { buckets in
            var (tokens, updated) = buckets[key] ?? (rule.burst, now)
            tokens = min(rule.burst, tokens + Self.seconds(now - updated) * rule.perSecond)
            let allowed = tokens >= 1
            if allowed { tokens -= 1 }
            buckets[key] = (tokens, now)
            if buckets.count > maxKeys { prune(&buckets, now: now) }
            let reset = allowed ? (rule.burst - tokens) / rule.perSecond : (1 - tokens) / rule.perSecond
            return Verdict(allowed: allowed, limit: Int(rule.burst), remaining: Int(tokens), reset: max(allowed ? 0 : 1, Int(reset.rounded(.up))))
        }
    }

    private func prune(_ buckets: inout [String: (tokens: Double, updated: ContinuousClock.Instant)], now: ContinuousClock.Instant) {
        let rule = rule
        buckets = buckets.filter { _, bucket in bucket.tokens + Self.seconds(now - bucket.updated) * rule.perSecond < rule.burst }
        // Still too many (a flood of distinct keys): forget the oldest half.
        if buckets.count > maxKeys {
            let kept = buckets.sorted { $0.value.updated > $1.value.updated }.prefix(maxKeys / 2)
            buckets = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
