import Foundation
import Host
import HostTestSupport
import Testing

@Suite("sessions", .serialized)
struct SessionRunTests {
    @Test("a session runs to done; every driver event is stored in order with gapless seqs, before subscribers see it")
    func fullRun() async throws {
        let harness = try await SessionHarness()
        defer { harness.remove() }
        let agent = try await harness.agent()
        let seen = TestLock<[EventRecord]>([])
        let subscription = harness.hub.subscribe()
        let store = harness.store
        let watcher = Task {
            for await event in subscription.events {
                // Published means stored: the event must already be readable from the store.
                let stored = try? await store.events(sessionID: event.sessionID, afterSeq: event.seq - 1, limit: 1).first
                #expect(stored == event)
                seen.withLock { $0.append(event) }
            }
        }
        let session = try await harness.submit("events=2000 threads=2", agent: agent)
        let done = try await harness.waitForState(session.id, [.done, .failed])
        #expect(done.state == .done)
        let events = try await harness.events(session.id)
        #expect(events.map(\.seq) == Array(1...Int64(events.count)))
        #expect(done.lastSeq == Int64(events.count))
        let ticks = events.filter { $0.type == "x-tick" }
        #expect(ticks.count == 2000)
        for thread in [0, 1] {
            let numbers = ticks.compactMap { $0.object["t"] as? Int == thread ? $0.object["n"] as? Int : nil }
            #expect(numbers == Array(0..<1000))
        }
        #expect(events.map(\.type).prefix(3) == ["host.session.state", "host.session.state", "host.run.started"])
        #expect(events.last?.type == "host.session.state")
        #expect(events.dropLast().last?.type == "completed")
        for _ in 0..<500 where seen.withLock({ $0.count }) < events.count {
            try await Task.sleep(for: .milliseconds(20))
        }
        harness.hub.unsubscribe(subscription.id)
        await watcher.value
        #expect(seen.withLock { $0.map(\.seq) } == events.map(\.seq))
        await harness.stop()
    }

    @Test("a denied command never runs; the driver gets the decision")
    func deniedCommand() async throws {
        let harness = try await SessionHarness()
        defer { harness.remove() }
        let agent = try await harness.agent()
        let session = try await harness.submit("command=touch+marker+&&+git+reset+--hard events=1", agent: agent)
        #expect(try await harness.waitForState(session.id, [.done, .failed]).state == .done)
        #expect(!FileManager.default.fileExists(atPath: harness.workspace(of: agent).appendingPathComponent("marker").path))
        let decisions = try await harness.store.commandDecisions(sessionID: session.id)
        #expect(decisions.map(\.status) == [.blocked])
        #expect(decisions.first?.ruleID == "core.git:reset-hard")
        let events = try await harness.events(session.id)
        let decision = try #require(events.first { $0.type == "host.command.decision" })
        #expect(decision.object["decision"] as? String == "deny")
        #expect(events.contains { $0.type == "status" && ($0.object["message"] as? String) == "command deny exit none" })
        #expect(!events.contains { $0.type == "host.command.exit" })
        await harness.stop()
    }

    @Test("a driver's env that changes what runs (LD_PRELOAD) is refused with the command, which never runs")
    func unsafeRequestEnvironment() async throws {
        let harness = try await SessionHarness()
        defer { harness.remove() }
        let agent = try await harness.agent()
        let session = try await harness.submit("command=touch+marker command_env=LD_PRELOAD:/tmp/evil.so events=1", agent: agent)
        #expect(try await harness.waitForState(session.id, [.done, .failed]).state == .done)
        #expect(!FileManager.default.fileExists(atPath: harness.workspace(of: agent).appendingPathComponent("marker").path))
        let decisions = try await harness.store.commandDecisions(sessionID: session.id)
        #expect(decisions.map(\.status) == [.blocked])
        #expect(decisions.first?.ruleID == "dcg:unsafe-environment")
        #expect(decisions.first?.reason?.contains("LD_PRELOAD") == true)
        await harness.stop()
    }

    @Test("an allowed command runs in the workspace with the agent's environment; its output becomes events")
    func allowedCommand() async throws {
        let harness = try await SessionHarness()
        defer { harness.remove() }
        let agent = try await harness.agent(environment: ["GREETING": "hello"])
        let session = try await harness.submit("command=echo+$GREETING+>+made.txt;+echo+out;+echo+$TMPDIR+>+tmpdir.txt;+exit+3 events=1",
                                               agent: agent)
        #expect(try await harness.waitForState(session.id, [.done, .failed]).state == .done)
        let made = harness.workspace(of: agent).appendingPathComponent("made.txt")
        #expect(try String(contentsOf: made, encoding: .utf8) == "hello\n")
        let events = try await harness.events(session.id)
        #expect(events.contains { $0.type == "host.command.output" && ($0.object["text"] as? String) == "out\n" })
        #expect(events.first { $0.type == "host.command.exit" }?.object["exit_code"] as? Int == 3)
        #expect(events.contains { $0.type == "status" && ($0.object["message"] as? String) == "command allow exit 3" })
        #expect(try await harness.store.commandDecisions(sessionID: session.id).first?.status == .ran)
        #expect(try await harness.store.commandDecisions(sessionID: session.id).first?.exitCode == 3)
        // $TMPDIR is the session's own folder inside the workspace; the command ran in the sandbox.
        let temporary = harness.workspace(of: agent).appendingPathComponent(".flywheel-tmp/\(session.id)").path
        #expect(try String(contentsOf: harness.workspace(of: agent).appendingPathComponent("tmpdir.txt"), encoding: .utf8) == temporary + "\n")
        #expect(harness.gateway.sandbox.sandbox != nil, "bubblewrap must work here: \(harness.gateway.sandbox.summary)")
        let decision = try #require(events.first { $0.type == "host.command.decision" })
        #expect(decision.object["sandboxed"] as? Bool == true)
        #expect(decision.object["network"] as? Bool == true)
        #expect(events.first { $0.type == "host.command.exit" }?.object["sandboxed"] as? Bool == true)
        await harness.stop()
    }

    static let askPolicy: PolicyConfiguration = {
        var policy = PolicyConfiguration.default
        policy.modes["core.git"] = .ask
        return policy
    }()

    @Test("a held command waits for an operator, and runs once approved")
    func approval() async throws {
        let harness = try await SessionHarness(policy: Self.askPolicy)
        defer { harness.remove() }
        let agent = try await harness.agent()
        let session = try await harness.submit("command=git+stash+drop+||+echo+ran events=1", agent: agent)
        let pending = try await Self.waitForPending(harness)
        #expect(pending.command == "git stash drop || echo ran")
        #expect(pending.ruleID == "core.git:stash-drop")
        #expect(try await harness.store.session(id: session.id)?.state == .running)
        #expect(try await harness.approvals.approve(pending.id, by: "alice").status == .approved)
        await #expect(throws: HeldCommandAlreadyDecided.self) { try await harness.approvals.deny(pending.id, by: "late") }
        #expect(try await harness.waitForState(session.id, [.done, .failed]).state == .done)
        let events = try await harness.events(session.id)
        let answers = events.filter { $0.type == "host.command.approval" }
        #expect(answers.count == 1, "the answer is recorded once: \(answers.map(\.payload))")
        #expect(answers.first?.object["decided_by"] as? String == "alice")
        #expect(events.contains { $0.type == "host.command.output" && ($0.object["text"] as? String) == "ran\n" })
        #expect(try await harness.store.commandDecision(id: pending.id)?.status == .ran)
        await harness.stop()
    }

    @Test("a held command an operator denies never runs; one nobody answers expires")
    func approvalDeniedAndExpired() async throws {
        var limits = GatewayConfiguration.Limits()
        limits.approvalTimeoutSeconds = 1
        let harness = try await SessionHarness(limits: limits, policy: Self.askPolicy)
        defer { harness.remove() }
        let agent = try await harness.agent()
        let denied = try await harness.submit("command=git+stash+drop+;+touch+denied events=1", agent: agent)
        let pending = try await Self.waitForPending(harness)
        try await harness.approvals.deny(pending.id, by: "bob")
        #expect(try await harness.waitForState(denied.id, [.done, .failed]).state == .done)
        #expect(try await harness.events(denied.id).contains { ($0.object["message"] as? String) == "command deny exit none" })
        let expired = try await harness.submit("command=git+stash+clear+;+touch+expired events=1", agent: agent)
        #expect(try await harness.waitForState(expired.id, [.done, .failed]).state == .done)
        #expect(try await harness.store.commandDecisions(sessionID: expired.id).first?.status == .expired)
        // Each end of a held command is one event, naming who ended it.
        for (session, by) in [(denied, "bob"), (expired, "timeout")] {
            let answers = try await harness.events(session.id).filter { $0.type == "host.command.approval" }
            #expect(answers.map { $0.object["decided_by"] as? String } == [by], "\(answers.map(\.payload))")
        }
        for name in ["denied", "expired"] {
            #expect(!FileManager.default.fileExists(atPath: harness.workspace(of: agent).appendingPathComponent(name).path))
        }
        await harness.stop()
    }

    @Test("a decision-only request is judged, recorded and held like any other, and the host runs nothing")
    func decisionOnly() async throws {
        let harness = try await SessionHarness(policy: Self.askPolicy)
        defer { harness.remove() }
        let agent = try await harness.agent()
        let workspace = harness.workspace(of: agent)
        func status(_ session: SessionRecord) async throws -> String? {
            try await harness.events(session.id).last { $0.type == "status" }?.object["message"] as? String
        }
        // Allowed: handed back as delegated, and the command did not run.
        let allowed = try await harness.submit("command=touch+made-by-host decision_only=1 events=0", agent: agent)
        #expect(try await harness.waitForState(allowed.id, [.done, .failed]).state == .done)
        let allowedStatus = try await status(allowed)
        #expect(allowedStatus == "command allow exit none delegated true")
        #expect(!FileManager.default.fileExists(atPath: workspace.appendingPathComponent("made-by-host").path))
        let allowedRecord = try #require(try await harness.store.commandDecisions(sessionID: allowed.id).first)
        #expect(allowedRecord.status == .delegated)
        let decisionEvent = try #require(try await harness.events(allowed.id).first { $0.type == "host.command.decision" })
        #expect(decisionEvent.object["decision_only"] as? Bool == true)
        #expect(try await harness.events(allowed.id).contains { $0.type == "host.command.output" } == false)

        // Denied by policy: not delegated.
        let denied = try await harness.submit("command=rm+-rf+/home decision_only=1 events=0", agent: agent)
        #expect(try await harness.waitForState(denied.id, [.done, .failed]).state == .done)
        #expect(try await status(denied) == "command deny exit none delegated false")
        #expect(try await harness.store.commandDecisions(sessionID: denied.id).first?.status == .blocked)

        // Held: waits for an operator, then delegated.
        let held = try await harness.submit("command=git+stash+drop decision_only=1 events=0", agent: agent)
        let pending = try await Self.waitForPending(harness)
        #expect(pending.sessionID == held.id)
        _ = try await harness.approvals.approve(pending.id, by: "alice")
        #expect(try await harness.waitForState(held.id, [.done, .failed]).state == .done)
        #expect(try await status(held) == "command allow exit none delegated true")
        #expect(try await harness.store.commandDecision(id: pending.id)?.status == .delegated)
        await harness.stop()
    }

    static func waitForPending(_ harness: SessionHarness) async throws -> CommandDecisionRecord {
        for _ in 0..<500 {
            if let first = try await harness.store.pendingCommandDecisions(sessionID: nil).first { return first }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw SessionHarness.Timeout(description: "no command was held")
    }

    @Test("a disabled agent's sessions wait with the reason until it is enabled")
    func disabledAgent() async throws {
        let harness = try await SessionHarness()
        defer { harness.remove() }
        var agent = try await harness.agent("sleeper")
        agent.status = .disabled
        agent = try await harness.store.upsertAgent(agent)
        let session = try await harness.submit("events=1", agent: agent)
        let waiting = try await harness.waitFor(session.id, "a waiting reason") { $0.waitingReason != nil }
        #expect(waiting.state == .queued)
        #expect(waiting.waitingReason == "agent sleeper is disabled")
        agent.status = .active
        _ = try await harness.store.upsertAgent(agent)
        harness.scheduler.wake()
        #expect(try await harness.waitForState(session.id, [.done, .failed]).state == .done)
        await harness.stop()
    }

    @Test("a session whose driver is not loaded fails with the reason")
    func unknownDriver() async throws {
        let harness = try await SessionHarness()
        defer { harness.remove() }
        let agent = try await harness.agent("ghost", driver: "test.missing")
        let session = try await harness.submit("anything", agent: agent)
        let failed = try await harness.waitForState(session.id, [.failed])
        #expect(failed.error == "driver 'test.missing' is not loaded")
        await harness.stop()
    }
}
