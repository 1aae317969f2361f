import Foundation
import PluginKit

/// The run's `terminal/*` commands. Each is a command request to the host: judged by the gateway's
/// policy, run in the workspace with its limits, and recorded with the session. The agent reads the
/// output and exit status from here once the host has answered.
final class Terminals: @unchecked Sendable {
    struct ExitStatus: Sendable {
        var exitCode: Int32?
        var signal: String?
        var json: [String: Any] { ["exitCode": exitCode.map { $0 as Any } ?? NSNull(), "signal": signal.map { $0 as Any } ?? NSNull()] }
    }

    private final class Terminal {
        let command: String
        let outputLimit: Int?
        var output = ""
        var truncated = false
        var exit: ExitStatus?
        var waiters: [RequestID] = []

        init(command: String, outputLimit: Int?) {
            self.command = command
            self.outputLimit = outputLimit
        }
    }

    private let lock = NSLock()
    private var terminals: [String: Terminal] = [:]
    private var counter = 0

    /// Registers a terminal for `command`; its id.
    func create(command: String, outputLimit: Int?) -> String {
        lock.lock()
        defer { lock.unlock() }
        counter += 1
        let id = "term-\(counter)"
        terminals[id] = Terminal(command: command, outputLimit: outputLimit)
        return id
    }

    /// Records the host's answer; the requests waiting for the exit, to be answered with it.
    func finish(_ id: String, result: DriverRun.CommandResult?, timeoutSeconds: Double) -> (waiters: [RequestID], exit: ExitStatus)? {
        lock.lock()
        defer { lock.unlock() }
        guard let terminal = terminals[id] else { return nil }
        let exit: ExitStatus
        var text: String
        if let result, result.ran {
            text = (result.stdout ?? "") + (result.stderr ?? "")
            if result.timedOut == true {
                text += "\n[flywheel: the command was stopped after its timeout of \(Int(timeoutSeconds)) s]\n"
                exit = ExitStatus(exitCode: nil, signal: "SIGKILL")
            } else {
                exit = result.exitCode.map { ExitStatus(exitCode: $0, signal: nil) } ?? ExitStatus(exitCode: nil, signal: "SIGKILL")
            }
            terminal.truncated = result.truncated ?? false
        } else if let result {
            let rule = result.ruleId.map { " (\($0))" } ?? ""
            text = "flywheel: the gateway did not run this command\(rule): \(result.reason ?? "decision \(result.decision)")\n"
            exit = ExitStatus(exitCode: 126, signal: nil)
        } else {
            text = "flywheel: the run ended before the command finished\n"
            exit = ExitStatus(exitCode: nil, signal: "SIGKILL")
        }
        if let limit = terminal.outputLimit, text.utf8.count > limit {
            // ACP keeps the end of the output: drop from the start, on a character boundary.
            var utf8 = text.utf8.suffix(limit)
            while let first = utf8.first, first & 0xC0 == 0x80 { utf8 = utf8.dropFirst() }
            text = String(decoding: utf8, as: UTF8.self)
            terminal.truncated = true
        }
        terminal.output = text
        terminal.exit = exit
        let waiters = terminal.waiters
        terminal.waiters = []
        return (waiters, exit)
    }

    enum Lookup {
        case unknown
        case output(output: String, truncated: Bool, exit: ExitStatus?)
    }

    func output(_ id: String) -> Lookup {
        lock.lock()
        defer { lock.unlock() }
        guard let terminal = terminals[id] else { return .unknown }
        return .output(output: terminal.output, truncated: terminal.truncated, exit: terminal.exit)
    }

    /// The exit status now, or nil after registering `request` to be answered when it comes.
    /// Throws for an unknown terminal.
    func waitForExit(_ id: String, request: RequestID) -> ExitStatus?? {
        lock.lock()
        defer { lock.unlock() }
        guard let terminal = terminals[id] else { return .none }
        if let exit = terminal.exit { return .some(exit) }
        terminal.waiters.append(request)
        return .some(nil)
    }

    /// Whether the terminal exists and its command has ended.
    func state(_ id: String) -> (exists: Bool, ended: Bool) {
        lock.lock()
        defer { lock.unlock() }
        guard let terminal = terminals[id] else { return (false, false) }
        return (true, terminal.exit != nil)
    }

    /// Forgets a terminal; the requests still waiting for its exit, to be answered with an error.
    func release(_ id: String) -> [RequestID]? {
        lock.lock()
        defer { lock.unlock() }
        guard let terminal = terminals.removeValue(forKey: id) else { return nil }
        return terminal.waiters
    }

    /// The output of a terminal, for a tool call that embeds it; nil when unknown.
    func text(_ id: String) -> String? {
        lock.lock()
        defer { lock.unlock() }
        return terminals[id]?.output
    }
}
