import Host
import NIOConcurrencyHelpers
import NIOCore

/// Event messages as `/ws` writes them, encoded once and shared by every subscriber of the
/// session: a busy session followed by many clients costs one JSON encoding per event, not one per
/// event per client, and its bytes are one buffer that every client's frame shares (no copy per
/// client). Holds the most recent `capacity` messages.
final class EncodedEvents: Sendable {
    let capacity: Int
    /// A session channel's name is its session's, so the event and which kind of channel it goes to
    /// say which message it is (no key string built per client and event).
    private struct Key: Hashable {
        var channel: LiveChannel.Kind
        var sessionID: String
        var seq: Int64
    }

    private let state = NIOLockedValueBox<(messages: [Key: ByteBuffer], order: [Key], next: Int)>(([:], [], 0))

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    func message(for event: EventRecord, channel: String) -> ByteBuffer {
        // Seqs count per session: the fleet channel carries many sessions, so the key names the session too.
        let key = Key(channel: LiveChannel.kind(of: channel), sessionID: event.sessionID, seq: event.seq)
        if let cached = state.withLockedValue({ $0.messages[key] }) { return cached }
        let encoded = ByteBuffer(string: ServerMessage.event(event, channel: channel))
        state.withLockedValue { state in
            guard state.messages[key] == nil else { return }
            if state.order.count < capacity {
                state.order.append(key)
            } else {
                state.messages[state.order[state.next]] = nil
                state.order[state.next] = key
                state.next = (state.next + 1) % capacity
            }
            state.messages[key] = encoded
        }
        return encoded
    }
}

/// The channels of `/ws`.
enum LiveChannel {
    /// Every session's events.
    static let fleet = "fleet"
    /// Every session's state changes (`host.session.state`) only: enough for an overview.
    static let fleetStates = "fleet:states"

    enum Kind: Hashable, Sendable {
        case session, fleet, fleetStates
    }

    static func kind(of channel: String) -> Kind {
        switch channel {
        case fleet: .fleet
        case fleetStates: .fleetStates
        default: .session
        }
    }

    static func isFleet(_ channel: String) -> Bool {
        channel == fleet || channel == fleetStates
    }
}
