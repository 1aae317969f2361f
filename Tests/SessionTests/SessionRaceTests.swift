import Foundation
@testable import Host
import HostTestSupport
import Testing

/// Control that races the scheduler, and the log that must stay consistent under it.
@Suite("session races", .serialized)
struct SessionRaceTests {
    /// A gateway that runs up to 64 sessions at once, of one agent too: the races need them together.
    static func wideHarness() async throws -> SessionHarness {
        var limits = GatewayConfiguration.Limits()
        limits.maxConcurrentSessions = 64
        limits.maxConcurrentSessionsPerAgent = 64
        return try await SessionHarness(limits: limits)
    }

    @Test("a cancel racing the start of the same session wins or loses cleanly, 300 times")
    func cancelRacesStart() async throws {
        let harness = try await Self.wideHarness()
        defer { harness.remove() }
        let agent = try await harness.agent()
        var outcomes: [SessionState: Int] = [:]
        for _ in 0..<10 {
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<30 {
                    group.addTask {
                        let session = try await harness.submit("events=2", agent: agent)
                        // The scheduler was just woken: this cancel lands while it starts the session, or
                        // just before or after.
                        try await harness.sessions.cancel(session.id)
                        return session.id
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for id in ids {
                let final = try await harness.waitForState(id, [.done, .failed, .cancelled])
                outcomes[final.state, default: 0] += 1
                let events = try await harness.events(id)
                // The state and its event were committed together: the log ends exactly at lastSeq.
                #expect(events.map(\.seq) == Array(1...final.lastSeq), "session \(id)")
                let states = events.filter { $0.type == "host.session.state" }.compactMap { $0.object["state"] as? String }
                #expect(states.last == final.state.rawValue)
                #expect(states.filter { $0 == "cancelled" || $0 == "done" }.count == 1, "one final state only: \(states)")
                if final.state == .cancelled {
                    // Nothing ran after the cancel was recorded.
                    let cancelledAt = try #require(events.last { $0.type == "host.session.state" })
                    #expect(cancelledAt.seq == final.lastSeq)
                } else {
                    #expect(final.state == .done, "\(final.error ?? "")")
                }
            }
        }
        #expect(outcomes.values.reduce(0, +) == 300)
        #expect(outcomes[.cancelled, default: 0] > 0)
        await harness.stop()
    }

    @Test("a cancel racing the end of a run is answered with the running or cancelled session, or refused with the state it ended in, 300 times")
    func cancelRacesEnd() async throws {
        let harness = try await Self.wideHarness()
        defer { harness.remove() }
        let agent = try await harness.agent()
        var outcomes: [String: Int] = [:]
        for _ in 0..<10 {
            let results = try await withThrowingTaskGroup(of: (String, SessionState?).self) { group in
                for index in 0..<30 {
                    group.addTask {
                        // A run that ends a few milliseconds after it starts; the cancel lands just before,
                        // during or just after its end.
                        let session = try await harness.submit("events=\(1 + index % 4)", agent: agent)
                        _ = try await harness.waitFor(session.id, timeout: .seconds(60), "running or ended") { $0.state != .created && $0.state != .queued }
                        try await Task.sleep(for: .microseconds(Int.random(in: 0...3000)))
                        do {
                            let answered = try await harness.sessions.cancel(session.id)
                            #expect(answered.state == .running || answered.state == .cancelled, "answered \(answered.state)")
                            return (session.id, nil)
                        } catch let refused as IllegalSessionTransition {
                            #expect(refused.from == .done, "refused from \(refused.from)")
                            return (session.id, refused.from)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for (id, refusedFrom) in results {
                let final = try await harness.waitForState(id, [.done, .failed, .cancelled], timeout: .seconds(60))
                if let refusedFrom {
                    // Refused: the session had ended, and stays as it ended.
                    #expect(final.state == refusedFrom, "session \(id)")
                    outcomes["refused", default: 0] += 1
                } else {
                    // Accepted while it ran: it ends cancelled, or done when the driver's own end
                    // crossed the request (the ABI lets a run that ended first keep its outcome).
                    #expect(final.state == .cancelled || final.state == .done, "session \(id) ended \(final.state)")
                    outcomes[final.state == .cancelled ? "cancelled" : "accepted-then-done", default: 0] += 1
                }
            }
        }
        #expect(outcomes.values.reduce(0, +) == 300)
        // The race this guards (a cancel answered as a run ends) happened: here about 200 of 300.
        #expect(outcomes["refused", default: 0] > 0, "\(outcomes)")
        await harness.stop()
    }

    @Test("replay then live: a subscriber from any seq gets every event once, in order, while they are written")
    func subscribeReplayThenLive() async throws {
        let harness = try await SessionHarness()
        defer { harness.remove() }
        let agent = try await harness.agent()
        let session = try await harness.submit("events=3000 threads=3 rate=20000", agent: agent)
        try await harness.waitFor(session.id, "some events") { $0.lastSeq > 200 }
        try await withThrowingTaskGroup(of: [Int64].self) { group in
            for start in [Int64(0), 100, 150] {
                group.addTask {
                    var seqs: [Int64] = []
                    for try await event in try await harness.gateway.events.subscribe(sessionID: session.id, after: start, untilSessionEnds: true) {
                        seqs.append(event.seq)
                    }
                    #expect(seqs.first == start + 1)
                    return seqs.map { $0 - start }
                }
            }
            let final = try await harness.waitForState(session.id, [.done, .failed])
            for try await seqs in group {
                #expect(seqs == Array(1...Int64(seqs.count)), "a gap or a duplicate")
                #expect(seqs.count >= 1)
            }
            #expect(final.state == .done)
        }
        await harness.stop()
    }

    @Test("a held command of a session that is cancelled expires at once and says why")
    func heldCommandEndsWithSession() async throws {
        let harness = try await SessionHarness(policy: SessionRunTests.askPolicy)
        defer { harness.remove() }
        let agent = try await harness.agent()
        let session = try await harness.submit("command=git+stash+drop events=1", agent: agent)
        var pending: [CommandDecisionRecord] = []
        while pending.isEmpty {
            pending = try await harness.approvals.pending(sessionID: session.id)
            try await Task.sleep(for: .milliseconds(20))
        }
        try await harness.sessions.cancel(session.id)
        #expect(try await harness.waitForState(session.id, [.cancelled, .done, .failed]).state == .cancelled)
        let record = try #require(try await harness.store.commandDecision(id: pending[0].id))
        #expect(record.status == .cancelled)
        #expect(record.outcome == "the session ended while the command was held")
        #expect(try await harness.approvals.pending().isEmpty)
        await #expect(throws: HeldCommandAlreadyDecided.self) { try await harness.approvals.approve(record.id, by: "late") }
        await harness.stop()
    }

    @Test("control errors are typed: not found, illegal transition with from and to")
    func typedErrors() async throws {
        let harness = try await SessionHarness()
        defer { harness.remove() }
        await #expect(throws: SessionNotFound(sessionID: "nope")) { try await harness.sessions.cancel("nope") }
        let agent = try await harness.agent()
        let session = try await harness.submit("events=1", agent: agent)
        _ = try await harness.waitForState(session.id, [.done])
        await #expect(throws: IllegalSessionTransition(sessionID: session.id, from: .done, to: .cancelled)) {
            try await harness.sessions.cancel(session.id)
        }
        await #expect(throws: IllegalSessionTransition(sessionID: session.id, from: .done, to: .queued)) {
            try await harness.sessions.resume(session.id)
        }
        await #expect(throws: HeldCommandNotFound(id: "nope")) { try await harness.approvals.approve("nope", by: "ops") }
        await harness.stop()
    }
}
