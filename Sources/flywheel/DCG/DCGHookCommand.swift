import ArgumentParser
import Foundation
import Host

/// A Claude Code `PreToolUse` hook, so CLI agents under the tmux driver are guarded too.
///
/// Protocol: the hook JSON arrives on stdin. For a Bash tool call that the policy allows (or only
/// warns or logs about) the hook prints nothing and exits 0. For a denied one it prints a
/// `hookSpecificOutput` with `permissionDecision: "deny"` and the reason; for one the policy holds
/// for approval, `permissionDecision: "ask"`. Other tools are not ours to judge: nothing, exit 0.
///
/// Fail-safe: input that cannot be read as a hook call (empty, not JSON, no string command), and a
/// policy file that cannot be read or parsed, are refused: a message on stderr and exit status 2,
/// which Claude Code treats as a block (any other failure status would let the call through). A
/// guard that cannot understand its input or its policy must not let the command through.
///
/// The policy comes only from places the operator controls (`--config` or `FLYWHEEL_DCG_CONFIG` by
/// absolute path, `/etc/flywheel`, the user's `~/.config/flywheel`), never from the working
/// directory: an agent that wrote `./flywheel.toml` could otherwise switch the guard off itself.
struct DCGHookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hook",
        abstract: "Answer a Claude Code PreToolUse hook call read from standard input.",
        discussion: "Allowed: no output, exit 0. Denied or held: a hookSpecificOutput deny or ask with the reason. Malformed input or an unusable policy file: a message on stderr and exit 2 (blocks). The policy is read from --config or FLYWHEEL_DCG_CONFIG (absolute paths), /etc/flywheel or ~/.config/flywheel; never from the working directory.")

    @Option(name: .long, help: "The policy file, by absolute path (else FLYWHEEL_DCG_CONFIG, /etc/flywheel, ~/.config/flywheel).")
    var config: String?

    func run() throws {
        let policy: CommandPolicy
        do {
            policy = CommandPolicy(configuration: try PolicyFiles.loadForHook(explicit: config, environment: ProcessInfo.processInfo.environment))
        } catch {
            Self.refuse("flywheel dcg hook: cannot use the policy (\(error)); refusing the tool call")
        }
        let input = FileHandle.standardInput.readDataToEndOfFile()
        guard let object = try? JSONSerialization.jsonObject(with: input) as? [String: Any] else {
            Self.refuse("flywheel dcg hook: the input is not a JSON object; refusing the tool call")
        }
        guard let tool = object["tool_name"] as? String else {
            Self.refuse("flywheel dcg hook: the input has no string tool_name; refusing the tool call")
        }
        guard tool == "Bash" else { return }
        guard let toolInput = object["tool_input"] as? [String: Any], let command = toolInput["command"] as? String else {
            Self.refuse("flywheel dcg hook: a Bash call without a string tool_input.command; refusing the tool call")
        }
        let decision = policy.evaluate(command)
        switch decision.verdict {
        case .allow, .warn, .log:
            return
        case .deny, .ask:
            var reason = "Destructive Command Guard: \(decision.reason ?? "not allowed")"
            if let rule = decision.ruleID { reason += " [\(rule)]" }
            if let alternative = decision.alternative { reason += ". Instead: \(alternative)" }
            let output: [String: Any] = [
                "hookSpecificOutput": [
                    "hookEventName": "PreToolUse",
                    "permissionDecision": decision.verdict == .deny ? "deny" : "ask",
                    "permissionDecisionReason": reason,
                ]
            ]
            guard let data = try? JSONSerialization.data(withJSONObject: output, options: [.sortedKeys, .withoutEscapingSlashes]) else {
                Self.refuse("flywheel dcg hook: cannot encode the decision; refusing the tool call")
            }
            print(String(decoding: data, as: UTF8.self))
        }
    }

    static func refuse(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Foundation.exit(2)
    }
}
