import Foundation
import Synchronization

/// The in-process publisher of stored events. Sessions publish after an event is durable; the
/// WebSocket hub (and `flywheel sessions run`) subscribe.
///
/// Each subscriber has a bounded buffer: a slow subscriber loses the oldest buffered events rather
/// than stalling publishers, and notices the gap from the `seq` numbers, which it can fill from the
/// event log. Publishing never waits.
public final class EventHub: Sendable {
    public struct Subscription: Sendable {
        public let id: UInt64
        public let events: AsyncStream<EventRecord>
    }

    private struct Subscriber {
        var sessionID: String?
        var continuation: AsyncStream<EventRecord>.Continuation
    }

    private let subscribers = Mutex<[UInt64: Subscriber]>([:])
    private let nextID = Atomic<UInt64>(0)
    public let bufferSize: Int

    public init(bufferSize: Int = 4096) {
        self.bufferSize = bufferSize
    }

    /// Subscribes to one session's events, or to every session's when `sessionID` is nil.
    public func subscribe(sessionID: String? = nil) -> Subscription {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<EventRecord>.makeStream(bufferingPolicy: .bufferingNewest(bufferSize))
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        subscribers.withLock { $0[id] = Subscriber(sessionID: sessionID, continuation: continuation) }
        return Subscription(id: id, events: stream)
    }

    public func unsubscribe(_ id: UInt64) {
        let removed = subscribers.withLock { $0.removeValue(forKey: id) }
        removed?.continuation.finish()
    }

    /// Hands stored events to the subscribers that want them.
    public func publish(_ events: [EventRecord]) {
        guard !events.isEmpty else { return }
        let targets = subscribers.withLock { table in Array(table.values) }
        for subscriber in targets {
            for event in events where subscriber.sessionID == nil || subscriber.sessionID == event.sessionID {
                subscriber.continuation.yield(event)
            }
        }
    }

    /// Ends every subscription (at shutdown).
    public func finishAll() {
        let all = subscribers.withLock { table in
            defer { table.removeAll() }
            return Array(table.values)
        }
        for subscriber in all { subscriber.continuation.finish() }
    }
}
