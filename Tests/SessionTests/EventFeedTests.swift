import Foundation
@testable import Host
import HostTestSupport
import Testing

/// Feeds built on the hub: what a subscriber that does not keep up gets.
@Suite("event feeds")
struct EventFeedTests {
    @Test("a session subscriber that falls far behind the live buffer still gets every event once, in order")
    func slowSessionSubscriber() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        let session = try await test.makeSession(state: .running)
        let hub = EventHub(bufferSize: 8)
        let log = SessionEventLog(store: test.store, hub: hub)
        let events = EventService(store: test.store, hub: hub)
        var iterator = try await events.subscribe(sessionID: session.id, after: 0).makeAsyncIterator()
        // The first event starts the feed (replay, then live); the rest overflow its live buffer many times.
        let first = try #require(try await iterator.next())
        for batch in 0..<50 {
            try await log.append((0..<20).map { NewEvent(sessionID: session.id, type: "x-tick", payload: #"{"type":"x-tick","b":\#(batch),"i":\#($0)}"#) })
        }
        var seqs = [first.seq]
        let total = try await test.store.session(id: session.id)!.lastSeq
        while let last = seqs.last, last < total, let event = try await iterator.next() { seqs.append(event.seq) }
        #expect(seqs == Array(1...total))
    }

    @Test("a fleet subscriber that falls behind is told so, and its feed ends")
    func slowFleetSubscriber() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        let session = try await test.makeSession(state: .running)
        let hub = EventHub(bufferSize: 4)
        let log = SessionEventLog(store: test.store, hub: hub)
        let feed = EventService(store: test.store, hub: hub).subscribeFleet()
        try await log.append((0..<10).map { NewEvent(sessionID: session.id, type: "x-tick", payload: #"{"type":"x-tick","i":\#($0)}"#) })
        var items: [FleetEventFeed.Item] = []
        for await item in feed { items.append(item) }
        #expect(items.count == 5)
        #expect(items.last == .fellBehind)
        #expect(hub.subscriberCount == 0)
    }
}

@Suite("command slots")
struct CommandSlotsTests {
    @Test("commands wait for a slot per session and in all, first come first served, and a cancelled wait ends at once")
    func slots() async throws {
        let slots = CommandSlots(.init(total: 2, perSession: 1))
        try await slots.acquire(sessionID: "a")
        try await slots.acquire(sessionID: "b")
        #expect(slots.running == 2)
        let waiting = Task { try await slots.acquire(sessionID: "c") }
        let sameSession = Task { try await slots.acquire(sessionID: "a") }
        try await Task.sleep(for: .milliseconds(50))
        sameSession.cancel()
        await #expect(throws: CancellationError.self) { try await sameSession.value }
        slots.release(sessionID: "b")
        try await waiting.value
        #expect(slots.running == 2)
        slots.release(sessionID: "a")
        slots.release(sessionID: "c")
        #expect(slots.running == 0)
    }
}

@Suite("wake signal")
struct WakeSignalTests {
    @Test("a wait woken early leaves no timer behind, however often it happens (500 times)")
    func noTimerPileUp() async {
        let signal = WakeSignal()
        for _ in 0..<500 {
            async let waited: Void = signal.wait(until: .now + .seconds(3600))
            signal.signal()
            await waited
        }
        #expect(signal.armedTimers == 0)
        // A deadline still wakes a waiter nobody signals.
        await signal.wait(until: .now + .milliseconds(20))
        #expect(signal.armedTimers == 0)
    }
}
