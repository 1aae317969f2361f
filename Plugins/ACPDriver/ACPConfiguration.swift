import Foundation
import PluginKit

/// An agent's `[config]` for the ACP driver, checked when the instance is created: every mistake is
/// refused naming its key.
struct ACPConfiguration: Sendable {
    /// The agent program and its arguments, e.g. `["claude-code-acp"]` or `["gemini", "--experimental-acp"]`
    /// (`command` as a list, or as a program name with `args`).
    var command: [String]
    /// Where the agent process starts: the workspace by default; a relative path is taken inside it.
    /// ACP's session `cwd` is always the workspace.
    var directory: String?
    /// Variables set for the agent, over the clean environment it starts with.
    var environment: [String: String] = [:]
    /// Names of the gateway's own variables the agent may see (e.g. a provider key the agent reads).
    var inheritEnvironment: [String] = []
    /// The `authenticate` method to use when the agent offers several (`authMethods[].id`).
    var authMethod: String?
    /// How long `initialize`, `authenticate`, `session/new` and `session/load` may take.
    var requestTimeoutSeconds: Double = 60
    /// How long one prompt turn may take.
    var promptTimeoutSeconds: Double = 3_600
    /// After `session/cancel`: how long the agent has to end its turn before it is killed.
    var cancelGraceSeconds: Double = 5
    /// The host's timeout for each `terminal/create` command.
    var terminalTimeoutSeconds: Double = 600
    /// The largest JSON-RPC message (one line) accepted from the agent.
    var maxMessageBytes: Int = 16 << 20
    /// The largest file `fs/read_text_file` returns and `fs/write_text_file` writes.
    var maxFileBytes: Int = 8 << 20
    /// The answer to a permission request for a tool call that is not a shell command (an edit, a
    /// fetch, ...): `allow` or `reject`. Shell commands are always decided by the gateway's policy.
    var otherTools: String = "allow"
    /// The prompt sent after a paused or recovered session was loaded back into the agent.
    var resumePrompt = "The session was paused and has been resumed. Continue the task where you left off."
    /// Whether the agent's standard error is stored as `x-acp.stderr` events (it always reaches the host log).
    var stderrEvents = true

    static let keys: Set<String> = [
        "command", "args", "cwd", "env", "inherit_env", "auth_method", "request_timeout_seconds", "prompt_timeout_seconds",
        "cancel_grace_seconds", "terminal_timeout_seconds", "max_message_bytes", "max_file_bytes", "other_tools",
        "resume_prompt", "stderr_events",
    ]

    init(json: String, host: DriverHost) throws(DriverFailure) {
        let reader = try ConfigReader(json: json, keys: Self.keys)
        var command: [String]
        switch reader.value("command") {
        case nil:
            throw .invalidConfig("command is required: the ACP agent program and its arguments, e.g. [\"claude-code-acp\"]")
        case .string(let program)?:
            command = [program]
        default:
            command = try reader.strings("command") ?? []
        }
        if let arguments = try reader.strings("args", allowEmpty: true) { command += arguments }
        guard let program = command.first, !program.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .invalidConfig("command must name the agent program as its first element")
        }
        self.command = command
        directory = try reader.string("cwd")
        if let directory, directory.isEmpty || directory.contains("\0") {
            throw .invalidConfig("cwd must be a folder: absolute, or relative to the workspace")
        }
        environment = try reader.table("env") ?? [:]
        if let bad = environment.keys.first(where: { !Self.isVariableName($0) || $0.hasPrefix("FLYWHEEL_") }) {
            throw .invalidConfig("env: '\(bad)' is not a variable name the driver lets you set")
        }
        inheritEnvironment = try reader.strings("inherit_env") ?? []
        if let bad = inheritEnvironment.first(where: { !Self.isVariableName($0) || $0.hasPrefix("FLYWHEEL_") }) {
            throw .invalidConfig("inherit_env: '\(bad)' is not a variable name the driver passes on")
        }
        authMethod = try reader.string("auth_method")
        requestTimeoutSeconds = try reader.seconds("request_timeout_seconds") ?? requestTimeoutSeconds
        promptTimeoutSeconds = try reader.seconds("prompt_timeout_seconds") ?? promptTimeoutSeconds
        cancelGraceSeconds = try reader.seconds("cancel_grace_seconds") ?? cancelGraceSeconds
        terminalTimeoutSeconds = try reader.seconds("terminal_timeout_seconds") ?? terminalTimeoutSeconds
        maxMessageBytes = try reader.integer("max_message_bytes", in: 4_096...(1 << 30)) ?? maxMessageBytes
        maxFileBytes = try reader.integer("max_file_bytes", in: 1...(1 << 30)) ?? maxFileBytes
        otherTools = try reader.string("other_tools") ?? otherTools
        guard ["allow", "reject"].contains(otherTools) else {
            throw .invalidConfig("other_tools must be \"allow\" or \"reject\", not \"\(otherTools)\"")
        }
        resumePrompt = try reader.string("resume_prompt") ?? resumePrompt
        stderrEvents = try reader.bool("stderr_events") ?? true
        guard host.supportsDecisionOnlyCommands else {
            throw .invalidConfig("this host (ABI \(host.abiVersion.major).\(host.abiVersion.minor)) cannot judge a command without running it; the ACP driver needs ABI 1.1")
        }
    }

    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    /// The agent's environment: a few basics from the gateway's, the names in `inherit_env`, then `env`.
    /// Nothing else of the gateway's (its secret key, an admin password) reaches the agent.
    func childEnvironment(inherited: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        var result = ["PATH": inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", "LANG": inherited["LANG"] ?? "C.UTF-8"]
        for name in ["HOME", "USER", "LOGNAME", "LC_ALL", "TZ"] + inheritEnvironment {
            if let value = inherited[name] { result[name] = value }
        }
        result.merge(environment) { $1 }
        return result
    }
}
