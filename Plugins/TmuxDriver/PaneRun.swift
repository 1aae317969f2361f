import Foundation
import PluginKit

/// One run: a detached tmux session for the gateway session, its program, the task, the output as
/// events, and the session killed at the end whatever the outcome.
final class PaneRun {
    let configuration: TmuxConfiguration
    let tmux: Tmux
    let control: RunControl
    let task: DriverTask
    let name: String
    let directory: URL
    let workspace: URL
    private var output: PaneOutput!
    private var lastSnapshot = ContinuousClock.now
    private var relay: HookRelay?
    private var createdSession = false
    private var ownsDirectory = false
    /// A random part of the shell prompt, so command output cannot fake the end of a command.
    private let promptNonce = String(UInt64.random(in: 0...UInt64.max), radix: 16)

    struct Failure: Error {
        var message: String
    }

    init(configuration: TmuxConfiguration, control: RunControl, task: DriverTask) {
        self.configuration = configuration
        self.tmux = Tmux(executable: configuration.tmux, socket: configuration.socket)
        self.control = control
        self.task = task
        name = Self.sessionName(sessionID: task.sessionID, runID: control.run.id)
        directory = URL(fileURLWithPath: configuration.stateDirectory).appendingPathComponent(name)
        workspace = URL(fileURLWithPath: task.workspace ?? FileManager.default.currentDirectoryPath)
    }

    /// `flywheel-<session id>`: what an operator types to attach. Only characters tmux takes in a target.
    static func sessionName(sessionID: String?, runID: UInt64) -> String {
        let base = sessionID ?? "run-\(runID)-\(getpid())"
        return "flywheel-" + String(base.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(80))
    }

    /// Runs to the terminal event; the tmux session and the run's files are gone when it returns.
    func run() -> DriverEvent {
        defer { cleanUp() }
        let terminal: DriverEvent
        do {
            try start()
            terminal = try configuration.profile == .shell ? runShell() : runAgent()
        } catch let failure as Failure {
            terminal = .failed(error: failure.message, retryable: false)
        } catch is Cancelled {
            return interrupt()
        } catch {
            terminal = .failed(error: "\(error)", retryable: false)
        }
        // Whatever the outcome: the rest of the output, and the screen as it was at the end.
        flush()
        snapshot()
        return terminal
    }

    struct Cancelled: Error {}

    // MARK: Start

    private func start() throws {
        // Another live gateway's session of the same name is left alone, with its folder.
        if tmux.hasSession(name) {
            let owner = tmux.sessions(option: HostIdentity.option).first { $0.name == name }?.value ?? ""
            if HostIdentity.isAlive(owner) {
                throw Failure(message: "tmux session \(name) is already run by another gateway process (\(owner))")
            }
            tmux.killSession(name)
            emit(.status("killed tmux session \(name), left by a gateway process that is gone"))
        }
        try StateFolder.preparePrivate(configuration.stateDirectory)
        do {
            try? FileManager.default.removeItem(at: directory)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            ownsDirectory = true
        } catch {
            throw Failure(message: "cannot create the driver's state folder \(directory.path): \(error.localizedDescription)")
        }
        let logFile = directory.appendingPathComponent("pane.log")
        output = try PaneOutput(file: logFile)
        var environment = configuration.environment
        environment["FLYWHEEL_SESSION_ID"] = task.sessionID ?? ""
        environment["FLYWHEEL_WORKSPACE"] = workspace.path
        // `$TMPDIR` is the session's own folder in the workspace, as for the commands the gateway
        // runs: the guard takes paths under it for temporary, so it must really be set.
        let temporary = workspace.appendingPathComponent(".flywheel-tmp").appendingPathComponent(task.sessionID ?? name)
        do {
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        } catch {
            throw Failure(message: "cannot create the temporary folder \(temporary.path): \(error.localizedDescription)")
        }
        environment["TMPDIR"] = temporary.path
        if configuration.profile == .shell {
            // The prompt (with its marker) is a shell variable set by an rc file, not exported: the
            // programs the lines run cannot read it from their environment and fake the end of a line.
            // Bash 5.1+ shows a pasted line highlighted and writes it again when it is accepted;
            // without the highlight, the output has each line once.
            let rc = """
                PS1='[fw-\(promptNonce):$?]$ '
                PS2=''
                unset PROMPT_COMMAND
                HISTFILE=/dev/null
                bind 'set enable-active-region off' 2>/dev/null
                """
            do {
                try Data(rc.utf8).write(to: rcFile, options: .atomic)
            } catch {
                throw Failure(message: "cannot write \(rcFile.path): \(error.localizedDescription)")
            }
        }
        if configuration.claudeHook {
            let socket = directory.appendingPathComponent("hook.sock")
            do {
                let run = control.run
                relay = try HookRelay(path: socket.path, run: run, emit: { run.emit($0) })
            } catch {
                throw Failure(message: "cannot listen for the guard hook at \(socket.path): \(error)")
            }
            try ClaudeHookSettings.install(in: workspace, relativePath: configuration.hookSettings, command: configuration.hookCommand ?? "",
                                           timeoutSeconds: configuration.hookTimeoutSeconds)
            environment["FLYWHEEL_HOOK_SOCKET"] = socket.path
            environment["FLYWHEEL_HOOK_WAIT_SECONDS"] = String(max(5, configuration.hookTimeoutSeconds - 5))
        }
        // Arguments from the configuration, the task or the file system go through `Tmux.literal`:
        // to tmux a trailing ';' ends a command, and '#' in a directory or a shell command is a format.
        var arguments = ["new-session", "-d", "-s", name, "-x", String(configuration.width), "-y", String(configuration.height),
                         "-c", Tmux.literal(workspace.path, format: true)]
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) { arguments += ["-e", Tmux.literal("\(key)=\(value)")] }
        arguments += programArguments().map { Tmux.literal($0) }
        // One client call: the options and the pipe are in place before tmux reads any output.
        arguments += [";", "set-option", "-w", "-t", "=\(name):", "remain-on-exit", "on"]
        arguments += [";", "set-option", "-t", "=\(name):", HostIdentity.option, HostIdentity.current]
        arguments += [";", "pipe-pane", "-t", "=\(name):", "-o", Tmux.literal("cat >> \(Self.shellQuoted(logFile.path))", format: true)]
        createdSession = true
        do {
            try tmux.require(arguments)
        } catch {
            throw Failure(message: "cannot start the tmux session: \(error.description)")
        }
        output.restartQuietClock()
        emit(.status("tmux session \(name) started; watch or take over with: tmux -L \(configuration.socket) attach -t \(name)"))
    }

    /// Whether this run's program starts inside bubblewrap.
    private lazy var confined: Bool = {
        switch configuration.sandbox {
        case .on: return true
        case .off: return false
        case .auto:
            if let problem = BubblewrapTrial.problem(configuration.bubblewrap) {
                emit(.status("the sandbox is unavailable here (\(problem)): the program runs unconfined"))
                return false
            }
            return true
        }
    }()

    /// The pane's program: the shell, or the agent command (inside bubblewrap when configured).
    private func programArguments() -> [String] {
        let program: [String] =
            switch configuration.profile {
            case .shell: [configuration.shell, "--noprofile", "--rcfile", rcFile.path, "-i"]
            // The outer shell records the program's exit status in the run's folder: tmux's own
            // record of it is empty for status 0, and briefly for any status as the pane dies.
            case .agent: ["/bin/sh", "-c", #"/bin/sh -c "$1"; status=$?; printf '%s' "$status" > "$2"; exit "$status""#, "flywheel-agent",
                          configuration.agentCommand ?? "", statusFile.path]
            }
        guard confined else { return program }
        var sandbox = [configuration.bubblewrap, "--ro-bind", "/", "/", "--dev-bind", "/dev", "/dev", "--proc", "/proc",
                       "--tmpfs", "/tmp", "--bind", workspace.path, workspace.path, "--bind", directory.path, directory.path,
                       "--unshare-pid", "--die-with-parent", "--chdir", workspace.path]
        if !configuration.sandboxNetwork { sandbox.append("--unshare-net") }
        // The interrupt key signals the pane's whole process group, bubblewrap included, whose end
        // would kill the sandbox before the program could handle the interrupt: bubblewrap starts
        // with SIGINT and SIGQUIT ignored, and `env` gives the program their defaults back.
        let shield = ["/bin/sh", "-c", #"trap '' INT QUIT; exec "$@""#, "flywheel-sandbox"]
        return shield + sandbox + ["--", "env", "--default-signal=INT,QUIT"] + program
    }

    /// Task lines: split at LF, CR LF and lone CR alike, on the text's bytes (Swift treats CR LF as one
    /// character, so a split at "\n" alone would keep it whole).
    static func lines(of text: String) -> [String] {
        var lines: [String] = []
        var current: [UInt8] = []
        var previousWasCR = false
        for byte in text.utf8 {
            if byte == 0x0A, previousWasCR {
                previousWasCR = false
                continue
            }
            previousWasCR = byte == 0x0D
            if byte == 0x0A || byte == 0x0D {
                lines.append(String(decoding: current, as: UTF8.self))
                current.removeAll()
            } else {
                current.append(byte)
            }
        }
        lines.append(String(decoding: current, as: UTF8.self))
        return lines
    }

    /// Whether `path` is `folder` or inside it, symbolic links resolved.
    static func isInside(_ path: String, _ folder: URL) -> Bool {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let root = folder.resolvingSymlinksInPath().path
        return resolved == root || resolved.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }

    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    // MARK: Profiles

    private func runShell() throws -> DriverEvent {
        let prompt = try NSRegularExpression(pattern: "\\[fw-\(promptNonce):([0-9]+)\\]\\$ ")
        var seen = try waitFor("the shell's prompt", timeout: configuration.readyTimeoutSeconds) { self.output.firstMatch(prompt, after: 0) }
        // The shell's prompt file held the marker; the shell has read it, and programs must not.
        try? FileManager.default.removeItem(at: rcFile)
        let lines = Self.lines(of: task.prompt)
        var ran = 0, failedLines: [Int] = []
        for (index, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let number = index + 1
            let id = "line-\(number)"
            emit(.toolCall(id: id, name: "shell", inputJSON: Self.json(["command": line])))
            // What is judged must be what the shell runs: a carriage return would be a line break to
            // readline and a space to the guard, an escape could end the bracketed paste early.
            if let control = line.unicodeScalars.first(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) {
                emit(.toolResult(id: id, output: "not run: it contains a control character (U+\(String(format: "%04X", control.value)))", isError: true))
                return .failed(error: "line \(number) was not run: it contains a control character (U+\(String(format: "%04X", control.value)))",
                               retryable: false)
            }
            // The guard judges a command as run in the workspace: a shell that has left it runs nothing more.
            let current = tmux.currentPath(name)
            guard let current, Self.isInside(current, workspace) else {
                let place = current.map { "the shell's current directory \($0) is outside the workspace \(workspace.path)" }
                    ?? "tmux did not say which directory the shell is in"
                emit(.toolResult(id: id, output: "not run: \(place)", isError: true))
                return .failed(error: "line \(number) was not run: \(place)", retryable: false)
            }
            let verdict = try decide(line)
            guard verdict.delegated == true else {
                let why = [verdict.ruleId, verdict.reason].compactMap { $0 }.joined(separator: ": ")
                emit(.toolResult(id: id, output: "not run: \(why.isEmpty ? "denied" : why)", isError: true))
                return .failed(error: "line \(number) was not run (\(verdict.decision)\(why.isEmpty ? "" : ": " + why)): \(line)", retryable: false)
            }
            let sentAt = output.end
            try tmux.paste(line, into: name)
            try tmux.sendKeys(["Enter"], to: name)
            let after = max(sentAt, seen.end)
            let next = try waitFor("line \(number) to finish", timeout: configuration.commandTimeoutSeconds) {
                self.output.firstMatch(prompt, after: after)
            }
            seen = next
            ran += 1
            let status = Int32(next.groups[1]) ?? -1
            var text = output.text(from: sentAt, to: next.start)
            let missing = output.windowStart - sentAt
            if missing > 0 {
                text = "[\(missing) bytes of output before this are not in this result; the x-tmux.output events have all of it]\n" + text
            }
            // The first line is the shell echoing what was typed.
            if let newline = text.firstIndex(of: "\n") { text = String(text[text.index(after: newline)...]) } else { text = "" }
            if text.hasSuffix("\n") { text.removeLast() }
            emit(.toolResult(id: id, output: text, isError: status != 0))
            if status != 0 {
                failedLines.append(number)
                if !configuration.continueOnError {
                    return .failed(error: "line \(number) exited with status \(status): \(line)", retryable: false)
                }
            }
        }
        let summary = "\(ran) command\(ran == 1 ? "" : "s") ran in tmux session \(name)"
        return .completed(summary: failedLines.isEmpty ? summary : summary + "; lines \(failedLines.map(String.init).joined(separator: ", ")) failed")
    }

    private func runAgent() throws -> DriverEvent {
        // Ready: the pattern appears, or the program has been quiet for a while.
        try waitFor("the program to be ready", timeout: configuration.readyTimeoutSeconds) { () -> Bool? in
            if let pattern = self.configuration.readyPattern { return self.output.firstMatch(pattern, after: 0) != nil ? true : nil }
            return ContinuousClock.now - self.output.lastOutput >= .seconds(self.configuration.readyQuietSeconds) ? true : nil
        }
        // Quiet can also mean gone: a program that exited at once (not found, say) gets no task.
        switch tmux.paneState(name) {
        case .running: break
        case .exited(let reported): throw Failure(message: "\(exitDescription(reported)) before it was given the task")
        case .gone(let why): throw Failure(message: "the tmux session ended before the program was given the task (\(why))")
        }
        let sentAt = output.end
        try tmux.paste(task.prompt, into: name)
        try tmux.sendKeys(configuration.submitKeys, to: name)
        emit(.status("task sent to the program"))
        var lastPaneCheck = ContinuousClock.now - .seconds(1)
        var scannedUpTo = -1
        while true {
            try checkCancelled()
            pumpAndEmit()
            if ContinuousClock.now - lastPaneCheck >= .milliseconds(250) {
                lastPaneCheck = .now
                switch tmux.paneState(name) {
                case .running: break
                case .exited(let status): return ended(status: recordedStatus() ?? status)
                case .gone(let why): return .failed(error: "the tmux session ended before the program's exit status could be read (\(why))", retryable: false)
                }
            }
            if let pattern = configuration.donePattern, output.end != scannedUpTo {
                scannedUpTo = output.end
                if output.firstMatch(pattern, after: sentAt) != nil { return .completed(summary: "the done pattern appeared") }
            }
            if ContinuousClock.now - output.lastOutput >= .seconds(configuration.idleTimeoutSeconds) {
                return .completed(summary: "no output for \(Int(configuration.idleTimeoutSeconds)) s: the program is taken to be done")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// "the program exited with status N", from the status the wrapper recorded or tmux reported.
    private func exitDescription(_ reported: Int32?) -> String {
        let status = recordedStatus() ?? reported
        return "the program exited with " + (status.map { "status \($0)\(Self.hint($0))" } ?? "an unknown status")
    }

    /// What a shell's exit status usually means, when it names a mistake in the configuration.
    static func hint(_ status: Int32) -> String {
        switch status {
        case 127: " (command not found: check agent_command and PATH)"
        case 126: " (not executable: check agent_command)"
        default: ""
        }
    }

    private var statusFile: URL { directory.appendingPathComponent("exit-status") }
    private var rcFile: URL { directory.appendingPathComponent("shellrc") }

    /// The agent program's exit status as its wrapper recorded it.
    private func recordedStatus() -> Int32? {
        (try? String(contentsOf: statusFile, encoding: .utf8)).flatMap { Int32($0) }
    }

    /// The program exited: completed on status 0.
    private func ended(status: Int32?) -> DriverEvent {
        switch status {
        case 0?: .completed(summary: "the program exited with status 0")
        case let code?: .failed(error: "the program exited with status \(code)\(Self.hint(code))", retryable: false)
        case nil: .failed(error: "the program exited; tmux did not say with which status", retryable: false)
        }
    }

    // MARK: Waiting

    /// Pumps output until `condition` gives a value; fails after `timeout`, on cancel, or when the
    /// pane's program exits first.
    @discardableResult
    private func waitFor<T>(_ what: String, timeout: Double, _ condition: () -> T?) throws -> T {
        let deadline = ContinuousClock.now + .seconds(timeout)
        var lastCheck = ContinuousClock.now
        while true {
            try checkCancelled()
            pumpAndEmit()
            if let value = condition() { return value }
            if ContinuousClock.now >= deadline { throw Failure(message: "timed out after \(Int(timeout)) s waiting for \(what)") }
            if ContinuousClock.now - lastCheck >= .milliseconds(250) {
                lastCheck = .now
                switch tmux.paneState(name) {
                case .running: break
                case .exited(let reported):
                    pumpAndEmit()
                    if let value = condition() { return value }
                    throw Failure(message: "\(exitDescription(reported)) while waiting for \(what)")
                case .gone(let why):
                    pumpAndEmit()
                    if let value = condition() { return value }
                    throw Failure(message: "the tmux session ended while waiting for \(what) (\(why))")
                }
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Asks the gateway for a decision on `command` without running it, waiting (and streaming
    /// output meanwhile) for the answer, which may be held for an operator.
    private func decide(_ command: String) throws -> DriverRun.CommandResult {
        let answer = Locked<DriverRun.CommandResult??>(nil)
        let accepted = control.run.requestCommand(command, cwd: nil, execute: false) { result in answer.withLock { $0 = .some(result) } }
        guard accepted else { throw Failure(message: "the host did not accept a decision request for: \(command)") }
        while true {
            if let result = answer.withLock({ $0 }) {
                guard let result else {
                    try checkCancelled()
                    throw Failure(message: "the gateway gave no decision on: \(command)")
                }
                return result
            }
            try checkCancelled()
            pumpAndEmit()
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    private func checkCancelled() throws {
        if control.isCancelled { throw Cancelled() }
    }

    /// Cancel: the interrupt keys, a grace period for the program to stop, then the session is killed.
    private func interrupt() -> DriverEvent {
        guard createdSession else { return .cancelled }
        try? tmux.sendKeys(configuration.interruptKeys, to: name)
        let deadline = ContinuousClock.now + .seconds(configuration.interruptGraceSeconds)
        while ContinuousClock.now < deadline {
            pumpAndEmit()
            if tmux.paneState(name) == .running { Thread.sleep(forTimeInterval: 0.05) } else { break }
        }
        flush()
        snapshot()
        tmux.killSession(name)
        return .cancelled
    }

    // MARK: Events

    private func pumpAndEmit() {
        guard let output else { return }
        if output.pump() {
            for piece in output.takeUnsent() { emit(json: Self.json(["type": "x-tmux.output", "text": piece])) }
        }
        if configuration.snapshotIntervalSeconds > 0, ContinuousClock.now - lastSnapshot >= .seconds(configuration.snapshotIntervalSeconds) {
            snapshot()
        }
    }

    /// Reads everything the pane has printed so far.
    private func flush() {
        guard let output else { return }
        while output.pump() {}
        for piece in output.takeUnsent() { emit(json: Self.json(["type": "x-tmux.output", "text": piece])) }
    }

    /// The visible screen, as a snapshot event.
    private func snapshot() {
        lastSnapshot = .now
        // Only ever this run's own session: a same-named one of another gateway process is not ours to show.
        guard createdSession, let screen = tmux.capture(name) else { return }
        emit(json: Self.json(["type": "x-tmux.snapshot", "text": screen, "width": configuration.width, "height": configuration.height]))
    }

    private func emit(_ event: DriverEvent) {
        control.run.emit(event)
    }

    private func emit(json: String) {
        control.run.emit(json: json)
    }

    static func json(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Ends what this run made, and only that.
    private func cleanUp() {
        relay?.stop()
        if createdSession { tmux.killSession(name) }
        if ownsDirectory { try? FileManager.default.removeItem(at: directory) }
    }
}
