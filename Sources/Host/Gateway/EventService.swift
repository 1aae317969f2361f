import Foundation

/// Events: read a session's stored history, or subscribe to it.
public struct EventService: Sendable {
    let store: any GatewayStore
    @_spi(Testing) public let hub: EventHub

    /// How many stored events a replay reads at a time.
    public static let replayPageSize = 4096

    public func events(sessionID: String, after seq: Int64 = 0, limit: Int = 1000) async throws -> [EventRecord] {
        guard try await store.session(id: sessionID) != nil else { throw SessionNotFound(sessionID: sessionID) }
        return try await store.events(sessionID: sessionID, afterSeq: seq, limit: limit)
    }

    /// A session's events after `seq`: the stored ones first, then live ones as they are stored, in
    /// seq order with no gap and no duplicate, even while events are being written. A subscriber
    /// that falls behind the live buffer is caught up from the store, so it never loses an event.
    /// With `untilSessionEnds`, the feed finishes after the session's final state event.
    ///
    /// Live events are those stored by this process; a client gateway sees only stored history.
    public func subscribe(sessionID: String, after seq: Int64 = 0, untilSessionEnds: Bool = false) async throws -> SessionEventFeed {
        guard try await store.session(id: sessionID) != nil else { throw SessionNotFound(sessionID: sessionID) }
        return SessionEventFeed(store: store, hub: hub, sessionID: sessionID, after: seq, untilSessionEnds: untilSessionEnds)
    }

    /// Every session's live events, as they are stored. A subscriber that falls behind gets
    /// ``FleetEventFeed/Item/fellBehind`` and the feed ends: resume each session it follows from
    /// its last seq with ``subscribe(sessionID:after:untilSessionEnds:)``.
    public func subscribeFleet() -> FleetEventFeed {
        FleetEventFeed(subscription: hub.subscribe())
    }
}

/// One session's events, replayed then live; see ``EventService/subscribe(sessionID:after:untilSessionEnds:)``.
public struct SessionEventFeed: AsyncSequence, Sendable {
    public typealias Element = EventRecord
    let store: any GatewayStore
    let hub: EventHub
    let sessionID: String
    let after: Int64
    let untilSessionEnds: Bool

    public func makeAsyncIterator() -> Iterator {
        Iterator(feed: self, lastSeq: after)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let feed: SessionEventFeed
        var lastSeq: Int64
        private var buffered: [EventRecord] = []
        private var bufferIndex = 0
        private var live: EventHub.Subscription?
        private var liveIterator: LiveEvents.AsyncIterator?
        private var replaying = true
        private var ended = false

        init(feed: SessionEventFeed, lastSeq: Int64) {
            self.feed = feed
            self.lastSeq = lastSeq
        }

        public mutating func next() async throws -> EventRecord? {
            while !ended {
                if bufferIndex < buffered.count {
                    let event = buffered[bufferIndex]
                    bufferIndex += 1
                    guard event.seq == lastSeq + 1 else { continue }
                    return deliver(event)
                }
                if live == nil {
                    // Subscribe before reading the store: whatever is stored after the read is in the live buffer.
                    let subscription = feed.hub.subscribe(sessionID: feed.sessionID)
                    live = subscription
                    liveIterator = subscription.events.makeAsyncIterator()
                    replaying = true
                }
                if replaying {
                    try await readStored()
                    if buffered.count < EventService.replayPageSize { replaying = false }
                    if feed.untilSessionEnds, buffered.isEmpty, try await sessionEnded() { return finish() }
                    continue
                }
                guard let event = await liveIterator?.next() else {
                    if Task.isCancelled { return finish() }
                    if live?.fellBehind == true {
                        // Cut off for being slow: catch up from the store, then follow live again.
                        live = nil
                        liveIterator = nil
                        continue
                    }
                    return finish()
                }
                if event.seq <= lastSeq { continue }
                if event.seq == lastSeq + 1 { return deliver(event) }
                // A gap (an event published out of order): everything before `event` is stored.
                try await readStored()
            }
            return nil
        }

        private mutating func readStored() async throws {
            try Task.checkCancellation()
            buffered = try await feed.store.events(sessionID: feed.sessionID, afterSeq: lastSeq, limit: EventService.replayPageSize)
            bufferIndex = 0
        }

        private mutating func deliver(_ event: EventRecord) -> EventRecord {
            lastSeq = event.seq
            if feed.untilSessionEnds, event.type == "host.session.state", Self.isFinal(event) { ended = true }
            return event
        }

        private mutating func finish() -> EventRecord? {
            ended = true
            if let live { feed.hub.unsubscribe(live.id) }
            return nil
        }

        private func sessionEnded() async throws -> Bool {
            guard let session = try await feed.store.session(id: feed.sessionID) else { return true }
            return session.state.isTerminal && session.lastSeq <= lastSeq
        }

        static func isFinal(_ event: EventRecord) -> Bool {
            guard let state = (try? JSONValue.parse(Array(event.payload.utf8)))?.objectValue?["state"]?.stringValue else { return false }
            return SessionState(rawValue: state)?.isTerminal == true
        }
    }
}

/// Every session's live events; see ``EventService/subscribeFleet()``.
public struct FleetEventFeed: AsyncSequence, Sendable {
    public enum Item: Sendable, Equatable {
        case event(EventRecord)
        /// The subscriber did not keep up and was cut off; the feed ends after this.
        case fellBehind
    }

    public typealias Element = Item
    let subscription: EventHub.Subscription

    public func makeAsyncIterator() -> Iterator {
        Iterator(subscription: subscription, events: subscription.events.makeAsyncIterator())
    }

    public struct Iterator: AsyncIteratorProtocol {
        let subscription: EventHub.Subscription
        var events: LiveEvents.AsyncIterator
        var done = false

        public mutating func next() async -> Item? {
            guard !done else { return nil }
            if let event = await events.next() { return .event(event) }
            done = true
            return subscription.fellBehind ? .fellBehind : nil
        }
    }
}
