import Foundation
import Synchronization

/// The in-process publisher of stored events. Events are published only after they are committed;
/// the ``EventService`` builds gapless, replayable feeds on top of it.
///
/// Each subscriber has a bounded buffer. A subscriber that lets it fill is cut off, not slowed
/// down and not fed a silent gap: its stream ends and ``Subscription/fellBehind`` says why, so it can
/// resume from the store after the last seq it saw. Publishing never waits.
public final class EventHub: Sendable {
    /// One subscriber's side: its live events, in publishing order. Dropping it (or cancelling the
    /// task that waits in its `next()`) ends the subscription, so keep it while reading `events`:
    /// an iterator made from `events` alone gets nil once the subscription is released.
    public final class Subscription: Sendable {
        public let id: UInt64
        public let events: LiveEvents

        init(id: UInt64, events: LiveEvents) {
            self.id = id
            self.events = events
        }

        /// True once the stream ended because the subscriber did not keep up.
        public var fellBehind: Bool { events.overflowed }

        deinit { events.end() }
    }

    private struct Subscriber {
        var sessionID: String?
        var events: LiveEvents
    }

    private struct Table {
        var byID: [UInt64: Subscriber] = [:]
        /// The same subscribers as an array, rebuilt when one comes or goes: publishing (far more
        /// frequent) takes it with one retain instead of copying the table.
        var all: [Subscriber] = []

        mutating func rebuild() { all = Array(byID.values) }
    }

    private let subscribers = Locked(Table())
    private let nextID = Atomic<UInt64>(0)
    public let bufferSize: Int

    public init(bufferSize: Int = 4096) {
        self.bufferSize = max(1, bufferSize)
    }

    /// Subscribes to one session's events, or to every session's when `sessionID` is nil.
    public func subscribe(sessionID: String? = nil) -> Subscription {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
        let events = LiveEvents(capacity: bufferSize) { [weak self] in self?.remove(id) }
        subscribers.withLock { table in
            table.byID[id] = Subscriber(sessionID: sessionID, events: events)
            table.rebuild()
        }
        return Subscription(id: id, events: events)
    }

    public func unsubscribe(_ id: UInt64) {
        remove(id)?.events.end()
    }

    /// Hands stored events to the subscribers that want them; cuts off those whose buffer is full.
    public func publish(_ events: [EventRecord]) {
        guard !events.isEmpty else { return }
        let targets = subscribers.withLock { $0.all }
        // Most batches are one session's: then each subscriber takes all of it or none.
        let session = events[0].sessionID
        let oneSession = events.allSatisfy { $0.sessionID == session }
        for subscriber in targets {
            let wanted: [EventRecord]
            switch subscriber.sessionID {
            case nil: wanted = events
            case let id? where oneSession: wanted = id == session ? events : []
            case let id?: wanted = events.filter { $0.sessionID == id }
            }
            // One that does not fit ends, and leaves the hub.
            if !wanted.isEmpty { _ = subscriber.events.append(contentsOf: wanted) }
        }
    }

    public var subscriberCount: Int { subscribers.withLock { $0.byID.count } }

    /// Ends every subscription (at shutdown).
    public func finishAll() {
        let all = subscribers.withLock { table in
            defer { table = Table() }
            return table.all
        }
        for subscriber in all { subscriber.events.end() }
    }

    @discardableResult
    private func remove(_ id: UInt64) -> Subscriber? {
        subscribers.withLock { table in
            guard let removed = table.byID.removeValue(forKey: id) else { return nil }
            table.rebuild()
            return removed
        }
    }
}

/// A subscriber's live events: a bounded queue with one reader. Appending never waits; an append
/// that would overflow it ends it instead (``overflowed``), after what it already holds. Taking the
/// next event is O(1), and a reader whose task is cancelled gets nil and ends it.
public final class LiveEvents: AsyncSequence, Sendable {
    public typealias Element = EventRecord

    private struct State {
        /// Waiting events: `events[head...]`; the taken prefix is dropped once it is half the array.
        var events: [EventRecord] = []
        var head = 0
        var reader: UnsafeContinuation<EventRecord?, Never>?
        var ended = false
        var overflowed = false

        var count: Int { events.count - head }

        mutating func take() -> EventRecord? {
            guard head < events.count else { return nil }
            let event = events[head]
            head += 1
            if head == events.count {
                events.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024, head * 2 >= events.count {
                events.removeFirst(head)
                head = 0
            }
            return event
        }
    }

    let capacity: Int
    private let state = Locked(State())
    /// Called once, when the queue ends (the hub forgets the subscriber).
    private let onEnd: @Sendable () -> Void

    init(capacity: Int, onEnd: @escaping @Sendable () -> Void) {
        self.capacity = capacity
        self.onEnd = onEnd
    }

    /// Whether a reader is waiting in `next()` (for tests).
    var hasWaitingReader: Bool { state.withLock { $0.reader != nil } }

    /// Whether the queue ended because an append found it full.
    public var overflowed: Bool { state.withLock { $0.overflowed } }

    /// Appends events; false when they do not all fit: those that do are kept, and the queue ends.
    func append(contentsOf new: [EventRecord]) -> Bool {
        let (reader, first, fits): (UnsafeContinuation<EventRecord?, Never>?, EventRecord?, Bool) = state.withLock { state in
            guard !state.ended, let firstNew = new.first else { return (nil, nil, true) }
            var pending = new[...]
            // A waiting reader (the queue is empty then) takes the first event at once: it does not
            // count against the room, as it never waits in the queue.
            let reader = state.reader
            if reader != nil {
                state.reader = nil
                pending = pending.dropFirst()
            }
            let room = capacity - state.count
            let fits = pending.count <= room
            // What fits is kept (the reader gets it before the end), then the queue ends.
            state.events.append(contentsOf: fits ? pending : pending.prefix(room))
            if !fits {
                state.overflowed = true
                state.ended = true
            }
            return (reader, reader == nil ? nil : firstNew, fits)
        }
        reader?.resume(returning: first)
        if !fits { onEnd() }
        return fits
    }

    /// Ends the queue: the reader gets what it holds, then nil.
    func end() {
        let (ending, reader): (Bool, UnsafeContinuation<EventRecord?, Never>?) = state.withLock { state in
            guard !state.ended else { return (false, nil) }
            state.ended = true
            let reader = state.reader
            state.reader = nil
            return (true, reader)
        }
        reader?.resume(returning: nil)
        if ending { onEnd() }
    }

    /// The next event; nil once the queue has ended and is empty, or when the task is cancelled
    /// (which ends the queue).
    func next() async -> EventRecord? {
        if let ready = state.withLock({ state -> EventRecord?? in
            if let event = state.take() { return .some(event) }
            return state.ended ? .some(nil) : nil
        }) {
            return ready
        }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<EventRecord?, Never>) in
                let ready: EventRecord?? = state.withLock { state in
                    if let event = state.take() { return .some(event) }
                    if state.ended || Task.isCancelled { return .some(nil) }
                    precondition(state.reader == nil, "LiveEvents has one reader: two tasks iterate the same subscription")
                    state.reader = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            end()
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let events: LiveEvents

        public mutating func next() async -> EventRecord? {
            await events.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(events: self)
    }
}
