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

/// The hub's per-subscriber queue on its own, raced from threads as publishers and sessions do.
@Suite("live event queues")
struct LiveEventsTests {
    static func event(_ session: String, _ seq: Int64) -> EventRecord {
        EventRecord(sessionID: session, seq: seq, type: "x-tick", time: Date(timeIntervalSince1970: 0), payload: "{}")
    }

    @Test("a reader racing a publisher on another thread gets every event once, in order (300 rounds)")
    func publisherRace() async throws {
        for round in 0..<300 {
            let hub = EventHub(bufferSize: 10_000)
            let subscription = hub.subscribe(sessionID: "s")
            let total = 200
            let publisher = Thread {
                var seq: Int64 = 0
                while seq < Int64(total) {
                    let batch = (1...Int64.random(in: 1...7)).map { _ in seq += 1; return Self.event("s", seq) }.filter { $0.seq <= Int64(total) }
                    hub.publish(batch + [Self.event("other", seq)])
                }
            }
            publisher.start()
            var seqs: [Int64] = []
            var iterator = subscription.events.makeAsyncIterator()
            while seqs.count < total, let event = await iterator.next() { seqs.append(event.seq) }
            #expect(seqs == Array(1...Int64(total)), "round \(round)")
            hub.unsubscribe(subscription.id)
            #expect(await iterator.next() == nil)
        }
    }

    @Test("cancelling a waiting reader ends its queue at once and the hub forgets it, whenever the cancel lands (300 rounds)")
    func cancelRace() async throws {
        for round in 0..<300 {
            let hub = EventHub(bufferSize: 64)
            let subscription = hub.subscribe()
            let reader = Task {
                var count = 0
                for await _ in subscription.events { count += 1 }
                return count
            }
            if round % 2 == 0 { hub.publish([Self.event("s", 1)]) }
            if round % 3 == 0 { await Task.yield() }
            reader.cancel()
            let read = await reader.value
            #expect(read <= 1)
            #expect(hub.subscriberCount == 0, "round \(round)")
            // Publishing to an ended queue is harmless.
            hub.publish([Self.event("s", 2)])
        }
    }

    @Test("a reader waiting when a batch one larger than the buffer arrives takes it all without falling behind")
    func waitingReaderTakesOneMore() async throws {
        let hub = EventHub(bufferSize: 3)
        let subscription = hub.subscribe(sessionID: "s")
        let reader = Task {
            var seqs: [Int64] = []
            for await event in subscription.events {
                seqs.append(event.seq)
                if seqs.count == 4 { break }
            }
            return seqs
        }
        // Wait until the reader waits in next(), then publish capacity + 1.
        for _ in 0..<500 where hub.subscriberCount == 1 {
            try await Task.sleep(for: .milliseconds(2))
            if subscription.events.hasWaitingReader { break }
        }
        #expect(subscription.events.hasWaitingReader)
        hub.publish((1...4).map { Self.event("s", $0) })
        #expect(await reader.value == [1, 2, 3, 4])
        #expect(!subscription.fellBehind)
        hub.unsubscribe(subscription.id)
    }

    @Test("a subscription that is dropped unread leaves the hub; one that overflows gets what fitted, then its end")
    func dropAndOverflow() async {
        let hub = EventHub(bufferSize: 3)
        do {
            _ = hub.subscribe(sessionID: "s")
        }
        #expect(hub.subscriberCount == 0)
        let subscription = hub.subscribe(sessionID: "s")
        hub.publish((1...5).map { Self.event("s", $0) })
        #expect(hub.subscriberCount == 0)
        var seqs: [Int64] = []
        for await event in subscription.events { seqs.append(event.seq) }
        #expect(seqs == [1, 2, 3])
        #expect(subscription.fellBehind)
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
