import Host
import Hummingbird
import HummingbirdWebSocket
import Logging

/// Who a request acts for, once authenticated.
public struct Identity: Sendable, Equatable {
    public var userID: String
    public var email: String
    public var role: UserRecord.Role
    /// The API key the request came with; nil for an access token.
    public var credentialID: String?
    /// The sign-in (refresh-token family) of the access token the request came with.
    public var signIn: String? = nil
}

/// The per-request context of every route: the request id, and the identity once authenticated.
public struct APIRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Where the `/ws` route leaves its handler for the upgrade.
    public let webSocket = WebSocketHandlerReference<APIRequestContext>()
    /// Echoed as `X-Request-ID` and logged with every line about the request.
    public var requestID = ""
    /// Set by the authenticator; routes under `/api` never run without it.
    public var identity: Identity?

    /// The connection's peer address, or the client's behind a trusted proxy (for per-client rate
    /// limits; see ``ClientAddressMiddleware``).
    public var clientAddress: String?
    /// True when a trusted proxy says the client's request came over HTTPS (`X-Forwarded-Proto`).
    public var forwardedHTTPS = false

    public init(source: Source) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The identity of an authenticated request (a route behind the authenticator always has one).
    func authenticated() throws -> Identity {
        guard let identity else { throw APIError.unauthenticated("this route needs a signed-in user") }
        return identity
    }
}
