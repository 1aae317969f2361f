import Foundation

/// `[server]` in `flywheel.toml`: where `flywheel serve` listens, and how long what it issues lasts.
public struct ServerSettings: Sendable, Equatable {
    /// The address to bind. The default is loopback only: exposing the API is an operator's choice.
    public var host = "127.0.0.1"
    public var port = 8080
    /// Access tokens (JWTs) are short-lived; a client refreshes them.
    public var accessTokenSeconds: Double = 900
    /// Refresh tokens last this long unless used (each use issues the next).
    public var refreshTokenSeconds: Double = 30 * 86_400
    /// A used refresh token presented again within this many seconds of its use, while the token
    /// that replaced it has not been used, is exchanged once more (for a new token that replaces the
    /// unused one) instead of ending the sign-in: the answer to the first exchange was lost, as when
    /// a page reload interrupts it. Later, or once the replacement was used, it is reuse. 0 turns
    /// this off.
    public var refreshReuseGraceSeconds: Double = 10
    /// Request bodies larger than this are refused with 413.
    public var maxBodyBytes = 1 << 20
    /// bcrypt's cost for new password hashes (4...31; each step doubles the work).
    public var passwordCost = 12
    /// Requests per second one user or API key may make, sustained, and in a burst.
    public var rateLimitPerSecond: Double = 20
    public var rateLimitBurst: Double = 100
    /// Requests per second from one client address, whoever it signs in as.
    public var clientRateLimitPerSecond: Double = 50
    public var clientRateLimitBurst: Double = 200
    /// Sign-in attempts (login, refresh, logout) per minute from one client address: password guessing.
    public var loginAttemptsPerMinute: Double = 10
    /// Proxies in front of the server (addresses or CIDR ranges): a request whose peer is one of them
    /// is limited by the client address in `X-Forwarded-For` instead. None by default, since the
    /// header is anyone's to write.
    public var trustedProxies: [IPRange] = []
    /// Mark the dashboard's sign-in cookie `Secure` (sent over HTTPS only) on every answer. Without
    /// it, the cookie is marked `Secure` when a trusted proxy says the request came over HTTPS
    /// (`X-Forwarded-Proto: https`).
    public var secureCookies = false

    public init() {}
}
