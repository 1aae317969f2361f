import Foundation
import Host
import Hummingbird

/// Health, the API document and plugins. `/health`, `/health/ready` and `/openapi.json` take no
/// token: load balancers, orchestrators and client generators call them, and they reveal nothing
/// but up/ready and the public contract.
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
        router.get("openapi.json") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            let document = OpenAPIDocument.json(driverIDs: gateway.plugins.loaded.map(\.descriptor.id).sorted())
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: document)))
        }
        router.get("health/ready") { _, _ -> Response in
            guard gateway.isReady else {
                throw APIError(.serviceUnavailable, "NOT_READY", "the gateway is still starting (recovering sessions)")
            }
            return try APIJSON.response(Readiness(status: "ready", plugins: gateway.plugins.loaded.count, sandbox: gateway.sandbox.summary))
        }
    }

    struct ReloadJSON: Encodable {
        var items: [PluginJSON]
        var added: [String]
        var retired: [String]
    }

    func add(to api: RouterGroup<APIRequestContext>) {
        let plugins = api.group("plugins")
        plugins.add(middleware: RequireRole(.viewer)).get { _, _ -> Response in
            try APIJSON.response(ListJSON(items: gateway.plugins.entries.map(PluginJSON.init)))
        }
        // Loading runs third-party code in the gateway's process: admins only.
        plugins.group("reload").add(middleware: RequireRole(.admin)).post { _, _ -> Response in
            let reload = try await gateway.plugins.reload()
            return try APIJSON.response(ReloadJSON(items: reload.catalog.entries.map(PluginJSON.init), added: reload.added, retired: reload.retired))
        }
    }
}
