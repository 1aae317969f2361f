import Foundation

/// The limits the session runtime enforces, from `flywheel.toml` `[limits]`.
public struct SessionLimits: Sendable {
    public var maxConcurrentSessions: Int
    public var maxConcurrentSessionsPerAgent: Int
    public var commandTimeout: Duration
    public var maxCommandTimeout: Duration
    public var commandOutputLimit: Int
    public var approvalTimeout: Duration
    public var cancelGrace: Duration
    public var maxConcurrentCommands: Int
    public var maxConcurrentCommandsPerSession: Int
    /// Whether sandboxed commands may reach the network, for agents that do not say.
    public var sandboxNetwork = true

    public init(_ limits: GatewayConfiguration.Limits = .init()) {
        maxConcurrentSessions = limits.maxConcurrentSessions
        maxConcurrentSessionsPerAgent = limits.maxConcurrentSessionsPerAgent
        commandTimeout = .milliseconds(Int64(limits.commandTimeoutSeconds * 1000))
        maxCommandTimeout = .milliseconds(Int64(limits.maxCommandTimeoutSeconds * 1000))
        commandOutputLimit = limits.commandOutputLimitBytes
        approvalTimeout = .milliseconds(Int64(limits.approvalTimeoutSeconds * 1000))
        cancelGrace = .milliseconds(Int64(limits.cancelGraceSeconds * 1000))
        maxConcurrentCommands = limits.maxConcurrentCommands
        maxConcurrentCommandsPerSession = limits.maxConcurrentCommandsPerSession
    }
}
