import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A client of a Flywheel gateway's HTTP API (`flywheel serve`, docs/api.md) and of its live event
/// stream (`/ws`). Safe to share between tasks.
///
/// ```swift
/// let store = MemoryTokenStore()
/// let client = try FlywheelClient(server: "http://127.0.0.1:8080", credentials: .signIn(store))
/// try await client.signIn(email: "me@example.com", password: "…")
/// let session = try await client.createSession(agentId: agent.id, task: "run the tests")
/// let final = try await client.follow(sessionId: session.id) { event in print(event.seq, event.type) }
/// ```
public final class FlywheelClient: Sendable {
    /// How the client proves who it is.
    public enum Credentials: Sendable {
        /// An API key (`fwk_…`) or an access token someone else renews: sent as it is.
        case bearer(String)
        /// A sign-in kept in a store, renewed with its refresh token before it expires.
        case signIn(any TokenStore)
        /// No credentials: only `/health` and `signIn` work.
        case none

        /// The token store of a sign-in.
        public var store: (any TokenStore)? {
            if case .signIn(let store) = self { return store }
            return nil
        }
    }

    /// The server's base URL, normalized (no trailing slash).
    public let server: String
    let http: HTTPClient
    let authorizer: Authorizer
    /// How the client proves who it is.
    public var credentials: Credentials { authorizer.credentials }
    let logger: Logger
    /// The longest a request may take, connection included.
    public let timeout: TimeAmount
    /// Larger answers are refused rather than held in memory.
    static let maxResponseBytes = 32 << 20

    /// - Parameters:
    ///   - server: `http://` or `https://`, with a path prefix if a proxy serves the API under one.
    ///   - httpClient: By default one client for the whole process, which needs no shutdown: it
    ///     follows no redirect (a bearer token never goes to another host) and fails at once when
    ///     nothing listens, instead of trying to connect again until the timeout.
    public init(server: String, credentials: Credentials, httpClient: HTTPClient = FlywheelClient.sharedHTTPClient, timeout: TimeAmount = .seconds(30),
                logger: Logger = Logger(label: "flywheel.client")) throws {
        self.server = try Self.normalized(server: server)
        http = httpClient
        self.timeout = timeout
        self.logger = logger
        authorizer = Authorizer(credentials: credentials)
    }

    /// The HTTP client every `FlywheelClient` uses unless given another; it lives as long as the process.
    public static var sharedHTTPClient: HTTPClient { processHTTPClient }

    /// The base URL as clients compare it: scheme and host in lower case, no trailing slash, no
    /// query. Throws for anything but an absolute `http(s)://` URL.
    public static func normalized(server: String) throws -> String {
        let trimmed = server.trimmingCharacters(in: .whitespaces)
        guard var components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else {
            throw FlywheelClientError(.invalidServer, "'\(server)' is not a server URL: give http://HOST:PORT or https://HOST")
        }
        guard components.query == nil, components.fragment == nil, components.user == nil, components.password == nil else {
            throw FlywheelClientError(.invalidServer, "'\(server)': a server URL has no query, fragment or user name")
        }
        components.scheme = scheme
        components.host = host.lowercased()
        while components.path.hasSuffix("/") { components.path.removeLast() }
        guard let text = components.string else { throw FlywheelClientError(.invalidServer, "'\(server)' is not a server URL") }
        return text
    }

    // MARK: Signing in

    /// Signs in with a password and keeps the sign-in in the client's token store.
    @discardableResult
    public func signIn(email: String, password: String) async throws -> SignIn {
        guard case .signIn(let store) = authorizer.credentials else {
            throw FlywheelClientError(.notSignedIn, "this client was made without a token store to keep a sign-in in")
        }
        let pair: TokenPair = try await request(.POST, "/auth/login", body: ["email": email, "password": password], authenticated: false)
        let signIn = pair.signIn(email: email)
        return try await authorizer.replace(with: signIn, in: store)
    }

    /// Ends the sign-in on the server (its access tokens stop working at once) and forgets it.
    public func signOut() async throws {
        guard case .signIn(let store) = authorizer.credentials else { return }
        if let current = try await store.current() {
            do {
                try await requestWithoutAnswer(.POST, "/auth/logout", body: ["refreshToken": current.refreshToken], authenticated: false)
            } catch let error as FlywheelAPIError where error.status == 401 {
                // Already ended (expired, or revoked elsewhere): nothing left to end.
            }
        }
        try await store.remove()
        await authorizer.forget()
    }

    /// Makes the client take its access token for expired, as if its time had passed: the next
    /// request renews it first.
    @_spi(Testing) public func treatAccessTokenAsExpired() async {
        await authorizer.treatAsExpired()
    }

    /// The signed-in user.
    public func me() async throws -> User { try await request(.GET, "/api/me") }

    // MARK: Sessions

    public func createSession(agentId: String, task: String) async throws -> Session {
        try await request(.POST, "/api/sessions", body: ["agentId": agentId, "task": task])
    }

    /// Sessions, newest first. `states` filters by state; `cursor` is the previous page's `nextCursor`.
    public func sessions(states: [String] = [], agentId: String? = nil, limit: Int? = nil, cursor: String? = nil) async throws -> SessionPage {
        var query: [(String, String)] = []
        if !states.isEmpty { query.append(("state", states.joined(separator: ","))) }
        if let agentId { query.append(("agentId", agentId)) }
        if let limit { query.append(("limit", String(limit))) }
        if let cursor { query.append(("cursor", cursor)) }
        return try await request(.GET, "/api/sessions", query: query)
    }

    public func session(_ id: String) async throws -> Session { try await request(.GET, "/api/sessions/\(Self.segment(id))") }
    public func pauseSession(_ id: String) async throws -> Session { try await request(.POST, "/api/sessions/\(Self.segment(id))/pause") }
    public func resumeSession(_ id: String) async throws -> Session { try await request(.POST, "/api/sessions/\(Self.segment(id))/resume") }
    public func cancelSession(_ id: String) async throws -> Session { try await request(.POST, "/api/sessions/\(Self.segment(id))/cancel") }

    /// Stored events after `after`, at most `limit` (1-1000), in seq order.
    public func events(sessionId: String, after: Int64 = 0, limit: Int = 1000) async throws -> [Event] {
        let items: Items<Event> = try await request(.GET, "/api/sessions/\(Self.segment(sessionId))/events",
                                                    query: [("after", String(after)), ("limit", String(limit))])
        return items.items
    }

    public func checkpoints(sessionId: String) async throws -> [Checkpoint] {
        let items: Items<Checkpoint> = try await request(.GET, "/api/sessions/\(Self.segment(sessionId))/checkpoints")
        return items.items
    }

    /// The guard's decisions on a session's commands.
    public func decisions(sessionId: String) async throws -> [CommandDecision] {
        let items: Items<CommandDecision> = try await request(.GET, "/api/sessions/\(Self.segment(sessionId))/decisions")
        return items.items
    }

    // MARK: Agents

    public func agents() async throws -> [Agent] {
        let items: Items<Agent> = try await request(.GET, "/api/agents")
        return items.items
    }

    public func agent(_ id: String) async throws -> Agent { try await request(.GET, "/api/agents/\(Self.segment(id))") }
    public func createAgent(_ agent: NewAgent) async throws -> Agent { try await request(.POST, "/api/agents", body: agent) }
    public func deleteAgent(_ id: String) async throws { try await requestWithoutAnswer(.DELETE, "/api/agents/\(Self.segment(id))") }

    // MARK: The guard and held commands

    /// What the guard says of `command`; nothing runs.
    public func check(command: String) async throws -> GuardDecision {
        try await request(.POST, "/api/dcg/check", body: ["command": command])
    }

    /// Commands held for an operator, of one session or all.
    public func pendingCommands(sessionId: String? = nil) async throws -> [CommandDecision] {
        let items: Items<CommandDecision> = try await request(.GET, "/api/dcg/pending", query: sessionId.map { [("sessionId", $0)] } ?? [])
        return items.items
    }

    public func approve(_ id: String) async throws -> CommandDecision { try await request(.POST, "/api/dcg/pending/\(Self.segment(id))/approve") }
    public func deny(_ id: String) async throws -> CommandDecision { try await request(.POST, "/api/dcg/pending/\(Self.segment(id))/deny") }

    // MARK: Accounts and plugins

    public func accounts(provider: String? = nil) async throws -> [Account] {
        let items: Items<Account> = try await request(.GET, "/api/accounts", query: provider.map { [("provider", $0)] } ?? [])
        return items.items
    }

    /// Adds a provider account; `credentials` (a JSON object, e.g. `{"api_key": "…"}`) are sealed
    /// at rest and never come back.
    public func addAccount(provider: String, label: String, credentials: JSONValue) async throws -> Account {
        struct Add: Encodable { var provider: String; var label: String; var credentials: JSONValue }
        return try await request(.POST, "/api/accounts", body: Add(provider: provider, label: label, credentials: credentials))
    }

    /// Takes an account out of rotation (`false`) or puts it back (`true`).
    public func setAccount(_ id: String, enabled: Bool) async throws -> Account {
        try await request(.PATCH, "/api/accounts/\(Self.segment(id))", body: ["enabled": enabled])
    }

    /// Asks the account's provider whether its key works; the server records what it says.
    public func verifyAccount(_ id: String) async throws -> AccountVerification {
        try await request(.POST, "/api/accounts/\(Self.segment(id))/verify")
    }

    public func deleteAccount(_ id: String) async throws { try await requestWithoutAnswer(.DELETE, "/api/accounts/\(Self.segment(id))") }

    public func plugins() async throws -> [Plugin] {
        let items: Items<Plugin> = try await request(.GET, "/api/plugins")
        return items.items
    }

    // MARK: Requests

    /// One path segment, percent-encoded: an id or name never changes the route.
    static func segment(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }

    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return date }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 time: \(text)"))
        }
        return decoder
    }()

    /// Decodes JSON as the API writes it (times in ISO 8601, with or without milliseconds).
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try decoder.decode(type, from: data)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    func request<Answer: Decodable>(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], authenticated: Bool = true) async throws -> Answer {
        try await request(method, path, query: query, body: Optional<[String: String]>.none, authenticated: authenticated)
    }

    func request<Answer: Decodable, Body: Encodable>(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: Body?,
                                                     authenticated: Bool = true) async throws -> Answer {
        let (response, data) = try await send(method, path, query: query, body: body.map { try Self.encoder.encode($0) }, authenticated: authenticated)
        do {
            return try Self.decoder.decode(Answer.self, from: data)
        } catch {
            throw FlywheelClientError(.unexpectedResponse, "\(method) \(path): the answer (\(response.status.code)) is not what the API sends: \(error)")
        }
    }

    func requestWithoutAnswer(_ method: HTTPMethod, _ path: String, body: [String: String]? = nil, authenticated: Bool = true) async throws {
        _ = try await send(method, path, query: [], body: body.map { try Self.encoder.encode($0) }, authenticated: authenticated)
    }

    /// Sends a request and returns a 2xx answer; any other becomes `FlywheelAPIError`. An expired
    /// access token is renewed once and the request sent again.
    func send(_ method: HTTPMethod, _ path: String, query: [(String, String)], body: Data?, authenticated: Bool) async throws -> (HTTPClientResponse, Data) {
        var bearer = authenticated ? try await authorizer.bearer(using: self) : nil
        var renewed = false
        while true {
            let (response, data) = try await exchange(method, path, query: query, body: body, bearer: bearer)
            if (200..<300).contains(response.status.code) { return (response, data) }
            let error = Self.apiError(response, data, method: method, path: path)
            if let sent = bearer, !renewed, error.status == 401, error.code == "TOKEN_EXPIRED",
               let fresh = try await authorizer.renew(rejected: sent, using: self) {
                renewed = true
                bearer = fresh
                continue
            }
            throw error
        }
    }

    /// One request and its whole answer.
    private func exchange(_ method: HTTPMethod, _ path: String, query: [(String, String)], body: Data?, bearer: String?) async throws -> (HTTPClientResponse, Data) {
        var url = server + path
        if !query.isEmpty {
            url += "?" + query.map { "\(Self.queryEncode($0.0))=\(Self.queryEncode($0.1))" }.joined(separator: "&")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "accept", value: "application/json")
        if let bearer { request.headers.add(name: "authorization", value: "Bearer \(bearer)") }
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await http.execute(request, timeout: timeout, logger: logger)
            let buffer = try await response.body.collect(upTo: Self.maxResponseBytes)
            return (response, Data(buffer.readableBytesView))
        } catch let error as FlywheelAPIError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw FlywheelClientError(.unreachable, "\(method) \(server)\(path): \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "could not connect in time"
            case .deadlineExceeded: return "no answer in time"
            case .remoteConnectionClosed: return "the server closed the connection"
            default: break
            }
        }
        let text = String(describing: error)
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused (is `flywheel serve` running there?)" }
        return text
    }

    private static let queryAllowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~,")

    private static func queryEncode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: queryAllowed) ?? text
    }

    /// The API's error body as an error; an answer without one (a proxy's page, say) says what came.
    static func apiError(_ response: HTTPClientResponse, _ data: Data, method: HTTPMethod, path: String) -> FlywheelAPIError {
        struct Body: Decodable {
            struct Detail: Decodable { var code: String; var message: String; var hint: String?; var field: String? }
            var error: Detail
        }
        let requestID = response.headers.first(name: "x-request-id")
        let retryAfter = response.headers.first(name: "retry-after").flatMap { Int($0) }
        if let body = try? decoder.decode(Body.self, from: data) {
            return FlywheelAPIError(status: Int(response.status.code), code: body.error.code, message: body.error.message, hint: body.error.hint,
                                    field: body.error.field, requestID: requestID, retryAfter: retryAfter)
        }
        let text = String(decoding: data.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return FlywheelAPIError(status: Int(response.status.code), code: "HTTP_\(response.status.code)",
                                message: "\(method) \(path) answered \(response.status.code) \(response.status.reasonPhrase)" + (text.isEmpty ? "" : ": \(text)"),
                                requestID: requestID, retryAfter: retryAfter)
    }
}

private let processHTTPClient: HTTPClient = {
    var configuration = HTTPClient.Configuration(
        redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(60)))
    configuration.connectionPool.retryConnectionEstablishment = false
    // Idle connections are dropped well before the server's 60 s: a request never goes out on a
    // connection the server is closing at that moment.
    configuration.connectionPool.idleTimeout = .seconds(30)
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}()

/// The answer of `/auth/login` and `/auth/refresh`.
struct TokenPair: Decodable, Sendable {
    var token: String
    var refreshToken: String
    var expiresIn: Double

    func signIn(email: String?, now: Date = Date()) -> SignIn {
        SignIn(email: email, token: token, refreshToken: refreshToken, expiresAt: now.addingTimeInterval(expiresIn), lifetime: expiresIn)
    }
}
