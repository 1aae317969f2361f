import Foundation
import HostTestSupport
import Hummingbird
@testable import Server
import Testing

@Suite("the OpenAPI document")
struct OpenAPITests {
    /// `(METHOD, /path/{param})` for every route of the router.
    static func routes(of router: Router<APIRequestContext>) -> Set<String> {
        Set(router.routes.map { route in
            let path = "\(route.path)".split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            return "\(route.method) /\(path)"
        })
    }

    static func documented() throws -> (Set<String>, [String: Any]) {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var operations: Set<String> = []
        for (path, item) in paths {
            for method in item.keys where ["get", "post", "put", "patch", "delete"].contains(method) {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return (operations, document)
    }

    @Test("every route is documented, and every documented route exists")
    func coverage() async throws {
        let server = try await ServerHarness()
        let live = LiveRoutes(events: server.gateway.events, tickets: WebSocketTickets(), settings: LiveSettings(), statistics: LiveStatistics())
        let router = APIServer.buildRouter(gateway: server.gateway, tokens: server.tokens, live: live,
                                           limits: APIServer.Limits(server.gateway.configuration.server),
                                           metrics: MetricsRoutes(registry: .init(), sessions: server.gateway.sessions, live: LiveStatistics()))
        let (documented, document) = try Self.documented()
        #expect(document["openapi"] as? String == "3.1.0")
        // The dashboard's pages and its cookie sign-in are not part of the API (docs/dashboard.md).
        let routes = Self.routes(of: router).filter { !$0.hasSuffix(" /") && !$0.contains(" /ui") }
        #expect(routes.subtracting(documented).isEmpty, "not documented: \(routes.subtracting(documented).sorted())")
        #expect(documented.subtracting(routes).isEmpty, "documented but missing: \(documented.subtracting(routes).sorted())")
        await server.remove()
    }

    @Test("the document is served without a token, as JSON")
    func served() async throws {
        let server = try await ServerHarness()
        try await server.run { client in
            let response = try await client.get("/openapi.json")
            #expect(response.status == .ok)
            #expect(response["openapi"] as? String == "3.1.0")
        }
        await server.remove()
    }
}
