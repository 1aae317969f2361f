import Foundation
import Host
import Hummingbird
import Metrics
import Prometheus

/// `GET /metrics`: Prometheus text. Counters and request timings come from swift-metrics (the
/// gateway bootstraps it with this registry); the gauges of what is now (sessions by state,
/// WebSocket clients) are read when scraped. Needs a token like every `/api` route: give the
/// scraper an API key (`authorization: { credentials: fwk_… }` in Prometheus).
struct MetricsRoutes {
    let registry: PrometheusCollectorRegistry
    let sessions: SessionService
    let live: LiveStatistics

    func add(to router: Router<APIRequestContext>, authenticator: Authenticator, limit: RateLimitMiddleware) {
        router.group("metrics").add(middleware: authenticator).add(middleware: limit).add(middleware: RequireRole(.viewer)).get { _, _ -> Response in
            for (state, count) in try await sessions.counts() {
                registry.makeGauge(name: "flywheel_sessions", labels: [("state", state.rawValue)], help: "Sessions by state").set(Double(count))
            }
            let clients = live.current
            registry.makeGauge(name: "flywheel_websocket_clients", help: "WebSocket clients connected now").set(Double(clients.connected))
            for (reason, count) in [("slow", clients.closedSlow), ("idle", clients.closedIdle), ("credential", clients.closedCredential),
                                  ("dropped", clients.dropped)] {
                registry.makeGauge(name: "flywheel_websocket_closed", labels: [("reason", reason)],
                                   help: "WebSocket clients the server closed since it started, by reason").set(Double(count))
            }
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }
}
