import Foundation
import Host
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import Prometheus

/// The HTTP API as a Hummingbird application on a gateway's services: one more front end, with no
/// logic of its own beyond HTTP. `flywheel serve` runs it next to the gateway's service; the tests
/// build it the same way.
public enum APIServer {
    /// An HTTP connection idle this long between requests is closed; one that sends nothing at all
    /// is closed after `firstByteSeconds` (by default; see `buildApplication`), or at once when the
    /// server shuts down.
    public static let idleConnectionSeconds: Int64 = 60
    public static let firstByteSeconds: Int64 = 10

    /// Where the server listens, once it does (port 0 in the settings picks a free one).
    public typealias OnListening = @Sendable (_ host: String, _ port: Int) async -> Void

    public static func buildApplication(gateway: Gateway, tokens: AccessTokens, host: String, port: Int, live: LiveSettings = LiveSettings(),
                                        liveStatistics: LiveStatistics = LiveStatistics(), metrics: PrometheusCollectorRegistry? = nil,
                                        firstByteTimeout: Duration = .seconds(firstByteSeconds), logger: Logger, onListening: @escaping OnListening = { _, _ in }) -> some ApplicationProtocol {
        let liveRoutes = LiveRoutes(events: gateway.events, tickets: WebSocketTickets(), settings: live, statistics: liveStatistics)
        let limits = Limits(gateway.configuration.server)
        let router = buildRouter(gateway: gateway, tokens: tokens, live: liveRoutes, limits: limits, metrics: metrics.map {
            MetricsRoutes(registry: $0, sessions: gateway.sessions, live: liveStatistics)
        })
        return Application(
            router: router,
            server: httpServer(webSocketRouter: liveRoutes.router(tokens: tokens, people: gateway.people, limit: limits.perClient,
                                                                  trusted: gateway.configuration.server.trustedProxies),
                               firstByteTimeout: firstByteTimeout),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "flywheel"),
            onServerRunning: { channel in
                let address = channel.localAddress
                await onListening(address?.ipAddress ?? host, address?.port ?? port)
            },
            logger: logger)
    }

    /// HTTP/1.1 with the WebSocket upgrade, behind ``FirstRequestGuard``.
    public static func httpServer(webSocketRouter: Router<APIRequestContext>, firstByteTimeout: Duration) -> HTTPServerBuilder {
        let webSocketResponder = webSocketRouter.buildResponder()
        return HTTPServerBuilder { responder in
            FirstRequestGuard(
                inner: HTTP1WebSocketUpgradeChannel(
                    responder: responder, webSocketResponder: webSocketResponder,
                    configuration: .init(http1: .init(idleTimeout: .seconds(idleConnectionSeconds)), ws: .init(maxFrameSize: 1 << 20))),
                timeout: .nanoseconds(Int64(firstByteTimeout / .nanoseconds(1))))
        }
    }

    /// The request limits of one server, shared by its routers.
    struct Limits {
        let perClient: RateLimitMiddleware
        let perIdentity: RateLimitMiddleware
        let signIn: RateLimitMiddleware

        init(_ settings: ServerSettings) {
            perClient = RateLimitMiddleware(limiter: RateLimiter(.init(perSecond: settings.clientRateLimitPerSecond, burst: settings.clientRateLimitBurst)),
                                            key: .client, scope: "client")
            perIdentity = RateLimitMiddleware(limiter: RateLimiter(.init(perSecond: settings.rateLimitPerSecond, burst: settings.rateLimitBurst)),
                                              key: .identity, scope: "identity")
            signIn = RateLimitMiddleware(limiter: RateLimiter(.init(perSecond: settings.loginAttemptsPerMinute / 60, burst: settings.loginAttemptsPerMinute)),
                                         key: .client, scope: "sign-in")
        }
    }

    static func buildRouter(gateway: Gateway, tokens: AccessTokens, live: LiveRoutes, limits: Limits, metrics: MetricsRoutes?) -> Router<APIRequestContext> {
        let settings = gateway.configuration.server
        let maxBody = settings.maxBodyBytes
        let router = Router(context: APIRequestContext.self)
        // Outermost, so it counts every answer with its final status.
        if metrics != nil { router.add(middleware: MetricsMiddleware()) }
        router.add(middleware: APIResponseMiddleware())
        // One line per request at debug (--log-level debug), with its request id; never headers.
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.add(middleware: ClientAddressMiddleware(trusted: settings.trustedProxies))
        router.add(middleware: limits.perClient)
        let system = SystemRoutes(gateway: gateway)
        system.add(to: router)
        AuthRoutes(people: gateway.people, tokens: tokens, maxBody: maxBody, limit: limits.signIn).add(to: router)
        DashboardRoutes(people: gateway.people, tokens: tokens, maxBody: maxBody, limit: limits.signIn,
                        secureCookies: settings.secureCookies).add(to: router)
        let api = router.group("api").add(middleware: Authenticator(tokens: tokens, people: gateway.people)).add(middleware: limits.perIdentity)
        system.add(to: api)
        PeopleRoutes(people: gateway.people, tokens: tokens, maxBody: maxBody).add(to: api)
        AgentRoutes(agents: gateway.agents, maxBody: maxBody).add(to: api)
        AccountRoutes(accounts: gateway.accounts, maxBody: maxBody).add(to: api)
        SessionRoutes(sessions: gateway.sessions, events: gateway.events, maxBody: maxBody).add(to: api)
        PolicyRoutes(approvals: gateway.approvals, policy: gateway.policy, maxBody: maxBody).add(to: api)
        live.add(to: api)
        metrics?.add(to: router, authenticator: Authenticator(tokens: tokens, people: gateway.people), limit: limits.perIdentity)
        // Innermost, around the route table it describes.
        router.add(middleware: MethodNotAllowedMiddleware(routes: router.routes))
        return router
    }
}
