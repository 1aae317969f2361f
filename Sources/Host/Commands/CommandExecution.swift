import Foundation

/// What to run for an agent, where, and within which limits.
public struct CommandRunRequest: Sendable {
    public var command: String
    /// The directory the command runs in (created if missing; never deleted by the host).
    public var workingDirectory: URL
    /// Added to the clean environment.
    public var environment: [String: String]
    public var timeout: Duration
    /// Bytes of stdout (and, separately, of stderr) kept; output past it is read and dropped.
    public var outputLimit: Int
    /// After the timeout, how long the command gets between SIGTERM and SIGKILL.
    public var killGrace: Duration
    /// The one directory a sandboxed command may write to (the session's workspace); nil: the
    /// working directory.
    public var writableRoot: URL?
    /// Whether a sandboxed command may reach the network.
    public var network: Bool

    public init(command: String, workingDirectory: URL, environment: [String: String] = [:], timeout: Duration = .seconds(120),
                outputLimit: Int = 1 << 20, killGrace: Duration = .seconds(2), writableRoot: URL? = nil, network: Bool = true) {
        self.command = command
        self.workingDirectory = workingDirectory
        self.writableRoot = writableRoot
        self.network = network
        self.environment = environment
        self.timeout = timeout
        self.outputLimit = outputLimit
        self.killGrace = killGrace
    }
}

/// A piece of output, as it was produced.
public struct CommandOutputChunk: Sendable, Equatable {
    public enum Stream: String, Sendable { case stdout, stderr }
    public var stream: Stream
    public var bytes: [UInt8]
}

/// How a command ended.
public struct CommandOutcome: Sendable, Equatable {
    /// The exit status; nil when a signal ended it.
    public var exitCode: Int32?
    public var signal: Int32?
    public var timedOut: Bool
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    /// Output went past the limit and was cut.
    public var truncated: Bool
    public var duration: Duration

    /// The output as text, invalid UTF-8 replaced.
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Why a command could not be run at all.
public struct CommandExecutionError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Runs commands for agents. A protocol, so callers can be tested with another runner.
public protocol CommandRunning: Sendable {
    /// Whether commands run in a sandbox (recorded with each command's decision).
    var sandboxed: Bool { get }
    func run(_ request: CommandRunRequest, onOutput: @escaping @Sendable (CommandOutputChunk) async -> Void) async throws -> CommandOutcome
}

extension CommandRunning {
    public var sandboxed: Bool { false }
}
