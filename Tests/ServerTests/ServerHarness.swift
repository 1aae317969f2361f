import Foundation
@_spi(Testing) import Host
import HostTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Server
import Testing

/// A real gateway (SessionHarness) with the HTTP API on a free loopback port, and a JSON client
/// for it. Three users exist: admin, operator and viewer, each with password `password-<role>`.
final class ServerHarness: Sendable {
    let sessions: SessionHarness
    let tokens: AccessTokens
    let key: SigningKey
    let liveStatistics = LiveStatistics()

    static let roles: [UserRecord.Role] = [.admin, .operator, .viewer]

    init(policy: PolicyConfiguration = .default, server: ServerSettings = SessionHarness.testServerSettings,
         accountProviders: [String: ProviderEndpoint] = ProviderEndpoint.builtIn) async throws {
        sessions = try await SessionHarness(policy: policy, server: server, accountProviders: accountProviders)
        key = try SigningKey.load(dataDirectory: sessions.gateway.configuration.dataDirectory, environment: [:])
        tokens = await AccessTokens(key: key, lifetime: server.accessTokenSeconds)
        for role in Self.roles {
            _ = try await sessions.gateway.people.createUser(email: "\(role.rawValue)@example.com", password: "password-\(role.rawValue)", role: role)
        }
    }

    var gateway: Gateway { sessions.gateway }

    /// The whole suite runs in one process on few cores, and its event loops can fall seconds behind:
    /// a client's first bytes may then be read after the production timeout, which would close the
    /// connection with its request unread (a reset). That timeout has a test of its own against the
    /// real binary (ServeCommandTests).
    static let firstByteTimeout: Duration = .seconds(120)

    /// Runs `body` with a client of the server and the port it listens on (for WebSocket clients).
    func run<T: Sendable>(live: LiveSettings, _ body: @Sendable (APIClient, Int) async throws -> T) async throws -> T {
        let application = APIServer.buildApplication(gateway: gateway, tokens: tokens, host: "127.0.0.1", port: 0, live: live,
                                                     liveStatistics: liveStatistics, firstByteTimeout: Self.firstByteTimeout, logger: .quiet)
        return try await application.test(.live) { client in
            let port = try #require(client.port)
            return try await body(APIClient { uri, method, headers, body in
                let response = try await client.executeRequest(uri: uri, method: method, headers: headers, body: body)
                return APIResponse(status: response.status, headers: response.headers, body: Data(response.body.readableBytesView))
            }, port)
        }
    }

    /// Runs `body` with a client of the server, started on a free loopback port for it.
    func run<T: Sendable>(_ body: @Sendable (APIClient) async throws -> T) async throws -> T {
        let application = APIServer.buildApplication(gateway: gateway, tokens: tokens, host: "127.0.0.1", port: 0,
                                                     firstByteTimeout: Self.firstByteTimeout, logger: .quiet)
        return try await application.test(.live) { client in
            try await body(APIClient { uri, method, headers, body in
                let response = try await client.executeRequest(uri: uri, method: method, headers: headers, body: body)
                return APIResponse(status: response.status, headers: response.headers, body: Data(response.body.readableBytesView))
            })
        }
    }

    func remove() async {
        await sessions.stop()
        sessions.remove()
    }
}

/// A response: status, headers, and the body as JSON when it is JSON.
struct APIResponse: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: Data

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorField: String? { (json["error"] as? [String: Any])?["field"] as? String }
    var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }
    subscript(key: String) -> Any? { json[key] }
    var text: String { String(decoding: body, as: UTF8.self) }
}

struct APIClient: Sendable {
    /// Sends one request over a real connection.
    let send: @Sendable (_ uri: String, _ method: HTTPRequest.Method, _ headers: HTTPFields, _ body: ByteBuffer?) async throws -> APIResponse

    func request(_ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: [String: any Sendable]? = nil,
                 raw: String? = nil, contentType: String = "application/json", headers extra: [(HTTPField.Name, String)] = []) async throws -> APIResponse {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
            headers[.contentType] = contentType
        } else if let raw {
            body = ByteBuffer(string: raw)
            headers[.contentType] = contentType
        }
        for (name, value) in extra { headers[name] = value }
        return try await send(path, method, headers, body)
    }

    func get(_ path: String, token: String? = nil) async throws -> APIResponse {
        try await request(.get, path, token: token)
    }

    func post(_ path: String, token: String? = nil, _ json: [String: any Sendable] = [:]) async throws -> APIResponse {
        try await request(.post, path, token: token, json: json)
    }

    /// Signs in as `role@example.com` and returns the access and refresh tokens.
    func signIn(_ role: UserRecord.Role) async throws -> (token: String, refresh: String) {
        let response = try await post("/auth/login", ["email": "\(role.rawValue)@example.com", "password": "password-\(role.rawValue)"])
        guard response.status == .ok, let token = response["token"] as? String, let refresh = response["refreshToken"] as? String else {
            throw SessionHarness.Timeout(description: "sign-in as \(role) failed: \(response.status) \(response.text)")
        }
        return (token, refresh)
    }
}
