import Foundation

/// A Claude Code `PreToolUse` hook call answered by the guard: what `flywheel dcg hook` and the
/// lean `flywheel-guard hook` executable both do.
///
/// Protocol: the hook JSON arrives on stdin. For a Bash tool call that the policy allows (or only
/// warns or logs about) the answer is no output and exit 0. For a denied one it is a
/// `hookSpecificOutput` with `permissionDecision: "deny"` and the reason; for one an operator's mode
/// holds for approval, `permissionDecision: "ask"`; what the guard itself could not resolve is
/// denied, since no operator is there to approve it. Other tools are not the guard's to judge.
///
/// Fail-safe: input that cannot be read as a hook call, and a policy file that cannot be read or
/// parsed, are refused with a message on stderr and exit status 2, which Claude Code treats as a
/// block (any other failure status would let the call through).
///
/// The policy comes only from places the operator controls (`--config` or `FLYWHEEL_DCG_CONFIG` by
/// absolute path, `/etc/flywheel`, the user's `~/.config/flywheel`), never from the working
/// directory: an agent that wrote `./flywheel.toml` could otherwise switch the guard off itself.
///
/// Under the tmux driver, which sets `FLYWHEEL_HOOK_SOCKET` for the agent, the hook asks the gateway
/// running the session instead (``relayed(input:socket:environment:)``).
public enum GuardHook {
    public struct Answer: Sendable, Equatable {
        public var status: Int32
        /// For standard output (a JSON line), if anything.
        public var output: String?
        /// For standard error, if anything.
        public var error: String?
    }

    /// Whether the environment the agent's commands share with the hook sets TMPDIR to a folder
    /// of its own: absolute, not the root, no `..`. Unset or empty, `$TMPDIR/x` is `/x`.
    static func temporaryDirectoryIsSet(_ environment: [String: String]) -> Bool {
        guard let directory = environment["TMPDIR"], directory.isAbsolutePath, !directory.climbsToParent else { return false }
        return directory.utf8.contains { $0 != UInt8(ascii: "/") }
    }

    public static func answer(input: some Collection<UInt8>, explicitConfig: String?, environment: [String: String]) -> Answer {
        if let socket = environment["FLYWHEEL_HOOK_SOCKET"], !socket.isEmpty {
            return relayed(input: input, socket: socket, environment: environment)
        }
        let configuration: PolicyConfiguration
        do {
            configuration = try policyConfiguration(explicit: explicitConfig, environment: environment)
        } catch {
            return refuse("cannot use the policy (\(error)); refusing the tool call")
        }
        let command: String
        switch call(input) {
        case .bash(let text): command = text
        case .otherTool: return Answer(status: 0)
        case .refused(let answer): return answer
        }
        var policy = CommandPolicy(configuration: configuration)
        policy.trustsTMPDIR = temporaryDirectoryIsSet(environment)
        let decision = policy.evaluate(command)
        switch decision.verdict {
        case .allow, .warn, .log:
            return Answer(status: 0)
        case .deny, .ask:
            let unresolved = decision.verdict == .ask && decision.source == "unresolved"
            var reason = "Destructive Command Guard: \(unresolved ? "held, and there is no operator to approve it here: " : "")\(decision.reason ?? "not allowed")"
            if let rule = decision.ruleID { reason += " [\(rule)]" }
            if let alternative = decision.alternative { reason += ". Instead: \(alternative)" }
            var output = Array(#"{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"#.utf8)
            GuardJSON.appendString(decision.verdict == .deny || unresolved ? "deny" : "ask", to: &output)
            output.append(contentsOf: #","permissionDecisionReason":"#.utf8)
            GuardJSON.appendString(reason, to: &output)
            output.append(contentsOf: "}}".utf8)
            return Answer(status: 0, output: String(decoding: output, as: UTF8.self))
        }
    }

    /// Under the tmux driver (`FLYWHEEL_HOOK_SOCKET` set): the gateway that runs the session decides,
    /// with the policy in force there, records the decision with the session and may hold the command
    /// for an operator. No answer in time, or no gateway to ask, refuses the call.
    static func relayed(input: some Collection<UInt8>, socket: String, environment: [String: String]) -> Answer {
        let command: String
        switch call(input) {
        case .bash(let text): command = text
        case .otherTool: return Answer(status: 0)
        case .refused(let answer): return answer
        }
        let wait = environment["FLYWHEEL_HOOK_WAIT_SECONDS"].flatMap(Int.init).map { max(1, $0) } ?? 600
        let reply: GuardHookRelay.Reply
        do {
            reply = try GuardHookRelay.ask(socket: socket, command: command, waitSeconds: wait)
        } catch {
            return refuse("cannot get the gateway's decision (\(error)); refusing the tool call")
        }
        guard !reply.allowed else { return Answer(status: 0) }
        var output = Array(#"{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"#.utf8)
        GuardJSON.appendString("Destructive Command Guard (gateway): \(reply.reason ?? "not allowed")", to: &output)
        output.append(contentsOf: "}}".utf8)
        return Answer(status: 0, output: String(decoding: output, as: UTF8.self))
    }

    enum Call {
        case bash(String)
        /// Not the guard's to judge.
        case otherTool
        /// Not a hook call: refused.
        case refused(Answer)
    }

    /// What a hook call's input asks for.
    static func call(_ input: some Collection<UInt8>) -> Call {
        guard let object = GuardJSON.parse(input), case .object = object else {
            return .refused(refuse("the input is not a JSON object; refusing the tool call"))
        }
        guard let tool = object["tool_name"]?.stringValue else {
            return .refused(refuse("the input has no string tool_name; refusing the tool call"))
        }
        guard tool == "Bash" else { return .otherTool }
        guard let command = object["tool_input"]?["command"]?.stringValue else {
            return .refused(refuse("a Bash call without a string tool_input.command; refusing the tool call"))
        }
        return .bash(command)
    }

    static func refuse(_ message: String) -> Answer {
        Answer(status: 2, error: "flywheel dcg hook: \(message)")
    }

    /// The hook's policy: `explicit` or `FLYWHEEL_DCG_CONFIG` (absolute paths), else
    /// `/etc/flywheel/policy.toml` or `/etc/flywheel/flywheel.toml`, else the user's
    /// `~/.config/flywheel/policy.toml` or `flywheel.toml`, else the defaults. Never the working
    /// directory, which the agent being guarded can write.
    public static func policyConfiguration(explicit: String?, environment: [String: String]) throws(ConfigurationError) -> PolicyConfiguration {
        if let path = explicit ?? environment["FLYWHEEL_DCG_CONFIG"] {
            guard path.isAbsolutePath else {
                throw ConfigurationError(file: path, reason: "the hook's policy file must be given by absolute path (a relative path would be read from the agent's working directory)")
            }
            guard access(path, F_OK) == 0 else { throw ConfigurationError(file: path, reason: "no such file") }
            return try PolicyConfiguration.load(contentsOf: URL(fileURLWithPath: path))
        }
        let configHome = environment["XDG_CONFIG_HOME"].flatMap { $0.isAbsolutePath ? $0 : nil }
            ?? environment["HOME"].map { $0 + "/.config" }
        let candidates = ["/etc/flywheel/policy.toml", "/etc/flywheel/flywheel.toml"]
            + (configHome.map { ["\($0)/flywheel/policy.toml", "\($0)/flywheel/flywheel.toml"] } ?? [])
        guard let found = candidates.first(where: { access($0, F_OK) == 0 }) else { return .default }
        return try PolicyConfiguration.load(contentsOf: URL(fileURLWithPath: found))
    }
}
