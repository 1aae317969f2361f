#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PluginKit

/// The tmux client, on one private server socket (`tmux -L <socket>`).
///
/// Every call starts the tmux client with a clean environment, so a server it starts (and every
/// pane of that server) never inherits the gateway's own variables: its secret key, an admin
/// password, a provider key. Calls block their thread: the driver makes them on its run threads,
/// never on the host's.
struct Tmux: Sendable {
    let executable: String
    let socket: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        var succeeded: Bool { status == 0 }
    }

    /// The variables a tmux server is started with: enough for programs to run and find their tools.
    static let cleanEnvironment: [String: String] = {
        let inherited = ProcessInfo.processInfo.environment
        var environment = ["PATH": inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", "LANG": inherited["LANG"] ?? "C.UTF-8"]
        for name in ["HOME", "USER", "LOGNAME", "TMUX_TMPDIR", "LC_ALL"] {
            if let value = inherited[name] { environment[name] = value }
        }
        return environment
    }()

    /// `text` as one literal argument: a trailing ';' is escaped (tmux would take it for the end of a
    /// command), and with `format`, '#' is doubled (tmux expands formats in directories and shell commands).
    static func literal(_ text: String, format: Bool = false) -> String {
        var value = format ? text.replacingOccurrences(of: "#", with: "##") : text
        if value.hasSuffix(";") { value = String(value.dropLast()) + "\\;" }
        return value
    }

    /// Finds the tmux program: `configured` as a path or a name on PATH.
    static func locate(_ configured: String?) -> String? {
        ChildProcess.locate(configured ?? "tmux", path: ProcessInfo.processInfo.environment["PATH"])
    }

    /// Runs `tmux -L socket <arguments>`; `input` goes to its standard input.
    ///
    /// Spawned with every descriptor above 2 closed in the child: the client forks the tmux server,
    /// which lives on, and must hold neither this call's pipes (their reader would never see the end)
    /// nor anything of the gateway's (its database, its listening socket).
    func run(_ arguments: [String], input: Data? = nil) throws(Failure) -> Output {
        try Self.runProgram(executable, ["-L", socket] + arguments, input: input)
    }

    /// Runs `executable` with `arguments`, spawned as `run` describes (``ChildProcess``).
    static func runProgram(_ executable: String, _ arguments: [String], input: Data? = nil) throws(Failure) -> Output {
        let child: ChildProcess
        do {
            child = try ChildProcess(executable: executable, arguments: arguments, environment: cleanEnvironment, directory: nil)
        } catch {
            throw Failure(description: error.description)
        }
        // The input (a task text for load-buffer) is written from a thread of its own while the
        // output is read here, so neither side can fill a pipe and stall the other.
        let writer = input.map { data in
            let done = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                child.write(Array(data))
                child.closeInput()
                done.signal()
            }
            return done
        }
        if writer == nil { child.closeInput() }
        let stdout = ChildProcess.readAll(child.standardOutput)
        let stderr = ChildProcess.readAll(child.standardError)
        writer?.wait()
        let exitStatus: Int32 = switch child.wait() {
        case .exited(let code): code
        case .signalled(let signal): 128 + signal
        }
        return Output(status: exitStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Whether the tmux client (and so the server it may start) gets no descriptor of the gateway's.
    static var closesInheritedDescriptors: Bool { ChildProcess.closesInheritedDescriptors }

    /// Runs a command that must succeed; the failure names the tmux command and what tmux said.
    @discardableResult
    func require(_ arguments: [String], input: Data? = nil) throws(Failure) -> String {
        let output = try run(arguments, input: input)
        guard output.succeeded else {
            throw Failure(description: "tmux \(arguments.first ?? "") failed (status \(output.status)): \(output.stderr.isEmpty ? "no message" : output.stderr)")
        }
        return output.stdout
    }

    func hasSession(_ name: String) -> Bool {
        (try? run(["has-session", "-t", "=\(name)"]))?.succeeded ?? false
    }

    /// Kills a session; true when it existed.
    @discardableResult
    func killSession(_ name: String) -> Bool {
        (try? run(["kill-session", "-t", "=\(name)"]))?.succeeded ?? false
    }

    enum PaneState: Equatable {
        case running
        /// The program exited; its status when tmux knows it.
        case exited(Int32?)
        /// The session is not there (any more); what tmux said.
        case gone(String)
    }

    /// The state of the session's pane.
    func paneState(_ name: String) -> PaneState {
        let output: Output
        do {
            output = try run(["list-panes", "-t", "=\(name)", "-F", "#{pane_dead} #{pane_dead_status} #{pane_dead_signal}"])
        } catch {
            return .gone(error.description)
        }
        guard output.succeeded else { return .gone(output.stderr) }
        let fields = output.stdout.split(separator: "\n").first?.split(separator: " ", omittingEmptySubsequences: false) ?? []
        guard fields.first == "1" else { return .running }
        if fields.count > 1, let status = Int32(fields[1]) { return .exited(status) }
        if fields.count > 2, let signal = Int32(fields[2]) { return .exited(128 + signal) }
        // Empty: status 0 (tmux 3.3 prints nothing for it), or not known yet as the pane dies.
        return .exited(nil)
    }

    /// The current directory of the session's pane (its shell's).
    func currentPath(_ name: String) -> String? {
        guard let output = try? run(["display-message", "-p", "-t", "=\(name):", "#{pane_current_path}"]), output.succeeded else { return nil }
        let path = output.stdout.trimmingCharacters(in: .newlines)
        return path.isEmpty ? nil : path
    }

    /// The visible screen of the session's pane, as text.
    func capture(_ name: String) -> String? {
        guard let output = try? run(["capture-pane", "-p", "-J", "-t", "=\(name):"]), output.succeeded else { return nil }
        return output.stdout
    }

    /// Pastes `text` into the pane in one go (a paste buffer, bracketed when the program asks for it),
    /// never a keystroke per character.
    func paste(_ text: String, into name: String) throws(Failure) {
        let buffer = "flywheel-\(name)"
        try require(["load-buffer", "-b", buffer, "-"], input: Data(text.utf8))
        try require(["paste-buffer", "-d", "-p", "-b", buffer, "-t", "=\(name):"])
    }

    /// Sends key names (`Enter`, `C-c`) to the pane.
    func sendKeys(_ keys: [String], to name: String) throws(Failure) {
        guard !keys.isEmpty else { return }
        try require(["send-keys", "-t", "=\(name):"] + keys)
    }

    /// Names and values of a user option across the server's sessions.
    func sessions(option: String) -> [(name: String, value: String)] {
        guard let output = try? run(["list-sessions", "-F", "#{session_name}\t#{\(option)}"]), output.succeeded else { return [] }
        return output.stdout.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { return nil }
            return (String(parts[0]), String(parts[1]))
        }
    }
}

/// A value behind a lock, for the driver's threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
