import NIOConcurrencyHelpers
import NIOCore

/// The messages waiting to be written to one WebSocket client, bounded.
///
/// Event producers wait for room (`push`), so a client that reads slowly is served at its own pace
/// and only its own feeds wait: each session feed catches up from the store later, and the hub
/// never waits for anyone. Control messages (`offer`) never wait: they are dropped when the queue is
/// full. The connection watches ``stalledSince``: a queue that stays full means a client that stopped
/// reading, and it is closed.
final class OutboundQueue: Sendable {
    let capacity: Int

    private struct State {
        /// A ring: taking the oldest is O(1) (an array's removeFirst moved every message behind it).
        var messages = CircularBuffer<ByteBuffer>(initialCapacity: 16)
        var reader: CheckedContinuation<ByteBuffer?, Never>?
        var producers: [CheckedContinuation<Bool, Never>] = []
        var closed = false
        /// When the queue last became full with nothing written since.
        var fullSince: ContinuousClock.Instant?
    }

    private let state = NIOLockedValueBox(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Adds an event message, waiting while the queue is full; false once the queue is closed.
    func push(_ message: ByteBuffer) async -> Bool {
        while true {
            let outcome: Bool? = state.withLockedValue { state in
                if state.closed { return false }
                guard state.messages.count < capacity else {
                    if state.fullSince == nil { state.fullSince = .now }
                    return nil
                }
                deliver(message, &state)
                return true
            }
            if let outcome { return outcome }
            let open = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let resumeNow: Bool? = state.withLockedValue { state in
                    if state.closed { return false }
                    if state.messages.count < capacity { return true }
                    state.producers.append(continuation)
                    return nil
                }
                if let resumeNow { continuation.resume(returning: resumeNow) }
            }
            if !open { return false }
        }
    }

    /// Adds a control message if there is room; false when the queue is full or closed.
    @discardableResult
    func offer(_ message: String) -> Bool {
        offer(ByteBuffer(string: message))
    }

    @discardableResult
    func offer(_ message: ByteBuffer) -> Bool {
        state.withLockedValue { state in
            guard !state.closed, state.messages.count < capacity else { return false }
            deliver(message, &state)
            return true
        }
    }

    private func deliver(_ message: ByteBuffer, _ state: inout State) {
        if let reader = state.reader {
            state.reader = nil
            reader.resume(returning: message)
        } else {
            state.messages.append(message)
        }
    }

    /// The next message to write; nil once the queue is closed and empty.
    func next() async -> ByteBuffer? {
        // Most calls find a message waiting (a busy client): taken without suspending.
        switch take() {
        case .message(let message): return message
        case .closed: return nil
        case .empty: break
        }
        return await withCheckedContinuation { (continuation: CheckedContinuation<ByteBuffer?, Never>) in
            let (message, ready, woken): (ByteBuffer?, Bool, [CheckedContinuation<Bool, Never>]) = state.withLockedValue { state in
                if let message = state.messages.popFirst() {
                    state.fullSince = nil
                    let woken = state.producers
                    state.producers = []
                    return (message, true, woken)
                }
                if state.closed { return (nil, true, []) }
                state.reader = continuation
                return (nil, false, [])
            }
            for producer in woken { producer.resume(returning: true) }
            if ready { continuation.resume(returning: message) }
        }
    }

    private enum Taken { case message(ByteBuffer), closed, empty }

    /// The oldest message if there is one, waking producers that waited for room.
    private func take() -> Taken {
        let (taken, woken): (Taken, [CheckedContinuation<Bool, Never>]) = state.withLockedValue { state in
            if let message = state.messages.popFirst() {
                state.fullSince = nil
                let woken = state.producers
                state.producers = []
                return (.message(message), woken)
            }
            return (state.closed ? .closed : .empty, [])
        }
        for producer in woken { producer.resume(returning: true) }
        return taken
    }

    /// Since when the queue has been full without the client taking anything; nil when it is not.
    var stalledSince: ContinuousClock.Instant? {
        state.withLockedValue { $0.fullSince }
    }

    /// Ends the queue: waiting producers get false; the reader gets what is left, then nil.
    func close() {
        let (reader, producers) = state.withLockedValue { state -> (CheckedContinuation<ByteBuffer?, Never>?, [CheckedContinuation<Bool, Never>]) in
            state.closed = true
            let reader = state.reader
            state.reader = nil
            let producers = state.producers
            state.producers = []
            return (reader, producers)
        }
        reader?.resume(returning: nil)
        for producer in producers { producer.resume(returning: false) }
    }
}
