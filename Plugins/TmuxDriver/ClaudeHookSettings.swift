import Foundation

/// The Claude Code settings file in a workspace, with our `PreToolUse` hook merged in: an operator's
/// settings (other hooks, permissions, anything else) are kept as they are, the hook is added once,
/// and a file that is not a JSON object is never overwritten.
enum ClaudeHookSettings {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func install(in workspace: URL, relativePath: String, command: String, timeoutSeconds: Int) throws {
        let file = workspace.appendingPathComponent(relativePath)
        var settings: [String: Any] = [:]
        if FileManager.default.fileExists(atPath: file.path) {
            let data: Data
            do {
                data = try Data(contentsOf: file)
            } catch {
                throw PaneRun.Failure(message: "cannot read \(file.path) to add the guard hook: \(error.localizedDescription)")
            }
            if !data.allSatisfy({ [0x20, 0x0A, 0x0D, 0x09].contains($0) }) {
                guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                    throw PaneRun.Failure(message: "\(file.path) is not a JSON object; the guard hook was not added and the file was left as it is")
                }
                settings = object
            }
        }
        let merged: [String: Any]
        do {
            merged = try merging(settings, command: command, timeoutSeconds: timeoutSeconds)
        } catch {
            throw PaneRun.Failure(message: "\(file.path): \(error)")
        }
        guard let data = try? JSONSerialization.data(withJSONObject: merged, options: [.prettyPrinted, .sortedKeys]) else {
            throw PaneRun.Failure(message: "cannot write the guard hook settings")
        }
        do {
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: file, options: .atomic)
        } catch {
            throw PaneRun.Failure(message: "cannot write \(file.path): \(error.localizedDescription)")
        }
    }

    /// `settings` with a `PreToolUse` entry for Bash that runs `command`, unless one already does.
    static func merging(_ settings: [String: Any], command: String, timeoutSeconds: Int) throws(Failure) -> [String: Any] {
        var settings = settings
        var hooks: [String: Any] = [:]
        if let existing = settings["hooks"] {
            guard let table = existing as? [String: Any] else { throw Failure(description: "\"hooks\" is not an object") }
            hooks = table
        }
        var preToolUse: [Any] = []
        if let existing = hooks["PreToolUse"] {
            guard let list = existing as? [Any] else { throw Failure(description: "\"hooks.PreToolUse\" is not a list") }
            preToolUse = list
        }
        // Ours is the entry with our command: brought up to date in place (an older, shorter timeout
        // would have Claude Code give up on a held command and run it), else added once.
        let ours: [String: Any] = ["matcher": "Bash", "hooks": [["type": "command", "command": command, "timeout": timeoutSeconds]]]
        var found = false
        for (index, entry) in preToolUse.enumerated() {
            guard let entry = entry as? [String: Any], let list = entry["hooks"] as? [[String: Any]],
                  list.contains(where: { $0["command"] as? String == command }) else { continue }
            if found {
                preToolUse[index] = NSNull()
            } else {
                preToolUse[index] = ours
                found = true
            }
        }
        preToolUse.removeAll { $0 is NSNull }
        if !found { preToolUse.append(ours) }
        hooks["PreToolUse"] = preToolUse
        settings["hooks"] = hooks
        return settings
    }
}
