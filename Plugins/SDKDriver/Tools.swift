import Foundation

/// A tool the model is offered.
struct ToolDefinition: Sendable {
    var name: String
    var description: String
    /// The input's JSON Schema, as JSON text.
    var schema: String

    var schemaObject: Any { (try? JSONSerialization.jsonObject(with: Data(schema.utf8))) ?? [String: Any]() }

    static let bash = ToolDefinition(
        name: "bash",
        description: """
            Runs a shell command line with /bin/sh in the workspace and returns its exit code, standard output \
            and standard error. Each call is a new shell: cd and variables do not carry over. The gateway's \
            command policy checks every command first and may refuse it; a refused command does not run.
            """,
        schema: #"{"type":"object","properties":{"command":{"type":"string","description":"The command line to run."},"timeout_seconds":{"type":"number","description":"Optional time limit in seconds."}},"required":["command"]}"#)

    static let readFile = ToolDefinition(
        name: "read_file",
        description: "Reads a UTF-8 text file of the workspace. A relative path is taken from the workspace.",
        schema: #"{"type":"object","properties":{"path":{"type":"string"},"line":{"type":"integer","description":"First line to read, from 1."},"limit":{"type":"integer","description":"How many lines to read."}},"required":["path"]}"#)

    static let writeFile = ToolDefinition(
        name: "write_file",
        description: "Writes a UTF-8 text file of the workspace, replacing it whole; folders on the way are created.",
        schema: #"{"type":"object","properties":{"path":{"type":"string"},"content":{"type":"string"}},"required":["path","content"]}"#)

    static func offered(fileTools: Bool) -> [ToolDefinition] {
        fileTools ? [.bash, .readFile, .writeFile] : [.bash]
    }
}

/// A tool's outcome, as it goes back to the model.
struct ToolOutcome: Sendable {
    var output: String
    var isError: Bool
}

extension ToolOutcome {
    /// `text` cut to at most `limit` bytes, keeping its start and end.
    static func capped(_ text: String, limit: Int) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count > limit else { return text }
        let keep = max(0, limit - 64) / 2
        // Decoding repairs a UTF-8 sequence the cut split.
        let head = String(decoding: bytes[..<keep], as: UTF8.self)
        let tail = String(decoding: bytes[(bytes.count - keep)...], as: UTF8.self)
        return head + "\n[… \(bytes.count - 2 * keep) bytes cut …]\n" + tail
    }

    /// What a command request came back with, told the way a model can act on.
    static func command(_ result: CommandAnswer) -> ToolOutcome {
        guard result.ran else {
            var text = "The command did not run: the gateway refused it"
            if let rule = result.ruleID { text += " (policy rule \(rule))" }
            if let reason = result.reason { text += ": \(reason)" }
            return ToolOutcome(output: text + ". Do not try to get around the refusal.", isError: true)
        }
        var parts: [String] = []
        if result.timedOut { parts.append("The command timed out and was killed.") }
        parts.append("exit code: \(result.exitCode.map(String.init) ?? "none (killed by a signal)")")
        if !result.stdout.isEmpty { parts.append("stdout:\n" + result.stdout) }
        if !result.stderr.isEmpty { parts.append("stderr:\n" + result.stderr) }
        if result.truncated { parts.append("(the output was longer than the gateway keeps; it was cut)") }
        return ToolOutcome(output: parts.joined(separator: "\n"), isError: result.timedOut || result.exitCode != 0)
    }
}

/// The fields of a command result the tool loop uses.
struct CommandAnswer: Sendable {
    var ran: Bool
    var ruleID: String?
    var reason: String?
    var exitCode: Int32?
    var timedOut = false
    var stdout = ""
    var stderr = ""
    var truncated = false
}
