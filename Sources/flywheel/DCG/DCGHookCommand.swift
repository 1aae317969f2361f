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
/// Fail-safe: input that cannot be read as a hook call (empty, not JSON, no string command) is
/// refused: a message on stderr and exit status 2, which Claude Code treats as a block. A guard that
/// cannot understand its input must not let the command through.
struct DCGHookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hook",
        abstract: "Answer a Claude Code PreToolUse hook call read from standard input.",
        discussion: "Allowed: no output, exit 0. Denied: a hookSpecificOutput deny with the reason. Malformed input: a message on stderr and exit 2 (blocks).")

    @OptionGroup var policy: PolicyOptions

    func run() throws {
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
        let decision = try policy.makePolicy().evaluate(command)
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
            let data = try JSONSerialization.data(withJSONObject: output, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    static func refuse(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Foundation.exit(2)
    }
}
