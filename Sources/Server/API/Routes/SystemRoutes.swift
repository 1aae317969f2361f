import Foundation
import Host
import Hummingbird

/// Health and plugins. `/health` and `/health/ready` take no token: load balancers and
/// orchestrators call them, and they reveal nothing but up/ready.
struct SystemRoutes {
    let gateway: Gateway

    struct Health: Encodable {
        var status: String
    }

    struct Readiness: Encodable {
        var status: String
        var plugins: Int
        var sandbox: String
    }

    func add(to router: Router<APIRequestContext>) {
        router.get("health") { _, _ -> Response in
            try APIJSON.response(Health(status: "ok"))
        }
        router.get("health/ready") { _, _ -> Response in
            guard gateway.isReady else {
                throw APIError(.serviceUnavailable, "NOT_READY", "the gateway is still starting (recovering sessions)")
            }
            return try APIJSON.response(Readiness(status: "ready", plugins: gateway.plugins.loaded.count, sandbox: gateway.sandbox.summary))
        }
    }

    func add(to api: RouterGroup<APIRequestContext>) {
        api.group("plugins").add(middleware: RequireRole(.viewer)).get { _, _ -> Response in
            try APIJSON.response(ListJSON(items: gateway.plugins.entries.map(PluginJSON.init)))
        }
    }
}
