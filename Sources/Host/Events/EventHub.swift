import Foundation
import Synchronization

/// The in-process publisher of stored events. Events are published only after they are committed;
/// the ``EventService`` builds gapless, replayable feeds on top of it.
///
/// Each subscriber has a bounded buffer. A subscriber that lets it fill is cut off, not slowed
/// down and not fed a silent gap: its stream ends and ``Subscription/fellBehind`` says why, so it can
/// resume from the store after the last seq it saw. Publishing never waits.
public final class EventHub: Sendable {
    public final class Subscription: Sendable {
        public let id: UInt64
        public let events: AsyncStream<EventRecord>
        private let overflowed = Atomic<Bool>(false)

        init(id: UInt64, events: AsyncStream<EventRecord>) {
            self.id = id
            self.events = events
        }

        /// True once the stream ended because the subscriber did not keep up.
        public var fellBehind: Bool { overflowed.load(ordering: .acquiring) }

        func markFellBehind() { overflowed.store(true, ordering: .releasing) }
    }

    private struct Subscriber {
        var sessionID: String?
        var continuation: AsyncStream<EventRecord>.Continuation
        var subscription: Subscription
    }

    private let subscribers = Locked<[UInt64: Subscriber]>([:])
    private let nextID = Atomic<UInt64>(0)
    public let bufferSize: Int

    public init(bufferSize: Int = 4096) {
        self.bufferSize = max(1, bufferSize)
    }

    /// Subscribes to one session's events, or to every session's when `sessionID` is nil.
    public func subscribe(sessionID: String? = nil) -> Subscription {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<EventRecord>.makeStream(bufferingPolicy: .bufferingOldest(bufferSize))
        let subscription = Subscription(id: id, events: stream)
        continuation.onTermination = { [weak self] _ in self?.remove(id) }
        subscribers.withLock { $0[id] = Subscriber(sessionID: sessionID, continuation: continuation, subscription: subscription) }
        return subscription
    }

    public func unsubscribe(_ id: UInt64) {
        remove(id)?.continuation.finish()
    }

    /// Hands stored events to the subscribers that want them; cuts off those whose buffer is full.
    public func publish(_ events: [EventRecord]) {
        guard !events.isEmpty else { return }
        let targets = subscribers.withLock { table in Array(table.values) }
        for subscriber in targets {
            for event in events where subscriber.sessionID == nil || subscriber.sessionID == event.sessionID {
                if case .dropped = subscriber.continuation.yield(event) {
                    subscriber.subscription.markFellBehind()
                    unsubscribe(subscriber.subscription.id)
                    break
                }
            }
        }
    }

    public var subscriberCount: Int { subscribers.withLock { $0.count } }

    /// Ends every subscription (at shutdown).
    public func finishAll() {
        let all = subscribers.withLock { table in
            defer { table.removeAll() }
            return Array(table.values)
        }
        for subscriber in all { subscriber.continuation.finish() }
    }

    @discardableResult
    private func remove(_ id: UInt64) -> Subscriber? {
        subscribers.withLock { $0.removeValue(forKey: id) }
    }
}
