import Foundation
import PluginKit

/// An agent's `[config]` for the tmux driver, checked: every mistake is refused when the instance is
/// created, naming the key.
struct TmuxConfiguration: Sendable {
    enum Profile: String, Sendable {
        /// A program that works on its own once given the task (Claude Code, Codex CLI, aider, ...).
        case agent
        /// A shell: each task line is a command, judged by the gateway's policy before it is typed.
        case shell
    }

    var profile: Profile
    /// The program for the `agent` profile, run by `/bin/sh -c`.
    var agentCommand: String?
    /// The shell for the `shell` profile (bash: its prompt reports each command's exit status).
    var shell: String = "bash"
    var tmux: String
    var socket: String = "flywheel"
    var readyPattern: NSRegularExpression?
    var readyQuietSeconds: Double = 1.5
    var readyTimeoutSeconds: Double = 60
    var donePattern: NSRegularExpression?
    var idleTimeoutSeconds: Double = 600
    var commandTimeoutSeconds: Double = 600
    var interruptKeys: [String] = ["C-c"]
    var submitKeys: [String] = ["Enter"]
    var interruptGraceSeconds: Double = 3
    var snapshotIntervalSeconds: Double = 30
    var width: Int = 200
    var height: Int = 50
    var environment: [String: String] = [:]
    var continueOnError = false
    /// Installs a Claude Code `PreToolUse` hook in the workspace that asks the gateway about each
    /// Bash command.
    var claudeHook = false
    var hookCommand: String?
    var hookSettings: String = ".claude/settings.local.json"
    var hookTimeoutSeconds: Int = 900
    /// Whether the pane's program starts inside bubblewrap (the workspace writable, the rest
    /// read-only): `on`, `off` (the default), or `auto`: when bubblewrap works here, else
    /// unconfined and said so.
    enum SandboxMode: Sendable { case auto, on, off }
    var sandbox = SandboxMode.off
    var sandboxNetwork = true
    var bubblewrap: String = "bwrap"
    /// What becomes of tmux sessions left by a host that is gone: `kill` or `keep` (reported either way).
    var orphans: String = "kill"
    var stateDirectory: String

    static let keys: Set<String> = [
        "profile", "agent_command", "shell", "tmux", "socket", "ready_pattern", "ready_quiet_seconds", "ready_timeout_seconds",
        "done_pattern", "idle_timeout_seconds", "command_timeout_seconds", "interrupt_keys", "submit_keys",
        "interrupt_grace_seconds", "snapshot_interval_seconds", "width", "height", "env", "continue_on_error", "claude_hook",
        "hook_command", "hook_settings", "hook_timeout_seconds", "sandbox", "sandbox_network", "bubblewrap", "orphans",
        "state_directory",
    ]

    init(json: String, host: DriverHost) throws(DriverFailure) {
        let reader = try ConfigReader(json: json, keys: Self.keys)
        agentCommand = try reader.string("agent_command")
        if let command = agentCommand, command.trimmingCharacters(in: .whitespaces).isEmpty {
            throw .invalidConfig("agent_command must not be empty")
        }
        if let name = try reader.string("profile") {
            guard let value = Profile(rawValue: name) else { throw .invalidConfig("profile must be \"agent\" or \"shell\", not \"\(name)\"") }
            profile = value
        } else {
            profile = agentCommand == nil ? .shell : .agent
        }
        if profile == .agent, agentCommand == nil {
            throw .invalidConfig("the agent profile needs agent_command: the program to run, e.g. \"claude\"")
        }
        if profile == .shell, agentCommand != nil {
            throw .invalidConfig("agent_command is for the agent profile; the shell profile runs `shell`")
        }
        shell = try reader.string("shell") ?? shell
        socket = try reader.string("socket") ?? socket
        guard !socket.isEmpty, socket.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw .invalidConfig("socket must be a name of letters, digits, '-', '_' and '.', not \"\(socket)\"")
        }
        guard let tmuxPath = Tmux.locate(try reader.string("tmux")) else {
            throw .invalidConfig("tmux is not installed (or `tmux` is not an executable): install the Debian package tmux (apt-get install tmux)")
        }
        tmux = tmuxPath
        readyPattern = try reader.pattern("ready_pattern")
        donePattern = try reader.pattern("done_pattern")
        readyQuietSeconds = try reader.seconds("ready_quiet_seconds") ?? readyQuietSeconds
        readyTimeoutSeconds = try reader.seconds("ready_timeout_seconds") ?? readyTimeoutSeconds
        idleTimeoutSeconds = try reader.seconds("idle_timeout_seconds") ?? idleTimeoutSeconds
        commandTimeoutSeconds = try reader.seconds("command_timeout_seconds") ?? commandTimeoutSeconds
        interruptGraceSeconds = try reader.seconds("interrupt_grace_seconds") ?? interruptGraceSeconds
        snapshotIntervalSeconds = try reader.seconds("snapshot_interval_seconds", allowZero: true) ?? snapshotIntervalSeconds
        interruptKeys = try reader.strings("interrupt_keys") ?? interruptKeys
        submitKeys = try reader.strings("submit_keys") ?? submitKeys
        width = try reader.integer("width", in: 20...1000) ?? width
        height = try reader.integer("height", in: 5...500) ?? height
        environment = try reader.table("env") ?? [:]
        if let bad = environment.keys.first(where: { $0.isEmpty || $0.contains("=") || $0.hasPrefix("FLYWHEEL_") }) {
            throw .invalidConfig("env: '\(bad)' is not a variable name the driver lets you set")
        }
        continueOnError = try reader.bool("continue_on_error") ?? false
        claudeHook = try reader.bool("claude_hook") ?? false
        hookCommand = try reader.string("hook_command")
        hookSettings = try reader.string("hook_settings") ?? hookSettings
        if hookSettings.hasPrefix("/") || hookSettings.split(separator: "/").contains("..") {
            throw .invalidConfig("hook_settings must be a relative path inside the workspace, not \"\(hookSettings)\"")
        }
        hookTimeoutSeconds = try reader.integer("hook_timeout_seconds", in: 10...86_400) ?? hookTimeoutSeconds
        switch reader.value("sandbox") {
        case nil: sandbox = .off
        case .bool(let flag)?: sandbox = flag ? .on : .off
        case .string("auto")?: sandbox = .auto
        default: throw .invalidConfig("sandbox must be true, false or \"auto\"")
        }
        sandboxNetwork = try reader.bool("sandbox_network") ?? true
        bubblewrap = try reader.string("bubblewrap") ?? bubblewrap
        orphans = try reader.string("orphans") ?? orphans
        guard ["kill", "keep"].contains(orphans) else { throw .invalidConfig("orphans must be \"kill\" or \"keep\", not \"\(orphans)\"") }
        stateDirectory = try reader.string("state_directory") ?? StateFolder.defaultPath
        guard stateDirectory.hasPrefix("/") else { throw .invalidConfig("state_directory must be an absolute path") }

        if profile == .shell || claudeHook, !host.supportsDecisionOnlyCommands {
            throw .invalidConfig("this host (ABI \(host.abiVersion.major).\(host.abiVersion.minor)) cannot judge a command without running it; the tmux driver needs ABI 1.1")
        }
        if claudeHook, profile != .agent { throw .invalidConfig("claude_hook is for the agent profile") }
        if claudeHook, hookCommand == nil {
            // The hook runs `flywheel dcg hook` of the gateway that loaded this driver.
            guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
                  URL(fileURLWithPath: executable).lastPathComponent == "flywheel" else {
                throw .invalidConfig("claude_hook needs hook_command: this process is not the flywheel executable")
            }
            hookCommand = "\(PaneRun.shellQuoted(executable)) dcg hook"
        }
        // Claude Code lets a call through when its hook exits with anything but 2: a hook that
        // cannot start (status 127) or fails otherwise must block instead.
        if let command = hookCommand { hookCommand = "\(command) || exit 2" }
        switch sandbox {
        case .on:
            guard let path = Tmux.locate(bubblewrap) else {
                throw .invalidConfig("sandbox needs bubblewrap: install the Debian package bubblewrap (apt-get install bubblewrap)")
            }
            bubblewrap = path
        case .auto:
            bubblewrap = Tmux.locate(bubblewrap) ?? bubblewrap
        case .off:
            break
        }
    }
}
