import Foundation
@testable import Host
import HostTestSupport
import Testing

/// The owner's in-memory copy of session rows: every change the store makes is seen by the next
/// read, checked against a second, uncached store on the same file.
@Suite("Session record cache")
struct SessionRecordCacheTests {
    @Test("each kind of change to a session row is seen by the next read")
    func everyChangeIsSeen() async throws {
        let test = try TestStore(cachesSessions: true)
        defer { test.directory.remove() }
        let truth = try test.reopen()
        let store = test.store
        func agrees(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
            let cached = try await store.session(id: id)
            #expect(cached == (try await truth.session(id: id)), sourceLocation: sourceLocation)
            // A second read is answered from memory, and must still agree.
            #expect(try await store.session(id: id) == cached, sourceLocation: sourceLocation)
        }

        let account = try await store.createAccount(AccountRecord(provider: "anthropic", label: "main", sealedCredentials: [1]))
        var session = try await test.makeSession(state: .queued)
        try await agrees(session.id)
        session = try await store.transitionSession(SessionTransition(sessionID: session.id, to: .running, accountID: .some(account.id))).session
        try await agrees(session.id)
        #expect(try await store.session(id: session.id)?.accountID == account.id)

        _ = try await store.appendEvents([NewEvent(sessionID: session.id, type: "status", payload: #"{"type":"status"}"#)])
        try await agrees(session.id)
        #expect(try await store.session(id: session.id)?.lastSeq == session.lastSeq + 1)

        try await store.setWaitingReason(sessionID: session.id, "no account free")
        try await agrees(session.id)
        #expect(try await store.session(id: session.id)?.waitingReason == "no account free")

        #expect(try await store.deleteAccount(id: account.id))
        try await agrees(session.id)
        #expect(try await store.session(id: session.id)?.accountID == nil)

        _ = try await store.transitionSession(SessionTransition(sessionID: session.id, to: .done))
        try await agrees(session.id)
        #expect(try await store.pruneHistory(endedBefore: Date().addingTimeInterval(60), limit: 10) == 1)
        try await agrees(session.id)
        #expect(try await store.session(id: session.id)?.historyPrunedAt != nil)

        // A refused change leaves the row, and the cache, as they were.
        await #expect(throws: IllegalSessionTransition.self) {
            try await store.transitionSession(SessionTransition(sessionID: session.id, to: .running))
        }
        try await agrees(session.id)
        #expect(try await store.session(id: "no-such-session") == nil)
    }

    @Test("an answer read before an invalidation is not kept after it; one read after it is")
    func ticketsOrderReadsAndWrites() {
        let cache = SessionRecordCache()
        let old = SessionRecord(id: "s1", agentID: "a1", task: "t", lastSeq: 1)
        var new = old
        new.lastSeq = 2
        // A read of the old row began, then a write committed and invalidated the row.
        let early = cache.ticket()
        cache.invalidate("s1")
        cache.keep(old, ticket: early)
        #expect(cache.record("s1") == nil)
        // Another row's invalidation does not count: busy sessions must not keep idle ones out.
        let before = cache.ticket()
        cache.invalidate("other")
        cache.keep(new, ticket: before)
        #expect(cache.record("s1") == new)
        cache.invalidate("s1")
        let late = cache.ticket()
        cache.keep(new, ticket: late)
        #expect(cache.record("s1") == new)
        // After everything was dropped, no ticket from before counts.
        let stale = cache.ticket()
        cache.invalidateAll()
        #expect(cache.record("s1") == nil)
        cache.keep(old, ticket: stale)
        #expect(cache.record("s1") == nil)
    }

    @Test("bounded by rows and by bytes; a row with a huge task is not kept; forgotten invalidations refuse old tickets")
    func bounds() {
        let cache = SessionRecordCache(capacity: 4, byteCapacity: 100, largestRecord: 40)
        func record(_ id: String, task: String = "t") -> SessionRecord { SessionRecord(id: id, agentID: "a", task: task) }
        for index in 0..<4 { cache.keep(record("r\(index)"), ticket: cache.ticket()) }
        #expect((0..<4).allSatisfy { cache.record("r\($0)") != nil })
        cache.keep(record("r4"), ticket: cache.ticket())
        #expect(cache.record("r4") != nil && cache.record("r0") == nil)
        cache.keep(record("big", task: String(repeating: "x", count: 41)), ticket: cache.ticket())
        #expect(cache.record("big") == nil)
        for index in 0..<3 { cache.keep(record("w\(index)", task: String(repeating: "x", count: 40)), ticket: cache.ticket()) }
        #expect(cache.record("w2") != nil && cache.record("w0") == nil, "120 bytes of text exceed the 100 allowed")
        // More rows invalidated than the cache remembers: a ticket from before is refused for any row.
        let early = cache.ticket()
        for index in 0..<5 { cache.invalidate("x\(index)") }
        cache.keep(record("fresh"), ticket: early)
        #expect(cache.record("fresh") == nil)
        cache.keep(record("fresh"), ticket: cache.ticket())
        #expect(cache.record("fresh") != nil)
    }

    @Test("a read racing a write never keeps the row from before it, 300 times over")
    func readsRacingWrites() async throws {
        let test = try TestStore(cachesSessions: true)
        defer { test.directory.remove() }
        let store = test.store
        let session = try await test.makeSession(state: .running)
        for round in 0..<300 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Readers that miss and refill the cache while the write commits.
                for _ in 0..<3 {
                    group.addTask {
                        for _ in 0..<4 { _ = try await store.session(id: session.id) }
                    }
                }
                group.addTask {
                    let written = try await store.appendEvents([NewEvent(sessionID: session.id, type: "status", payload: #"{"type":"status"}"#)])
                    let seq = try #require(written.first?.seq)
                    let seen = try await store.session(id: session.id)?.lastSeq
                    #expect(seen == seq, "round \(round): the write returned seq \(seq), the next read saw \(seen.map(String.init) ?? "nothing")")
                }
                try await group.waitForAll()
            }
        }
        let truth = try test.reopen()
        #expect(try await store.session(id: session.id) == (try await truth.session(id: session.id)))
    }
}
