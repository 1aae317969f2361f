import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ProviderSignals

/// Where the gateway asks a provider whether an account's key works (`[accounts.providers.NAME]`).
public struct ProviderEndpoint: Sendable, Equatable {
    /// The provider's API, as the SDK driver's `provider` names it.
    public enum Format: String, Sendable, Equatable, CaseIterable {
        /// Anthropic: `GET {base_url}/v1/models`, the key in `x-api-key`.
        case anthropic
        /// OpenAI and servers compatible with it: `GET {base_url}/models`, the key as a bearer token.
        case openai
    }

    public var format: Format
    /// As the SDK driver's `base_url`: no trailing slash, no query.
    public var baseURL: String

    public init(format: Format, baseURL: String) {
        self.format = format
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
    }

    /// The providers the gateway knows without configuration, at the SDK driver's default addresses.
    public static let builtIn: [String: ProviderEndpoint] = [
        "anthropic": ProviderEndpoint(format: .anthropic, baseURL: "https://api.anthropic.com"),
        "openai": ProviderEndpoint(format: .openai, baseURL: "https://api.openai.com/v1"),
    ]

    /// Whether `text` can be a base URL: http or https, a host, no user or password, no query or fragment.
    public static func isBaseURL(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              url.host?.isEmpty == false, url.query == nil, url.fragment == nil, url.user == nil, url.password == nil else { return false }
        return true
    }
}

/// What a provider said of an account's key.
public struct AccountCheck: Sendable, Equatable {
    public enum Outcome: String, Sendable, Equatable, CaseIterable {
        /// The provider accepted the key.
        case verified
        /// The provider refused the key.
        case invalid
        /// The key works but its account has no credit or quota left.
        case outOfCredit = "out_of_credit"
        /// The key works but is rate limited until `cooldownUntil`.
        case rateLimited = "rate_limited"
        /// Nothing could be learnt of the key: the provider was unreachable, failed, or answered
        /// something that does not speak of the key (a proxy, a wrong base URL).
        case inconclusive
    }

    public var outcome: Outcome
    /// What the provider said, for an operator; never the key.
    public var message: String
    /// For `rateLimited`: when the provider said to try again.
    public var cooldownUntil: Date?
}

/// Asks a provider whether a key works, with the cheapest authenticated request it documents:
/// listing models. Nothing is billed and nothing is stored on the provider's side.
public struct AccountVerifier: Sendable {
    public let endpoints: [String: ProviderEndpoint]
    /// The whole exchange, connection included.
    public var timeout: TimeAmount = .seconds(15)
    /// The `anthropic-version` header the Anthropic API requires.
    static let anthropicVersion = "2023-06-01"

    public init(endpoints: [String: ProviderEndpoint] = ProviderEndpoint.builtIn) {
        self.endpoints = endpoints
    }

    /// Checks `credentialsJSON` (the account's opened credentials) against the provider's API.
    /// Throws ``ProviderNotConfigured`` when the gateway does not know how to reach `provider`, and
    /// `CancellationError` when the caller is cancelled; every other failure is an inconclusive check.
    public func check(provider: String, credentialsJSON: String, now: @Sendable () -> Date = Date.init) async throws -> AccountCheck {
        guard let endpoint = endpoints[provider] else { throw ProviderNotConfigured(provider: provider, known: endpoints.keys.sorted()) }
        guard let key = (try? JSONValue.parse(Array(credentialsJSON.utf8)))?.objectValue?["api_key"]?.stringValue, !key.isEmpty else {
            return AccountCheck(outcome: .invalid, message: "the credentials have no api_key to check (add the account again with {\"api_key\": \"…\"})")
        }
        // Keys are printable ASCII; anything else (a line end pasted with the key, say) cannot go in
        // a header, and an HTTP client's error about it would print the key.
        guard key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            return AccountCheck(outcome: .invalid, message: "the api_key holds a space, a line end or another character a key cannot have (add the account again)")
        }
        var request: HTTPClientRequest
        switch endpoint.format {
        case .anthropic:
            request = HTTPClientRequest(url: endpoint.baseURL + "/v1/models?limit=1")
            request.headers.add(name: "x-api-key", value: key)
            request.headers.add(name: "anthropic-version", value: Self.anthropicVersion)
        case .openai:
            request = HTTPClientRequest(url: endpoint.baseURL + "/models")
            request.headers.add(name: "authorization", value: "Bearer " + key)
        }
        request.method = .GET
        request.headers.add(name: "accept", value: "application/json")
        request.headers.add(name: "user-agent", value: "flywheel-gateway")

        // A client of its own per check: it follows no redirect (the key must go to the configured
        // host only), and an operator's occasional check needs no pool. A connection that fails is
        // reported at once instead of retried until the timeout: the operator is waiting.
        var settings = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: timeout, read: timeout))
        settings.httpVersion = .automatic
        settings.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: settings)
        let answer: Result<(status: Int, headers: [String: String], body: String), any Error>
        do {
            let response = try await client.execute(request, timeout: timeout)
            let status = Int(response.status.code)
            var headers: [String: String] = [:]
            for field in response.headers { headers[field.name.lowercased()] = field.value }
            // A 2xx says all there is to say (a models list can be large); an error's body says why.
            var body = ""
            if !(200..<300).contains(status) {
                do {
                    body = String(buffer: try await response.body.collect(upTo: 1 << 16))
                } catch let error as NIOTooManyBytesError {
                    body = "(a body over \(error.maxBytes ?? 1 << 16) bytes)"
                }
            }
            answer = .success((status, headers, body))
        } catch {
            answer = .failure(error)
        }
        // Shutting down throws only for a client already shut down, which this one is not: the
        // answer stands either way.
        try? await client.shutdown()
        switch answer {
        case .success(let answer):
            return Self.classify(status: answer.status, headers: answer.headers, body: Self.redact(answer.body, key: key), now: now())
        case .failure(let error):
            if error is CancellationError || (error as? HTTPClientError) == .cancelled { throw CancellationError() }
            let host = URL(string: endpoint.baseURL)?.host ?? endpoint.baseURL
            return AccountCheck(outcome: .inconclusive, message: Self.redact("could not ask \(host): \(Self.describe(error))", key: key))
        }
    }

    /// What an answer to the models request says of the key. `body` has the key cut out already.
    static func classify(status: Int, headers: [String: String], body: String, now: Date) -> AccountCheck {
        if (200..<300).contains(status) { return AccountCheck(outcome: .verified, message: "the provider accepted the key") }
        // Both formats: {"error": {"type"?, "code"?, "message"}}.
        let error = (try? JSONValue.parse(Array(body.utf8)))?.objectValue?["error"]?.objectValue
        let type = error?["type"]?.stringValue ?? ""
        let code = error?["code"]?.stringValue ?? ""
        let said = error?["message"]?.stringValue ?? ""
        let excerpt = body.count <= 300 ? body : String(body.prefix(300)) + "…"
        let message = said.isEmpty ? "HTTP \(status): \(body.isEmpty ? "(no body)" : excerpt)"
            : "\(said) (HTTP \(status)\(type.isEmpty ? "" : ", \(type)"))"
        let limitResets = headers.keys.contains(where: ProviderErrorReading.isResetHeader)
        if ProviderErrorReading.isOutOfCredit(status: status, type: type, code: code, message: said, limitResets: limitResets) {
            return AccountCheck(outcome: .outOfCredit, message: "out of credit or quota: \(message)")
        }
        switch status {
        case 401:
            if ProviderErrorReading.namesTheKey(type: type, code: code, message: said) {
                return AccountCheck(outcome: .invalid, message: "the provider refused the key: \(message)")
            }
            return AccountCheck(outcome: .inconclusive, message: "an answer that does not name the key (check base_url): \(message)")
        case 429 where error != nil:
            return AccountCheck(outcome: .rateLimited, message: "rate limited by the provider: \(message)", cooldownUntil: now.addingTimeInterval(ProviderRateLimit.retryAfter(headers.map { ($0.key, $0.value) }, now: now)))
        case 429:
            return AccountCheck(outcome: .inconclusive, message: "a rate limit without the provider's error body (a proxy in front?): \(message)")
        default:
            return AccountCheck(outcome: .inconclusive, message: "the provider's answer says nothing of the key: \(message)")
        }
    }

    /// `text` without the key, as written or escaped in JSON or a Swift description.
    static func redact(_ text: String, key: String) -> String {
        guard key.count >= 4 else { return text }
        var text = text
        let forms = [key, key.replacingOccurrences(of: "/", with: "\\/"),
                     key.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")]
        for form in Set(forms) where text.contains(form) { text = text.replacingOccurrences(of: form, with: "[redacted]") }
        return text
    }

    /// A transport failure in words; never an HTTP client error's own description, which can
    /// quote the request's headers.
    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout, .deadlineExceeded, .readTimeout: return "no answer in time"
            case .remoteConnectionClosed: return "the connection was closed"
            case .invalidURL, .emptyHost, .emptyScheme: return "base_url is not a URL the gateway can ask"
            default: return "the HTTP request failed"
            }
        }
        // "connection refused", not NIO's "connection reset (error set): Connection refused) (errno: 111)".
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        return String(describing: error)
    }
}

/// The gateway does not know how to reach this provider's API. (HTTP: 422 `PROVIDER_NOT_CONFIGURED`.)
public struct ProviderNotConfigured: Error, Sendable, Equatable, CustomStringConvertible {
    public var provider: String
    public var known: [String]
    public var description: String {
        "the gateway does not know how to check \(provider) keys (it knows \(known.joined(separator: ", "))): "
            + "add [accounts.providers.\(provider)] with format and base_url to flywheel.toml"
    }
}
