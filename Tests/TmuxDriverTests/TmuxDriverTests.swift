import Foundation
@_spi(Testing) import Host
import HostTestSupport
import Testing

/// The tmux driver, loaded with dlopen from this build's libTmuxDriver.so by a whole gateway, driving
/// real tmux on a server socket of each test's own.
@Suite("tmux driver", .serialized)
struct TmuxDriverTests {
    /// A gateway with the tmux driver in plugins.d, and the socket its tests use.
    struct Fixture {
        let harness: SessionHarness
        let socket: String

        init(policy: PolicyConfiguration = .default) async throws {
            let directory = try TemporaryDirectory("tmux")
            try directory.write("plugins.d/tmux.toml", "path = \"\(TestPaths.library("TmuxDriver").path)\"\n")
            harness = try await SessionHarness(policy: policy, directory: directory)
            socket = "flywheel-test-\(UInt32.random(in: 0...UInt32.max))"
        }

        /// An agent on the tmux driver; `config` is merged over the test socket and short timeouts.
        func agent(_ config: [String: Any], name: String = "term") async throws -> AgentRecord {
            var merged: [String: Any] = ["socket": socket, "ready_timeout_seconds": 20, "snapshot_interval_seconds": 0]
            merged.merge(config) { $1 }
            let json = String(decoding: try JSONSerialization.data(withJSONObject: merged), as: UTF8.self)
            return try await harness.store.upsertAgent(AgentRecord(name: name, driverID: "flywheel.tmux", configJSON: json))
        }

        /// Runs tmux on the test socket; its exit status. Through Python's subprocess with every
        /// other descriptor closed: a tmux server this call starts lives on, and Foundation's
        /// Process would wait for a descriptor the server inherits.
        func tmux(_ arguments: [String]) throws -> Int32 {
            // The signal mask is cleared too: the test process's threads block signals, and a tmux
            // server that inherits that mask never reaps its panes.
            let script = "import signal, subprocess, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); "
                + "sys.exit(subprocess.run(sys.argv[1:], close_fds=True, stdin=subprocess.DEVNULL, "
                + "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode)"
            return try ProcessRunner.run(command: "python3", ["-c", script, "tmux", "-L", socket] + arguments).status
        }

        func sessionExists(_ name: String) throws -> Bool {
            try tmux(["has-session", "-t", "=\(name)"]) == 0
        }

        /// All `x-tmux.output` text of a session.
        func output(_ sessionID: String) async throws -> String {
            try await harness.events(sessionID).filter { $0.type == "x-tmux.output" }.compactMap { $0.object["text"] as? String }.joined()
        }

        func finish() async {
            _ = try? tmux(["kill-server"])
            await harness.stop()
            harness.remove()
        }
    }

    @Test("a shell session runs each task line in the pane, from created to done, with its output streamed")
    func shellSession() async throws {
        let fixture = try await Fixture()
        let agent = try await fixture.agent(["profile": "shell"])
        let session = try await fixture.harness.submit("echo hello-from-tmux\nprintf 'one\\ntwo\\n'\n\nls missing-file || true", agent: agent)
        let ended = try await fixture.harness.waitForState(session.id, [.done, .failed, .cancelled], timeout: .seconds(60))
        let events = try await fixture.harness.events(session.id)
        #expect(ended.state == .done, "\(ended.error ?? "")")
        let results = events.filter { $0.type == "tool_result" }.map { $0.object["output"] as? String ?? "?" }
        #expect(results.count == 3)
        #expect(results.first == "hello-from-tmux")
        #expect(results.dropFirst().first == "one\ntwo")
        let calls = events.filter { $0.type == "tool_call" }.compactMap { ($0.object["input"] as? [String: Any])?["command"] as? String }
        #expect(calls == ["echo hello-from-tmux", "printf 'one\\ntwo\\n'", "ls missing-file || true"])
        let decisions: [CommandDecisionRecord] = try await fixture.harness.store.commandDecisions(sessionID: session.id)
        #expect(decisions.map(\.status) == [CommandDecisionRecord.Status.delegated, .delegated, .delegated])
        let text = try await fixture.output(session.id)
        #expect(text.contains("hello-from-tmux"))
        #expect(!text.contains("\u{1B}"), "escape sequences are stripped from output events")
        #expect(text.components(separatedBy: "echo hello-from-tmux").count == 2, "each typed line is in the output once: \(text)")
        #expect(events.contains { $0.type == "status" && ($0.object["message"] as? String)?.contains("attach -t flywheel-\(session.id)") == true })
        #expect(try fixture.sessionExists("flywheel-\(session.id)") == false, "the tmux session is cleaned up")
        await fixture.finish()
    }

    @Test("a denied line is never typed: the lines before it ran, nothing after it is sent, the session fails naming it")
    func deniedLine() async throws {
        let fixture = try await Fixture()
        let agent = try await fixture.agent(["profile": "shell", "snapshot_interval_seconds": 0])
        let session = try await fixture.harness.submit("echo before-denied\nrm -rf /home\necho after-denied", agent: agent)
        let ended = try await fixture.harness.waitForState(session.id, [.done, .failed, .cancelled], timeout: .seconds(60))
        #expect(ended.state == .failed)
        #expect(ended.error?.contains("line 2 was not run") == true, "\(ended.error ?? "")")
        let decisions: [CommandDecisionRecord] = try await fixture.harness.store.commandDecisions(sessionID: session.id)
        #expect(decisions.map(\.command) == ["echo before-denied", "rm -rf /home"])
        #expect(decisions.map(\.status) == [CommandDecisionRecord.Status.delegated, .blocked])
        let text = try await fixture.output(session.id)
        #expect(text.contains("before-denied"))
        #expect(!text.contains("rm -rf"), "the denied command never reached the pane")
        #expect(!text.contains("after-denied"))
        let screens = try await fixture.harness.events(session.id).filter { $0.type == "x-tmux.snapshot" }.compactMap { $0.object["text"] as? String }
        #expect(!screens.isEmpty && screens.allSatisfy { !$0.contains("rm -rf") })
        await fixture.finish()
    }

    @Test("what is judged is what the shell runs: a carriage return splits lines, other control characters are refused")
    func controlCharacters() async throws {
        let fixture = try await Fixture()
        let agent = try await fixture.agent(["profile": "shell"])
        // Readline takes a lone CR for Enter: the text after it is a command of its own, judged alone.
        let split = try await fixture.harness.submit("echo one\rrm -rf /home\r\necho never", agent: agent)
        let splitEnded = try await fixture.harness.waitForState(split.id, [.done, .failed], timeout: .seconds(60))
        #expect(splitEnded.error?.hasPrefix("line 2 was not run") == true, "\(splitEnded.error ?? "")")
        let splitDecisions: [CommandDecisionRecord] = try await fixture.harness.store.commandDecisions(sessionID: split.id)
        #expect(splitDecisions.map(\.command) == ["echo one", "rm -rf /home"])
        #expect(!(try await fixture.output(split.id)).contains("rm -rf"))
        // An escape could end the bracketed paste early: refused before any decision.
        let escaped = try await fixture.harness.submit("echo \u{1B}[201~hi", agent: agent)
        let escapedEnded = try await fixture.harness.waitForState(escaped.id, [.done, .failed], timeout: .seconds(60))
        #expect(escapedEnded.error == "line 1 was not run: it contains a control character (U+001B)")
        let escapedDecisions: [CommandDecisionRecord] = try await fixture.harness.store.commandDecisions(sessionID: escaped.id)
        #expect(escapedDecisions.isEmpty)
        await fixture.finish()
    }

    @Test("the shell has the session's TMPDIR, as the guard assumes, and runs nothing once it has left the workspace")
    func temporaryFolderAndWorkspace() async throws {
        let fixture = try await Fixture()
        let agent = try await fixture.agent(["profile": "shell"])
        let session = try await fixture.harness.submit("printf '%s\\n' \"$TMPDIR\"\ncd /\nls", agent: agent)
        let ended = try await fixture.harness.waitForState(session.id, [.done, .failed], timeout: .seconds(60))
        let results = try await fixture.harness.events(session.id).filter { $0.type == "tool_result" }.compactMap { $0.object["output"] as? String }
        let temporary = fixture.harness.workspace(of: agent).appendingPathComponent(".flywheel-tmp").appendingPathComponent(session.id).path
        #expect(results.first == temporary)
        #expect(ended.state == .failed)
        #expect(ended.error?.hasPrefix("line 3 was not run: the shell's current directory / is outside the workspace") == true, "\(ended.error ?? "")")
        await fixture.finish()
    }

    @Test("a state folder that is not this user's private folder is refused")
    func sharedStateFolder() async throws {
        let fixture = try await Fixture()
        let shared = fixture.harness.directory.file("shared-state")
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: shared.path)
        let agent = try await fixture.agent(["profile": "shell", "state_directory": shared.path])
        let session = try await fixture.harness.submit("echo hi", agent: agent)
        let ended = try await fixture.harness.waitForState(session.id, [.done, .failed], timeout: .seconds(60))
        #expect(ended.state == .failed)
        #expect(ended.error?.contains("is not a private folder of this user") == true, "\(ended.error ?? "")")
        #expect(try fixture.sessionExists("flywheel-\(session.id)") == false)
        await fixture.finish()
    }

    @Test("a failing line fails the session unless continue_on_error is set")
    func failingLine() async throws {
        let fixture = try await Fixture()
        let strict = try await fixture.agent(["profile": "shell"], name: "strict")
        let failed = try await fixture.harness.submit("false\necho not-reached", agent: strict)
        let ended = try await fixture.harness.waitForState(failed.id, [.done, .failed], timeout: .seconds(60))
        #expect(ended.state == .failed && ended.error == "line 1 exited with status 1: false")
        let lenient = try await fixture.agent(["profile": "shell", "continue_on_error": true], name: "lenient")
        let done = try await fixture.harness.submit("false\necho reached", agent: lenient)
        let finished = try await fixture.harness.waitForState(done.id, [.done, .failed], timeout: .seconds(60))
        #expect(finished.state == .done)
        let results = try await fixture.harness.events(done.id).filter { $0.type == "tool_result" }
        #expect(results.map { $0.object["is_error"] as? Bool } == [true, false])
        await fixture.finish()
    }

    @Test("an agent program gets a multi-line task in one paste and its exit ends the session")
    func agentMultiLineTask() async throws {
        let fixture = try await Fixture()
        let script = #"printf 'agent ready> '; while IFS= read -r line; do echo "got: $line"; [ "$line" = "done" ] && exit 0; done; exit 3"#
        let agent = try await fixture.agent(["agent_command": script, "ready_pattern": "agent ready> "])
        let session = try await fixture.harness.submit("first line\nsecond line\ndone", agent: agent)
        let ended = try await fixture.harness.waitForState(session.id, [.done, .failed, .cancelled], timeout: .seconds(60))
        #expect(ended.state == .done, "\(ended.error ?? "")")
        let text = try await fixture.output(session.id)
        #expect(text.contains("got: first line") && text.contains("got: second line") && text.contains("got: done"))
        let events = try await fixture.harness.events(session.id)
        #expect(events.last { $0.type == "completed" }?.object["summary"] as? String == "the program exited with status 0")
        #expect(try fixture.sessionExists("flywheel-\(session.id)") == false)
        await fixture.finish()
    }

    @Test("an agent that exits non-zero fails; a done pattern or idle time completes one that keeps running")
    func agentCompletion() async throws {
        let fixture = try await Fixture()
        let crashing = try await fixture.agent(["agent_command": "read line; echo bye; exit 7", "ready_quiet_seconds": 0.3], name: "crashing")
        let crashed = try await fixture.harness.submit("go", agent: crashing)
        let failed = try await fixture.harness.waitForState(crashed.id, [.done, .failed], timeout: .seconds(60))
        #expect(failed.state == .failed && failed.error == "the program exited with status 7", "\(failed.error ?? "")")

        let missing = try await fixture.agent(["agent_command": "no-such-agent-program-x", "ready_quiet_seconds": 0.3], name: "missing")
        let notFound = try await fixture.harness.submit("x", agent: missing)
        let missingEnded = try await fixture.harness.waitForState(notFound.id, [.done, .failed], timeout: .seconds(60))
        #expect(missingEnded.state == .failed)
        #expect(missingEnded.error?.contains("status 127 (command not found: check agent_command and PATH)") == true, "\(missingEnded.error ?? "")")

        let patterned = try await fixture.agent(["agent_command": "read line; echo ALL-DONE-$line; sleep 600",
                                                 "ready_quiet_seconds": 0.3, "done_pattern": "ALL-DONE-[a-z]+"], name: "patterned")
        let withPattern = try await fixture.harness.submit("x", agent: patterned)
        let patternEnded = try await fixture.harness.waitForState(withPattern.id, [.done, .failed], timeout: .seconds(60))
        #expect(patternEnded.state == .done)

        let idle = try await fixture.agent(["agent_command": "read line; echo working; sleep 600", "ready_quiet_seconds": 0.3,
                                                    "idle_timeout_seconds": 1], name: "idle")
        let idled = try await fixture.harness.submit("x", agent: idle)
        let idleEnded = try await fixture.harness.waitForState(idled.id, [.done, .failed], timeout: .seconds(60))
        #expect(idleEnded.state == .done)
        #expect(try fixture.sessionExists("flywheel-\(withPattern.id)") == false && fixture.sessionExists("flywheel-\(idled.id)") == false)
        await fixture.finish()
    }

    @Test("cancel interrupts the program, kills its tmux session, and ends the session cancelled")
    func cancel() async throws {
        let fixture = try await Fixture()
        // The marker goes in the workspace: the program runs in the sandbox where bubblewrap works.
        let agent = try await fixture.agent(["agent_command": "trap 'touch interrupted; exit 130' INT; echo waiting; while :; do sleep 0.1; done",
                                             "ready_pattern": "waiting"])
        let marker = fixture.harness.workspace(of: agent).appendingPathComponent("interrupted")
        let session = try await fixture.harness.submit("anything", agent: agent)
        for _ in 0..<1000 {
            if try await fixture.harness.events(session.id).contains(where: { ($0.object["message"] as? String) == "task sent to the program" }) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try fixture.sessionExists("flywheel-\(session.id)"))
        _ = try await fixture.harness.sessions.cancel(session.id)
        let ended = try await fixture.harness.waitForState(session.id, [.done, .failed, .cancelled], timeout: .seconds(60))
        #expect(ended.state == .cancelled)
        #expect(FileManager.default.fileExists(atPath: marker.path), "the program got the interrupt key (C-c) first")
        #expect(try fixture.sessionExists("flywheel-\(session.id)") == false)
        await fixture.finish()
    }

    @Test("a tmux session left by a gateway process that is gone is found when the driver starts, and killed")
    func orphanAtStartUp() async throws {
        let fixture = try await Fixture()
        // A process that has exited: its pid and start time name no running process.
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        #expect(try fixture.tmux(["new-session", "-d", "-s", "flywheel-orphan", "sleep 600", ";",
                                  "set-option", "-t", "=flywheel-orphan:", "@flywheel_host", "\(gone.processIdentifier):1"]) == 0)
        // An operator's own session on the same socket is not ours to touch.
        #expect(try fixture.tmux(["new-session", "-d", "-s", "operator-work", "sleep 600"]) == 0)
        #expect(try fixture.sessionExists("flywheel-orphan"))
        let agent = try await fixture.agent(["profile": "shell"])
        let session = try await fixture.harness.submit("true", agent: agent)
        let ended = try await fixture.harness.waitForState(session.id, [.done, .failed], timeout: .seconds(60))
        #expect(ended.state == .done)
        #expect(try fixture.sessionExists("flywheel-orphan") == false)
        #expect(try fixture.sessionExists("operator-work"))
        await fixture.finish()
    }

    @Test("the installed Claude Code hook asks the gateway: a destructive command is denied and recorded, a safe one allowed")
    func claudeHook() async throws {
        let fixture = try await Fixture()
        let workspace = fixture.harness.directory.file("hooked")
        try FileManager.default.createDirectory(at: workspace.appendingPathComponent(".claude"), withIntermediateDirectories: true)
        // The operator's own settings stay as they are.
        try #"{"permissions": {"allow": ["Read"]}, "hooks": {"PostToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "true"}]}]}}"#
            .write(to: workspace.appendingPathComponent(".claude/settings.local.json"), atomically: true, encoding: .utf8)
        // A stand-in for a CLI agent: it calls the PreToolUse hook the way Claude Code does, with the
        // hook command from the settings file, for two Bash commands, and prints the answers.
        let agentScript = try fixture.harness.directory.write("fake-agent.py", #"""
            import json, subprocess, sys
            settings = json.load(open(".claude/settings.local.json"))
            command = settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
            input()
            for bash in ["rm -rf /home", "ls -la"]:
                call = {"session_id": "s", "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": bash}}
                answer = subprocess.run(command, shell=True, input=json.dumps(call), capture_output=True, text=True)
                verdict = "deny" if '"permissionDecision":"deny"' in answer.stdout else ("allow" if answer.returncode == 0 else "blocked")
                print(f"HOOK {bash} -> {verdict} status={answer.returncode}", flush=True)
            sys.exit(0)
            """#)
        let config: [String: Any] = ["agent_command": "python3 \(agentScript.path)", "ready_quiet_seconds": 0.5, "claude_hook": true,
                                     "hook_command": "\(TestPaths.flywheel.path) dcg hook"]
        var record = try await fixture.agent(config)
        record.workspace = workspace.path
        record = try await fixture.harness.store.upsertAgent(record)
        let session = try await fixture.harness.submit("start", agent: record)
        let ended = try await fixture.harness.waitForState(session.id, [.done, .failed, .cancelled], timeout: .seconds(90))
        let text = try await fixture.output(session.id)
        #expect(ended.state == .done, "\(ended.error ?? "") \(text)")
        #expect(text.contains("HOOK rm -rf /home -> deny status=0"), "\(text)")
        #expect(text.contains("HOOK ls -la -> allow status=0"), "\(text)")
        let decisions: [CommandDecisionRecord] = try await fixture.harness.store.commandDecisions(sessionID: session.id)
        #expect(decisions.map(\.command) == ["rm -rf /home", "ls -la"])
        #expect(decisions.map(\.status) == [CommandDecisionRecord.Status.blocked, .delegated])
        let settings = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: workspace.appendingPathComponent(".claude/settings.local.json"))) as? [String: Any])
        #expect((settings["permissions"] as? [String: Any])?["allow"] as? [String] == ["Read"])
        let hooks = try #require(settings["hooks"] as? [String: Any])
        #expect((hooks["PostToolUse"] as? [Any])?.count == 1)
        #expect((hooks["PreToolUse"] as? [Any])?.count == 1)
        await fixture.finish()
    }

    @Test("with sandbox on, the agent's program writes its workspace and nothing else, and still gets the interrupt key")
    func sandboxedAgent() async throws {
        let fixture = try await Fixture()
        let outside = fixture.harness.directory.file("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        let agent = try await fixture.agent([
            "agent_command": "read line; touch inside.txt; touch \(outside.path)/escaped.txt 2>/dev/null; echo outside-status=$?",
            "ready_quiet_seconds": 0.3, "sandbox": true,
        ])
        let session = try await fixture.harness.submit("go", agent: agent)
        let ended = try await fixture.harness.waitForState(session.id, [.done, .failed], timeout: .seconds(60))
        let text = try await fixture.output(session.id)
        #expect(ended.state == .done, "\(ended.error ?? "") \(text)")
        #expect(FileManager.default.fileExists(atPath: fixture.harness.workspace(of: agent).appendingPathComponent("inside.txt").path))
        #expect(!FileManager.default.fileExists(atPath: outside.appendingPathComponent("escaped.txt").path))
        #expect(text.contains("outside-status=1"))

        // Cancel: the interrupt reaches the program inside the sandbox, as it does outside.
        let interruptible = try await fixture.agent(["agent_command": "trap 'touch interrupted; exit 130' INT; echo waiting; while :; do sleep 0.1; done",
                                                     "ready_pattern": "waiting", "sandbox": "auto"], name: "interruptible")
        let running = try await fixture.harness.submit("x", agent: interruptible)
        for _ in 0..<1000 {
            if try await fixture.harness.events(running.id).contains(where: { ($0.object["message"] as? String) == "task sent to the program" }) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        _ = try await fixture.harness.sessions.cancel(running.id)
        let cancelled = try await fixture.harness.waitForState(running.id, [.done, .failed, .cancelled], timeout: .seconds(60))
        #expect(cancelled.state == .cancelled)
        #expect(FileManager.default.fileExists(atPath: fixture.harness.workspace(of: interruptible).appendingPathComponent("interrupted").path))
        #expect(try await !fixture.harness.events(running.id).contains { ($0.object["message"] as? String)?.contains("sandbox is unavailable") == true })
        await fixture.finish()
    }

    @Test("large output reaches the event log whole, in bounded events")
    func largeOutput() async throws {
        let fixture = try await Fixture()
        let agent = try await fixture.agent(["profile": "shell"])
        let session = try await fixture.harness.submit("seq 1 100000", agent: agent)
        let ended = try await fixture.harness.waitForState(session.id, [.done, .failed], timeout: .seconds(120))
        #expect(ended.state == .done)
        let events = try await fixture.harness.events(session.id).filter { $0.type == "x-tmux.output" }
        let texts = events.compactMap { $0.object["text"] as? String }
        #expect(texts.allSatisfy { $0.utf8.count <= 16 * 1024 })
        let numbers = texts.joined().split(separator: "\n").compactMap { Int($0) }
        #expect(numbers.last == 100_000)
        #expect(Set(numbers).count == 100_000, "every line arrived")
        await fixture.finish()
    }

    @Test("configuration mistakes are refused with the key named; a missing tmux names the package")
    func configurationErrors() async throws {
        let fixture = try await Fixture()
        let cases: [([String: Any], String)] = [
            (["profile": "shell", "ready_patern": "x"], "unknown key 'ready_patern'"),
            (["profile": "robot"], "profile must be \"agent\" or \"shell\""),
            (["profile": "agent"], "the agent profile needs agent_command"),
            (["profile": "shell", "tmux": "/nonexistent/tmux"], "install the Debian package tmux"),
            (["profile": "shell", "ready_pattern": "("], "ready_pattern is not a valid regular expression"),
            (["profile": "shell", "idle_timeout_seconds": true], "idle_timeout_seconds must be a number of seconds"),
            (["agent_command": "x", "claude_hook": true], "claude_hook needs hook_command"),
        ]
        for (index, (config, message)) in cases.enumerated() {
            let agent = try await fixture.agent(config, name: "bad-\(index)")
            let session = try await fixture.harness.submit("x", agent: agent)
            let ended = try await fixture.harness.waitForState(session.id, [.done, .failed], timeout: .seconds(30))
            #expect(ended.state == .failed)
            #expect(ended.error?.contains(message) == true, "\(config): \(ended.error ?? "")")
        }
        await fixture.finish()
    }
}
