import Foundation
import Host
import Hummingbird
import HummingbirdWebSocket
import Logging

/// `/ws` (the live event stream, on its own router so only it can upgrade) and
/// `POST /api/ws-ticket` (for browsers, which cannot put a token on the upgrade request).
struct LiveRoutes {
    let events: EventService
    let tickets: WebSocketTickets
    let settings: LiveSettings
    let statistics: LiveStatistics

    struct Ticket: Encodable {
        var ticket: String
        var expiresIn: Int
    }

    func add(to api: RouterGroup<APIRequestContext>) {
        api.group("ws-ticket").add(middleware: RequireRole(.viewer)).post { _, context -> Response in
            let identity = try context.authenticated()
            let holder = WebSocketTickets.Holder(userID: identity.userID, signIn: identity.signIn, keyID: identity.credentialID)
            var response = try APIJSON.response(Ticket(ticket: tickets.issue(to: holder),
                                                       expiresIn: Int(WebSocketTickets.lifetime.components.seconds)), status: .created)
            response.headers[.cacheControl] = "no-store"
            return response
        }
    }

    /// The router the WebSocket upgrade is matched against.
    func router(tokens: AccessTokens, people: PeopleService, limit: RateLimitMiddleware, trusted: [IPRange]) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: APIResponseMiddleware())
        router.add(middleware: ClientAddressMiddleware(trusted: trusted))
        router.add(middleware: limit)
        router.add(middleware: Authenticator(tokens: tokens, people: people, tickets: tickets))
        let events = self.events, settings = self.settings, statistics = self.statistics
        let encoded = EncodedEvents()
        router.ws("ws") { _, _ in
            .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            // The socket lives as long as the credential it was opened with: a sign-out, a revoked
            // key or a deleted user closes it at the next heartbeat.
            let identity = context.requestContext.identity
            let credentialProblem: LiveConnection.CredentialCheck = {
                guard let identity else { return "not signed in" }
                if let signIn = identity.signIn {
                    let ended = "the sign-in has ended (signed out)"
                    if tokens.hasEnded(signIn: signIn) { return ended }
                    if try await people.signInHasEnded(signIn) {
                        // Ended without this process hearing of it: its access tokens end here too,
                        // so the client cannot simply reconnect with one.
                        tokens.endSignIn(signIn)
                        return ended
                    }
                }
                return try await people.credentialProblem(userID: identity.userID, apiKeyID: identity.credentialID)
            }
            let connection = LiveConnection(events: events, settings: settings, statistics: statistics, encoded: encoded,
                                            credentialProblem: credentialProblem, logger: context.logger)
            await connection.run(inbound: inbound, outbound: outbound)
        }
        return router
    }
}
