import Foundation

/// How agent commands are confined beneath the command guard (`[sandbox]` in `flywheel.toml`).
public struct SandboxSettings: Sendable, Equatable {
    public enum Mode: String, Sendable, Equatable, CaseIterable {
        /// Use bubblewrap when it works here; run unconfined (and say so) when it does not.
        case auto
        /// Refuse to run commands unless bubblewrap works.
        case required
        /// Never confine commands.
        case off
    }

    public var mode: Mode = .auto
    /// Whether commands may reach the network, for agents that do not say.
    public var network = true

    public init(mode: Mode = .auto, network: Bool = true) {
        self.mode = mode
        self.network = network
    }
}

/// A bubblewrap (`bwrap`) sandbox for agent commands: the file system read-only but for the
/// workspace, a private `/tmp`, `/dev` and `/proc` of the sandbox's own, the gateway's data
/// directory and plugin files hidden, and the network shared or not per request.
///
/// The command stays in the process group the executor made, so a timeout or cancel still reaches
/// everything it started; `--die-with-parent` and the PID namespace end the rest when bwrap ends.
public struct Sandbox: Sendable, Equatable {
    /// The `bwrap` executable.
    public let executable: String
    /// What `bwrap --version` printed.
    public let version: String
    /// Directories and files the command must not see (replaced by an empty directory or file).
    public let hiddenPaths: [String]

    public init(executable: String, version: String, hiddenPaths: [String]) {
        self.executable = executable
        self.version = version
        self.hiddenPaths = hiddenPaths
    }

    /// The arguments to `bwrap` that confine a command running in `directory`, writing only to
    /// `writableRoot`, and then run `/bin/sh -c command`.
    func arguments(command: String, directory: String, writableRoot: String, network: Bool) -> [String] {
        var arguments = [
            "--die-with-parent", "--unshare-all", network ? "--share-net" : nil,
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
        ].compactMap { $0 }
        // A hidden path that holds the workspace (the default workspaces live in the data
        // directory) is hidden first and the workspace mounted inside it; one inside the workspace
        // is hidden after, so it stays hidden.
        let isInside = { (path: String, root: String) in path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/") }
        let outer = hiddenPaths.filter { !isInside($0, writableRoot) }
        let inner = hiddenPaths.filter { isInside($0, writableRoot) && $0 != writableRoot }
        arguments += outer.flatMap(Self.hide)
        arguments += ["--bind", writableRoot, writableRoot]
        arguments += inner.flatMap(Self.hide)
        arguments += ["--chdir", directory, "--", "/bin/sh", "-c", command]
        return arguments
    }

    private static func hide(_ path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        return isDirectory.boolValue ? ["--tmpfs", path] : ["--ro-bind", "/dev/null", path]
    }

    /// Finds `bwrap` on the search path and checks that it can really confine a command here (user
    /// namespaces may be disabled, or the host may already be in a container that forbids them).
    /// Runs processes: call it once, at start-up, off the cooperative pool's hot path.
    public static func probe(hiddenPaths: [URL], searchPath: String = "/usr/local/bin:/usr/bin:/bin") async -> SandboxStatus {
        guard let executable = searchPath.split(separator: ":").map({ "\($0)/bwrap" })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return .unavailable(reason: "bwrap (Debian package bubblewrap) is not installed")
        }
        // Both runs take the executor's own path, so the trial is the way agent commands will run.
        let root = FileManager.default.temporaryDirectory
        func probeRun(_ command: String, in sandbox: Sandbox?) async -> (ok: Bool, output: String) {
            do {
                let outcome = try await CommandExecutor(sandbox: sandbox).run(
                    CommandRunRequest(command: command, workingDirectory: root, timeout: .seconds(10), outputLimit: 4096, network: false)) { _ in }
                return (outcome.exitCode == 0, (outcome.stdoutText + outcome.stderrText).trimmingShellSpace)
            } catch {
                return (false, "\(error)")
            }
        }
        let version = await probeRun("'\(executable)' --version", in: nil)
        guard version.ok else {
            return .unavailable(reason: "\(executable) --version failed: \(version.output)")
        }
        let sandbox = Sandbox(executable: executable, version: version.output,
                              hiddenPaths: hiddenPaths.map { $0.standardizedFileURL.path })
        let trial = await probeRun("exit 0", in: sandbox)
        guard trial.ok else {
            return .unavailable(reason: "bwrap cannot create a sandbox here: \(trial.output)")
        }
        return .active(sandbox)
    }
}

/// Whether commands run sandboxed, as the log, `plugins list` and health output say it.
public enum SandboxStatus: Sendable, Equatable {
    case active(Sandbox)
    /// `[sandbox] mode = "off"`.
    case disabled
    /// bubblewrap is missing or cannot confine commands here.
    case unavailable(reason: String)

    public var sandbox: Sandbox? {
        if case .active(let sandbox) = self { return sandbox }
        return nil
    }

    public var summary: String {
        switch self {
        case .active(let sandbox): "commands run sandboxed (\(sandbox.version))"
        case .disabled: "commands run unconfined: [sandbox] mode = \"off\""
        case .unavailable(let reason): "commands run unconfined: \(reason)"
        }
    }
}

/// A sandbox that `[sandbox] mode = "required"` asks for and this machine cannot give.
public struct SandboxUnavailable: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { "the sandbox is required ([sandbox] mode = \"required\") but unavailable: \(reason)" }
}
