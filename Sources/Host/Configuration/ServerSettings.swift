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
    /// Request bodies larger than this are refused with 413.
    public var maxBodyBytes = 1 << 20
    /// bcrypt's cost for new password hashes (4...31; each step doubles the work).
    public var passwordCost = 12

    public init() {}
}
