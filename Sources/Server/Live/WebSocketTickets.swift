import Foundation
import Host
import NIOConcurrencyHelpers

/// Short-lived, single-use tickets that authenticate a WebSocket upgrade from a browser, which
/// cannot set an `Authorization` header on one: `POST /api/ws-ticket`, then `/ws?ticket=…`.
/// Kept in memory: a ticket outlives neither its 30 seconds nor the process.
final class WebSocketTickets: Sendable {
    static let lifetime: Duration = .seconds(30)
    /// Who a ticket was issued to: the user, and the credential they held (a sign-in or an API
    /// key), which the socket it opens keeps checking.
    struct Holder: Sendable, Equatable {
        var userID: String
        var signIn: String?
        var keyID: String?
    }

    private let tickets = NIOLockedValueBox<[String: (holder: Holder, expires: ContinuousClock.Instant)]>([:])

    func issue(to holder: Holder) -> String {
        let ticket = "fwt_" + PeopleService.randomToken(bytes: 24)
        let now = ContinuousClock.now
        tickets.withLockedValue { tickets in
            tickets = tickets.filter { $0.value.expires > now }
            tickets[ticket] = (holder, now + Self.lifetime)
        }
        return ticket
    }

    /// Who a ticket was issued to, using it up; nil for an unknown, used or expired ticket.
    func redeem(_ ticket: String) -> Holder? {
        tickets.withLockedValue { tickets in
            guard let entry = tickets.removeValue(forKey: ticket), entry.expires > .now else { return nil }
            return entry.holder
        }
    }
}
