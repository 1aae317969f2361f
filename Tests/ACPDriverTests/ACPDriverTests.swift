import Foundation
@_spi(Testing) import Host
import HostTestSupport
import Testing

/// The ACP driver, loaded with dlopen from this build's libACPDriver.so by a whole gateway, driving
/// test agents written with the Python `agent-client-protocol` SDK from PyPI (Tests/Fixtures/acp),
/// each a real process speaking JSON-RPC over stdio.
@Suite("ACP driver", .serialized)
struct ACPDriverTests {
    /// The Python with `agent-client-protocol`.
    static let python = TestPaths.testPython

    static let agentScript = TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/acp/test_agent.py").path

    struct Fixture {
        let harness: SessionHarness

        init(policy: PolicyConfiguration = .default, reopening previous: TemporaryDirectory? = nil) async throws {
            guard FileManager.default.isExecutableFile(atPath: ACPDriverTests.python) else {
                throw SessionHarness.Timeout(description: "no Python with agent-client-protocol at \(ACPDriverTests.python): run scripts/install-deps --tests")
            }
            if let previous {
                harness = try await SessionHarness(policy: policy, directory: previous)
                return
            }
            let directory = try TemporaryDirectory("acp")
            try directory.write("plugins.d/acp.toml", "path = \"\(TestPaths.library("ACPDriver").path)\"\n")
            harness = try await SessionHarness(policy: policy, directory: directory)
        }

        /// An agent running the test agent in `mode`; `config` is merged over it.
        func agent(_ mode: String, _ config: [String: Any] = [:], name: String? = nil) async throws -> AgentRecord {
            var merged: [String: Any] = ["command": [ACPDriverTests.python, ACPDriverTests.agentScript, mode], "request_timeout_seconds": 30]
            merged.merge(config) { $1 }
            let json = String(decoding: try JSONSerialization.data(withJSONObject: merged), as: UTF8.self)
            return try await harness.store.upsertAgent(AgentRecord(name: name ?? mode, driverID: "flywheel.acp", configJSON: json))
        }

        /// Runs `task` on `agent` to an end state.
        func run(_ task: String, _ agent: AgentRecord) async throws -> (SessionRecord, [EventRecord]) {
            try await harness.run(task, agent)
        }

        func waitForEvent(_ sessionID: String, _ type: String) async throws {
            try await harness.waitForEvent(sessionID, type)
        }

        func finish() async {
            await harness.stop()
            harness.remove()
        }
    }

    static func text(_ events: [EventRecord], _ type: String, role: String? = nil) -> String {
        events.filter { $0.type == type && (role == nil || $0.object["role"] as? String == role) }
            .compactMap { $0.object["text"] as? String }.joined()
    }

    /// The JSON object the test agent reported as its last message.
    static func report(_ events: [EventRecord]) throws -> [String: Any] {
        let text = Self.text(events, "message", role: "assistant")
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        return try #require(object, "the agent's report: \(text)")
    }

    @Test("an agent's streamed reply, thoughts, plan and other updates become events, from created to done")
    func streamedReply() async throws {
        let fixture = try await Fixture()
        let task = "Summarise the repository in one line, please."
        let (ended, events) = try await fixture.run(task, try await fixture.agent("stream"))
        #expect(ended.state == .done, "\(ended.error ?? "")")
        #expect(Self.text(events, "message", role: "assistant") == task)
        #expect(Self.text(events, "thinking") == "thinking about it")
        let plan = try #require(events.first { $0.type == "x-acp.plan" }?.object["entries"] as? [[String: Any]])
        #expect(plan.first?["content"] as? String == "echo the task")
        #expect(events.contains { $0.type == "x-acp.current_mode_update" })
        #expect(events.contains { $0.type == "x-acp.session" && ($0.object["acp_session_id"] as? String)?.hasPrefix("sess-") == true })
        #expect(Self.text(events, "x-acp.stderr").contains("initialize from flywheel, terminal=True"))
        #expect(events.last { $0.type == "completed" }?.object["summary"] as? String == task)
        // Chunks that arrive together are stored together: fewer message events than chunks.
        #expect(events.filter { $0.type == "message" }.count <= (task.count + 2) / 3)

        // The agent process starts in the workspace, or in `cwd` inside it.
        let agent = try await fixture.agent("stream", ["cwd": "tools"], name: "in-tools")
        let tools = fixture.harness.workspace(of: agent).appendingPathComponent("tools")
        try FileManager.default.createDirectory(at: tools, withIntermediateDirectories: true)
        let (_, moved) = try await fixture.run("x", agent)
        #expect(Self.text(moved, "x-acp.stderr").contains("cwd=\(tools.resolvingSymlinksInPath().path)\n"), "\(Self.text(moved, "x-acp.stderr"))")
        await fixture.finish()
    }

    @Test("a permission request for a shell command is decided by the gateway's policy and stored")
    func permissionRequests() async throws {
        let fixture = try await Fixture()
        let agent = try await fixture.agent("permission")
        let (allowed, allowedEvents) = try await fixture.run("ls -la", agent)
        #expect(allowed.state == .done, "\(allowed.error ?? "")")
        #expect(allowedEvents.last { $0.type == "completed" }?.object["summary"] as? String == "outcome=selected:yes")
        let allowedDecisions: [CommandDecisionRecord] = try await fixture.harness.store.commandDecisions(sessionID: allowed.id)
        #expect(allowedDecisions.map(\.command) == ["ls -la"])
        #expect(allowedDecisions.map(\.status) == [.delegated])

        let (denied, deniedEvents) = try await fixture.run("rm -rf /home", agent)
        #expect(denied.state == .done)
        #expect(deniedEvents.last { $0.type == "completed" }?.object["summary"] as? String == "outcome=selected:no")
        let deniedDecisions: [CommandDecisionRecord] = try await fixture.harness.store.commandDecisions(sessionID: denied.id)
        #expect(deniedDecisions.map(\.status) == [.blocked])
        let permission = try #require(deniedEvents.first { $0.type == "x-acp.permission" }?.object)
        #expect(permission["decision"] as? String == "reject")
        #expect(permission["option_id"] as? String == "no")
        #expect((permission["reason"] as? String)?.contains("refused by the gateway's policy") == true, "\(permission)")
        let results = deniedEvents.filter { $0.type == "tool_result" }
        #expect(results.first?.object["is_error"] as? Bool == true)
        #expect(results.first?.object["output"] as? String == "permission: selected no")

        // Not a shell command: other_tools decides, and nothing goes to the policy.
        for (setting, outcome) in [("allow", "outcome=selected:yes"), ("reject", "outcome=selected:no")] {
            let editor = try await fixture.agent("permission", ["other_tools": setting], name: "edit-\(setting)")
            let (ended, events) = try await fixture.run("edit:notes.txt", editor)
            #expect(events.last { $0.type == "completed" }?.object["summary"] as? String == outcome, "\(setting): \(ended.error ?? "")")
            let decisions: [CommandDecisionRecord] = try await fixture.harness.store.commandDecisions(sessionID: ended.id)
            #expect(decisions.isEmpty)
            #expect(events.first { $0.type == "x-acp.permission" }?.object["kind"] as? String == "edit")
        }
        // Only allow_always offered: refused, or the agent would stop asking.
        let (always, alwaysEvents) = try await fixture.run("always:ls -la", agent)
        #expect(alwaysEvents.last { $0.type == "completed" }?.object["summary"] as? String == "outcome=selected:no", "\(always.error ?? "")")
        #expect((alwaysEvents.first { $0.type == "x-acp.permission" }?.object["reason"] as? String)?.contains("no allow_once option") == true)
        // An edit outside the workspace is refused whatever other_tools says.
        let (outside, outsideEvents) = try await fixture.run("edit:/etc/hosts", try await fixture.agent("permission", name: "edit-outside"))
        #expect(outsideEvents.last { $0.type == "completed" }?.object["summary"] as? String == "outcome=selected:no", "\(outside.error ?? "")")
        #expect((outsideEvents.first { $0.type == "x-acp.permission" }?.object["reason"] as? String)?.contains("outside the session's workspace") == true)
        await fixture.finish()
    }

    @Test("an agent that asks for authentication gets its only method, or the session fails naming the methods")
    func authentication() async throws {
        let fixture = try await Fixture()
        let single = try await fixture.agent("auth", ["env": ["ACP_TEST_AUTH_METHODS": "token", "ACP_TEST_TOKEN": "secret"]], name: "single")
        let (automatic, automaticEvents) = try await fixture.run("hello", single)
        #expect(automatic.state == .done, "\(automatic.error ?? "")")
        #expect(automaticEvents.contains { $0.type == "status" && $0.object["message"] as? String == "the agent asked for authentication; using its only method, token" })

        let several = ["ACP_TEST_AUTH_METHODS": "browser,token", "ACP_TEST_TOKEN": "secret"]
        let (unchosen, _) = try await fixture.run("hello", try await fixture.agent("auth", ["env": several], name: "unchosen"))
        #expect(unchosen.error == "the agent requires authentication: set auth_method to one of: browser, token")

        let (chosen, _) = try await fixture.run("hello", try await fixture.agent("auth", ["env": several, "auth_method": "token"], name: "chosen"))
        #expect(chosen.state == .done, "\(chosen.error ?? "")")

        let wrong = ["ACP_TEST_AUTH_METHODS": "token", "ACP_TEST_TOKEN": "not-it"]
        let (refused, _) = try await fixture.run("hello", try await fixture.agent("auth", ["env": wrong], name: "wrong"))
        #expect(refused.error?.hasPrefix("the agent refused authenticate: Authentication failed (code -32000)") == true, "\(refused.error ?? "")")
        await fixture.finish()
    }

    @Test("a permission the policy puts on hold waits for an operator")
    func heldPermission() async throws {
        var policy = PolicyConfiguration.default
        policy.modes["core.git"] = .ask
        let fixture = try await Fixture(policy: policy)
        let session = try await fixture.harness.submit("git stash drop", agent: try await fixture.agent("permission"))
        var pending: CommandDecisionRecord?
        for _ in 0..<1_000 where pending == nil {
            pending = try await fixture.harness.store.pendingCommandDecisions(sessionID: session.id).first
            if pending == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        let held = try #require(pending, "the command was not held")
        #expect(held.command == "git stash drop")
        #expect(try await fixture.harness.store.session(id: session.id)?.state == .running)
        _ = try await fixture.harness.approvals.approve(held.id, by: "alice")
        let ended = try await fixture.harness.waitForState(session.id, [.done, .failed], timeout: .seconds(60))
        #expect(ended.state == .done)
        let events = try await fixture.harness.events(session.id)
        #expect(events.last { $0.type == "completed" }?.object["summary"] as? String == "outcome=selected:yes")
        await fixture.finish()
    }

    @Test("terminal commands run through the gateway: policy first, then in the workspace, output and exit served back")
    func terminals() async throws {
        let fixture = try await Fixture()
        let agent = try await fixture.agent("terminal")
        let (ran, ranEvents) = try await fixture.run("echo out; echo \"$ACP_GREETING\" >&2; pwd; exit 3", agent)
        #expect(ran.state == .done, "\(ran.error ?? "")")
        let report = try Self.report(ranEvents)
        #expect(report["exit"] as? Int == 3)
        #expect(report["final"] as? Int == 3)
        let output = report["output"] as? String ?? ""
        #expect(output.contains("out\n") && output.contains("hello from env"), "\(output)")
        let workspace = fixture.harness.workspace(of: agent).resolvingSymlinksInPath().path
        #expect(output.contains(workspace), "\(output)")
        let decisions: [CommandDecisionRecord] = try await fixture.harness.store.commandDecisions(sessionID: ran.id)
        #expect(decisions.map(\.status) == [.ran])
        #expect(ranEvents.contains { $0.type == "host.command.exit" })

        let (denied, deniedEvents) = try await fixture.run("rm -rf /home", agent)
        #expect(denied.state == .done)
        let deniedReport = try Self.report(deniedEvents)
        #expect(deniedReport["exit"] as? Int == 126)
        #expect((deniedReport["output"] as? String)?.contains("the gateway did not run this command") == true, "\(deniedReport)")
        let deniedDecisions: [CommandDecisionRecord] = try await fixture.harness.store.commandDecisions(sessionID: denied.id)
        #expect(deniedDecisions.map(\.status) == [.blocked])
        await fixture.finish()
    }

    @Test("file reads and writes stay inside the workspace: no '..', no absolute path elsewhere, no link out")
    func files() async throws {
        let fixture = try await Fixture()
        let agent = try await fixture.agent("files")
        let workspace = fixture.harness.workspace(of: agent)
        try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
        try "first\nsecond\nthird\n".write(to: workspace.appendingPathComponent("input.txt"), atomically: true, encoding: .utf8)
        let outside = fixture.harness.directory.file("outside-target")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: workspace.appendingPathComponent("link-out"), withDestinationURL: outside)
        let (ended, events) = try await fixture.run("go", agent)
        #expect(ended.state == .done, "\(ended.error ?? "")")
        let report = try Self.report(events)
        #expect(report["read"] as? String == "first\nsecond\nthird\n")
        #expect(report["line2"] as? String == "second")
        #expect(report["unknown_method"] as? Int == -32601)
        #expect((report["git"] as? String)?.contains("inside a .git folder") == true, "\(report["git"] ?? "none")")
        #expect((report["fifo"] as? String)?.contains("is not a regular file") == true, "\(report["fifo"] ?? "none")")
        #expect((report["root"] as? String)?.contains("is the workspace itself") == true, "\(report["root"] ?? "none")")
        for key in ["escape", "absolute", "link", "read_outside"] {
            #expect((report[key] as? String)?.contains("outside the session's workspace") == true, "\(key): \(report[key] ?? "none")")
        }
        let written = try String(contentsOf: workspace.appendingPathComponent("out/result.txt"), encoding: .utf8)
        #expect(written == "FIRST\nSECOND\nTHIRD\n")
        #expect(!FileManager.default.fileExists(atPath: outside.appendingPathComponent("x.txt").path))
        #expect(!FileManager.default.fileExists(atPath: workspace.deletingLastPathComponent().appendingPathComponent("outside.txt").path))
        #expect(events.contains { $0.type == "x-acp.file_written" && $0.object["path"] as? String == "out/result.txt" })
        #expect(events.filter { $0.type == "x-acp.file_refused" }.count == 5)
        await fixture.finish()
    }

    @Test("an agent that crashes, writes garbage, floods or never answers fails the session with a clear reason")
    func misbehavingAgents() async throws {
        let fixture = try await Fixture()
        let (crashed, crashEvents) = try await fixture.run("x", try await fixture.agent("crash"))
        #expect(crashed.state == .failed)
        #expect(crashed.error?.contains("the agent closed its output during session/prompt (it exited with status 3)") == true, "\(crashed.error ?? "")")
        #expect(crashed.error?.contains("crashing on purpose") == true, "\(crashed.error ?? "")")
        #expect(Self.text(crashEvents, "message", role: "assistant") == "about to crash")

        let (garbage, _) = try await fixture.run("x", try await fixture.agent("garbage", ["cancel_grace_seconds": 1]))
        #expect(garbage.error == "the agent sent a line that is not JSON-RPC 2.0: this is not json", "\(garbage.error ?? "")")

        let (flooded, _) = try await fixture.run("x", try await fixture.agent("flood", ["max_message_bytes": 1 << 20, "cancel_grace_seconds": 1]))
        #expect(flooded.error?.hasPrefix("the agent sent a message longer than 1048576 bytes without a line end (max_message_bytes)") == true, "error: \(flooded.error ?? "none")")

        let (silent, _) = try await fixture.run("x", try await fixture.agent("deaf", ["prompt_timeout_seconds": 1, "cancel_grace_seconds": 1]))
        #expect(silent.error == "the agent did not answer session/prompt within 1 s", "\(silent.error ?? "")")

        let (chatty, _) = try await fixture.run("x", try await fixture.agent("chatty", ["prompt_timeout_seconds": 1, "cancel_grace_seconds": 1]))
        #expect(chatty.error == "the agent did not answer session/prompt within 1 s", "an agent that keeps talking still times out: \(chatty.error ?? "")")

        let started = ContinuousClock.now
        let (orphaning, _) = try await fixture.run("x", try await fixture.agent("grandchild", ["cancel_grace_seconds": 1]))
        #expect(orphaning.error?.hasPrefix("the agent exited during session/prompt (it exited with status 3)") == true, "\(orphaning.error ?? "")")
        #expect(ContinuousClock.now - started < .seconds(20), "noticed though a child of the agent keeps its output open")

        let (missing, _) = try await fixture.run("x", try await fixture.agent("stream", ["command": ["no-such-acp-agent-x"]], name: "missing"))
        #expect(missing.error?.hasPrefix("cannot start the ACP agent: program 'no-such-acp-agent-x' was not found") == true, "\(missing.error ?? "")")
        await fixture.finish()
    }

    @Test("cancel sends session/cancel and the agent ends its turn; one that ignores it is stopped after the grace time")
    func cancel() async throws {
        let fixture = try await Fixture()
        for (mode, grace) in [("hang", 10.0), ("deaf", 0.5)] {
            let session = try await fixture.harness.submit("x", agent: try await fixture.agent(mode, ["cancel_grace_seconds": grace]))
            try await fixture.waitForEvent(session.id, "message")
            _ = try await fixture.harness.scheduler.cancel(sessionID: session.id)
            let ended = try await fixture.harness.waitForState(session.id, [.done, .failed, .cancelled], timeout: .seconds(30))
            #expect(ended.state == .cancelled, "\(mode): \(ended.error ?? "")")
            let statuses = try await fixture.harness.events(session.id).compactMap { $0.type == "status" ? $0.object["message"] as? String : nil }
            #expect(statuses.contains("asked the agent to cancel its turn (session/cancel)"))
            #expect(statuses.contains { $0.hasPrefix("the agent did not end its turn") } == (mode == "deaf"), "\(mode): \(statuses)")
        }
        await fixture.finish()
    }

    @Test("an agent that stops reading its input holds up nothing: the run is still cancelled and the agent stopped")
    func agentStopsReading() async throws {
        let fixture = try await Fixture()
        let agent = try await fixture.agent("deafread", ["cancel_grace_seconds": 1])
        let workspace = fixture.harness.workspace(of: agent)
        try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
        try String(repeating: "0123456789abcde\n", count: 4 << 16).write(to: workspace.appendingPathComponent("input.txt"), atomically: true, encoding: .utf8)
        let session = try await fixture.harness.submit("x", agent: agent)
        try await fixture.waitForEvent(session.id, "message")
        try await Task.sleep(for: .milliseconds(500))
        _ = try await fixture.harness.scheduler.cancel(sessionID: session.id)
        let ended = try await fixture.harness.waitForState(session.id, [.done, .failed, .cancelled], timeout: .seconds(30))
        #expect(ended.state == .cancelled, "\(ended.error ?? "")")
        let statuses = try await fixture.harness.events(session.id).compactMap { $0.type == "status" ? $0.object["message"] as? String : nil }
        #expect(statuses.contains { $0.hasPrefix("the agent did not end its turn") }, "\(statuses)")
        await fixture.finish()
    }

    @Test("a paused session resumes in a new agent process through session/load, without storing the history twice")
    func pauseAndResume() async throws {
        let fixture = try await Fixture()
        let state = fixture.harness.directory.file("agent-state.json").path
        let agent = try await fixture.agent("resumable", ["env": ["ACP_TEST_STATE": state]])
        let session = try await fixture.harness.submit("wait for me", agent: agent)
        try await fixture.waitForEvent(session.id, "message")
        try await fixture.harness.sessions.pause(session.id)
        let paused = try await fixture.harness.waitForState(session.id, [.paused, .failed, .done], timeout: .seconds(30))
        #expect(paused.state == .paused, "\(paused.error ?? "")")
        _ = try await fixture.harness.scheduler.resume(sessionID: session.id)
        let ended = try await fixture.harness.waitForState(session.id, [.done, .failed, .cancelled], timeout: .seconds(60))
        #expect(ended.state == .done, "\(ended.error ?? "")")
        let events = try await fixture.harness.events(session.id)
        let sessions = events.filter { $0.type == "x-acp.session" }.compactMap { $0.object["acp_session_id"] as? String }
        #expect(sessions.count == 2 && Set(sessions).count == 1, "the same agent session both times: \(sessions)")
        #expect(events.contains { $0.type == "status" && ($0.object["message"] as? String)?.hasPrefix("loaded the agent's session") == true })
        let messages = events.filter { $0.type == "message" && $0.object["role"] as? String == "assistant" }.compactMap { $0.object["text"] as? String }
        #expect(messages.first == "turn 1: wait for me")
        #expect(messages.last?.hasPrefix("turn 3: The session was paused and has been resumed.") == true, "\(messages)")
        #expect(messages.count == 2, "the replayed history is not stored again: \(messages)")
        await fixture.finish()
    }

    @Test("a session running when the gateway stops, gracefully or not, resumes in the next gateway through session/load",
          arguments: [true, false])
    func restart(graceful: Bool) async throws {
        let (directory, sessionID) = try await Self.startAndStop(graceful: graceful)
        let second = try await Fixture(reopening: directory)
        let session = try #require(try await second.harness.store.session(id: sessionID))
        let ended = try await second.harness.waitForState(session.id, [.done, .failed, .cancelled], timeout: .seconds(60))
        #expect(ended.state == .done, "\(ended.error ?? "")")
        let events = try await second.harness.events(session.id)
        #expect(events.contains { $0.type == "status" && ($0.object["message"] as? String)?.hasPrefix("loaded the agent's session") == true })
        let messages = events.filter { $0.type == "message" && $0.object["role"] as? String == "assistant" }.compactMap { $0.object["text"] as? String }
        #expect(messages.first == "turn 1: wait for the restart")
        #expect(messages.last?.hasPrefix("turn 3: ") == true, "\(messages)")
        await second.finish()
    }

    /// Starts a session on a gateway of its own and stops that gateway mid-turn; the gateway is gone
    /// (and its hold on the data directory with it) when this returns.
    static func startAndStop(graceful: Bool) async throws -> (TemporaryDirectory, String) {
        let first = try await Fixture()
        let state = first.harness.directory.file("agent-state.json").path
        let agent = try await first.agent("resumable", ["env": ["ACP_TEST_STATE": state]])
        let session = try await first.harness.submit("wait for the restart", agent: agent)
        try await first.waitForEvent(session.id, "x-acp.session")
        try await first.waitForEvent(session.id, "message")
        if graceful {
            try await first.harness.shutDown()  // checkpoints the run and queues the session again
        } else {
            await first.harness.stop()  // as a killed host: the session stays running, its last offered checkpoint stored
        }
        return (first.harness.directory, session.id)
    }

    @Test("configuration mistakes are refused naming the key")
    func configurationErrors() async throws {
        let fixture = try await Fixture()
        let cases: [([String: Any], String)] = [
            (["command": [String]()], "command must be a non-empty list of strings"),
            (["command": "", "args": ["x"]], "command must name the agent program"),
            (["args": "x"], "args must be a list of strings"),
            (["comand": ["x"]], "unknown key 'comand'"),
            (["other_tools": "maybe"], "other_tools must be \"allow\" or \"reject\""),
            (["env": ["FLYWHEEL_SECRET": "x"]], "env: 'FLYWHEEL_SECRET' is not a variable name"),
            (["prompt_timeout_seconds": "soon"], "prompt_timeout_seconds must be a number of seconds"),
            (["auth_method": "oauth"], "auth_method 'oauth' is not one the agent offers (none)"),
        ]
        for (index, (config, message)) in cases.enumerated() {
            let agent = try await fixture.agent("stream", config, name: "bad-\(index)")
            let (ended, _) = try await fixture.run("x", agent)
            #expect(ended.state == .failed)
            #expect(ended.error?.contains(message) == true, "\(config): \(ended.error ?? "")")
        }
        await fixture.finish()
    }
}
