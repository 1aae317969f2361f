import Foundation
import Host
import HostTestSupport
import Synchronization
import Testing

@Suite("session control, limits and accounts", .serialized)
struct SessionControlTests {
    @Test("the global and per-agent concurrency limits hold while every session still completes")
    func limits() async throws {
        var limits = GatewayConfiguration.Limits()
        limits.maxConcurrentSessions = 2
        limits.maxConcurrentSessionsPerAgent = 1
        let harness = try await SessionHarness(limits: limits)
        defer { harness.remove() }
        let agents = [try await harness.agent("a"), try await harness.agent("b"), try await harness.agent("c")]
        var sessions: [SessionRecord] = []
        for agent in agents { for _ in 0..<2 { sessions.append(try await harness.submit("events=30 rate=30", agent: agent)) } }
        let agentOf = Dictionary(uniqueKeysWithValues: sessions.map { ($0.id, $0.agentID) })
        var sawQueuedWithReason = false
        var ended: [SessionRecord] = []
        while true {
            let running = await harness.scheduler.runningSessionIDs
            #expect(running.count <= 2)
            #expect(Set(running.compactMap { agentOf[$0] }).count == running.count, "two sessions of one agent ran at once")
            if try await harness.store.sessions(in: [.queued]).contains(where: { $0.waitingReason?.contains("limit") == true }) {
                sawQueuedWithReason = true
            }
            ended = try await sessions.asyncMap { try #require(try await harness.store.session(id: $0.id)) }
            if ended.allSatisfy({ $0.state == .done }) { break }
            #expect(!ended.contains { $0.state == .failed })
            try await Task.sleep(for: .milliseconds(10))
        }
        // Sampling can miss a moment of overlap on a loaded machine; the stored start and end of
        // every run cannot. At most two ran at once, never two of one agent, and the limit was used.
        let edges = ended.flatMap { session -> [(at: Date, delta: Int, agentID: String)] in
            guard let started = session.startedAt, let end = session.endedAt else { return [] }
            return [(started, 1, session.agentID), (end, -1, session.agentID)]
        }
        #expect(edges.count == 2 * sessions.count, "every session has a start and an end")
        var runningNow = 0, mostAtOnce = 0
        var perAgent: [String: Int] = [:]
        // Ends before starts at the same instant: a run that ended as the next began did not overlap it.
        for edge in edges.sorted(by: { ($0.at, $0.delta) < ($1.at, $1.delta) }) {
            runningNow += edge.delta
            perAgent[edge.agentID, default: 0] += edge.delta
            mostAtOnce = max(mostAtOnce, runningNow)
            #expect(perAgent[edge.agentID]! <= 1, "two sessions of one agent ran at once")
        }
        #expect(mostAtOnce == 2)
        #expect(sawQueuedWithReason)
        await harness.stop()
    }

    @Test("pause saves a checkpoint and stops the run; resume continues from the checkpoint to done")
    func pauseResume() async throws {
        let harness = try await SessionHarness()
        defer { harness.remove() }
        let agent = try await harness.agent()
        // Three seconds of ticks: room for the pause to land mid-run even on a slow (sanitised) build.
        let session = try await harness.submit("events=300 rate=100", agent: agent)
        try await harness.waitFor(session.id, "30 events") { $0.lastSeq > 30 }
        try await harness.sessions.pause(session.id)
        let paused = try await harness.waitForState(session.id, [.paused, .done, .failed])
        #expect(paused.state == .paused)
        let checkpoint = try #require(try await harness.store.latestCheckpoint(sessionID: session.id))
        let savedCount = Int(String(decoding: checkpoint.state, as: UTF8.self).dropFirst(2)) ?? -1
        #expect(savedCount > 0 && savedCount < 300)
        await #expect(throws: (any Error).self) { try await harness.sessions.pause(session.id) }

        try await harness.sessions.resume(session.id)
        #expect(try await harness.waitForState(session.id, [.done, .failed]).state == .done)
        let events = try await harness.events(session.id)
        let numbers = events.filter { $0.type == "x-tick" }.compactMap { $0.object["n"] as? Int }
        #expect(Set(numbers) == Set(0..<300), "every tick happened, before or after the pause")
        let started = events.filter { $0.type == "host.run.started" }
        #expect(started.count == 2)
        #expect(started.last?.object["resumed_from_seq"] as? Int == Int(checkpoint.seq))
        // The driver is told how many of its own events were stored after its checkpoint.
        let afterCheckpoint = events.filter { $0.seq > checkpoint.seq && $0.seq < started.last!.seq && !$0.type.hasPrefix("host.") }.count
        #expect(started.last?.object["events_after_checkpoint"] as? Int == afterCheckpoint)
        let afterResume = events.drop { $0.seq <= started.last!.seq }.filter { $0.type == "x-tick" }.compactMap { $0.object["n"] as? Int }
        #expect(afterResume.first == savedCount)
        #expect(events.map(\.seq) == Array(1...Int64(events.count)))
        await harness.stop()
    }

    @Test("cancel stops a running session; a driver that ignores cancel is given up on after the grace period")
    func cancel() async throws {
        var limits = GatewayConfiguration.Limits()
        limits.cancelGraceSeconds = 1
        let harness = try await SessionHarness(limits: limits)
        defer { harness.remove() }
        let agent = try await harness.agent()
        let polite = try await harness.submit("events=100000 rate=500", agent: agent)
        try await harness.waitFor(polite.id, "some events") { $0.lastSeq > 5 }
        try await harness.sessions.cancel(polite.id)
        let cancelled = try await harness.waitForState(polite.id, [.cancelled, .done, .failed])
        #expect(cancelled.state == .cancelled)
        #expect(try await harness.events(polite.id).contains { $0.type == "cancelled" })

        let stubborn = try await harness.submit("events=5 hang=1", agent: agent)
        try await harness.waitFor(stubborn.id, "its ticks") { $0.lastSeq >= 8 }
        let started = ContinuousClock.now
        try await harness.sessions.cancel(stubborn.id)
        #expect(try await harness.waitForState(stubborn.id, [.cancelled, .failed]).state == .cancelled)
        #expect(ContinuousClock.now - started < .seconds(10))

        let queued = try await harness.store.createSession(SessionRecord(agentID: agent.id, task: "never runs"))
        try await harness.sessions.cancel(queued.id)
        #expect(try await harness.store.session(id: queued.id)?.state == .cancelled)
        await #expect(throws: (any Error).self) { try await harness.sessions.cancel(queued.id) }
        await harness.stop()
    }

    @Test("a rate limit cools the account down and the run fails over to the next account")
    func failover() async throws {
        let harness = try await SessionHarness()
        defer { harness.remove() }
        let first = try await harness.gateway.accounts.add(provider: "testprov", label: "first", credentialsJSON: #"{"key":"one"}"#)
        _ = try await harness.gateway.accounts.add(provider: "testprov", label: "second", credentialsJSON: #"{"key":"two"}"#)
        let agent = try await harness.agent("limited", driver: "test.scripted-account")
        let started = Date()
        let session = try await harness.submit("rate_limited=30 limited_label=first account_echo=1 events=3", agent: agent)
        let done = try await harness.waitForState(session.id, [.done, .failed])
        #expect(done.state == .done)
        let events = try await harness.events(session.id)
        let accountsUsed = events.filter { $0.type == "status" }.compactMap { $0.object["message"] as? String }
        #expect(accountsUsed == ["account first", "account second"])
        #expect(events.contains { $0.type == "rate_limited" })
        #expect(events.contains { $0.type == "host.account.cooldown" && $0.object["account_id"] as? String == first.id })
        let cooled = try #require(try await harness.store.account(id: first.id))
        #expect(cooled.status == .cooldown)
        let until = try #require(cooled.cooldownUntil)
        // 30 seconds from when the driver reported the limit (however slow the machine was before).
        let reported = try #require(events.first { $0.type == "rate_limited" }).time
        #expect(until.timeIntervalSince(reported) > 29 && until.timeIntervalSince(reported) < 35)
        #expect(until > started)
        #expect(!events.contains { $0.payload.contains("\"one\"") || $0.payload.contains("\"two\"") }, "credentials never reach the event log")
        await harness.stop()
    }

    @Test("a C driver's instance states the account its runs need (flywheel.instance/1): the session waits for that provider's account and runs with it")
    func instanceAccountProvider() async throws {
        let harness = try await SessionHarness()
        defer { harness.remove() }
        _ = try await harness.gateway.accounts.add(provider: "testprov", label: "descriptor's", credentialsJSON: "{}")
        let plain = try await harness.store.upsertAgent(AgentRecord(name: "plain", driverID: "test.scripted", configJSON: #"{"account_provider":"otherprov"}"#))
        let session = try await harness.submit("account_echo=1 events=1", agent: plain)
        let waiting = try await harness.waitFor(session.id, "waiting for its provider") { $0.waitingReason != nil }
        #expect(waiting.waitingReason == "waiting for a otherprov account: none is configured or enabled")
        _ = try await harness.gateway.accounts.add(provider: "otherprov", label: "other", credentialsJSON: "{}")
        harness.scheduler.wake()
        #expect(try await harness.waitForState(session.id, [.done, .failed]).state == .done)
        #expect(try await harness.events(session.id).contains { $0.type == "status" && $0.object["message"] as? String == "account other" })
        // An instance that states nothing keeps the descriptor's provider.
        let described = try await harness.agent("described", driver: "test.scripted-account")
        let (ran, events) = try await harness.run("account_echo=1 events=1", described)
        #expect(ran.state == .done)
        #expect(events.contains { $0.type == "status" && $0.object["message"] as? String == "account descriptor's" })
        await harness.stop()
    }

    @Test("with no usable account the session waits queued with a visible reason, and starts when one frees up")
    func waitsForAccount() async throws {
        let harness = try await SessionHarness()
        defer { harness.remove() }
        let only = try await harness.gateway.accounts.add(provider: "testprov", label: "only", credentialsJSON: "{}")
        // Long enough that even a sanitised build submits and schedules the session before it ends.
        try await harness.gateway.accounts.pool.coolDown(accountID: only.id, until: Date().addingTimeInterval(4))
        let agent = try await harness.agent("waiting", driver: "test.scripted-account")
        let session = try await harness.submit("events=2", agent: agent)
        let waiting = try await harness.waitFor(session.id, "a waiting reason") { $0.waitingReason != nil }
        #expect(waiting.state == .queued)
        #expect(waiting.waitingReason?.contains("waiting for a testprov account: all are cooling down until") == true)
        let done = try await harness.waitForState(session.id, [.done, .failed], timeout: .seconds(20))
        #expect(done.state == .done)
        #expect(done.waitingReason == nil)
        #expect(done.accountID == only.id)
        await harness.stop()
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
