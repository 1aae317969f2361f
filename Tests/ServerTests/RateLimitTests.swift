import Foundation
@_spi(Testing) import Host
import HostTestSupport
import HTTPTypes
import Hummingbird
@testable import Server
import Testing

@Suite("rate limits")
struct RateLimitTests {
    static let retryAfter = HTTPField.Name("Retry-After")!
    static let remaining = HTTPField.Name("RateLimit-Remaining")!
    static let limit = HTTPField.Name("RateLimit-Limit")!

    @Test("sign-in attempts are limited per client: 429 with Retry-After, and a try after it succeeds")
    func signIn() async throws {
        var settings = SessionHarness.testServerSettings
        settings.loginAttemptsPerMinute = 60  // a burst of 60, one more each second
        let server = try await ServerHarness(server: settings)
        try await server.run { client in
            var last = try await client.post("/auth/login", ["email": "admin@example.com", "password": "guess-0"])
            #expect(last.headers[Self.limit] == "60")
            // A burst of 60; on a slow machine a few more get through as the bucket refills.
            var attempts = 1
            for attempt in 1..<300 where last.status != .tooManyRequests {
                attempts += 1
                last = try await client.post("/auth/login", ["email": "admin@example.com", "password": "guess-\(attempt)"])
            }
            #expect(last.status == .tooManyRequests)
            #expect(attempts > 60)
            #expect(last.errorCode == "RATE_LIMITED")
            #expect(last.headers[Self.remaining] == "0")
            let wait = try #require(last.headers[Self.retryAfter].flatMap(Int.init))
            #expect((1...2).contains(wait))
            try await Task.sleep(for: .seconds(wait))
            #expect(try await client.post("/auth/login", ["email": "admin@example.com", "password": "password-admin"]).status == .ok)
        }
        await server.remove()
    }

    @Test("requests are limited per user: one user's burst does not limit another")
    func perUser() async throws {
        var settings = SessionHarness.testServerSettings
        settings.rateLimitBurst = 20
        settings.rateLimitPerSecond = 0.001  // no refill to speak of during the test
        let server = try await ServerHarness(server: settings)
        try await server.run { client in
            let viewer = try await client.signIn(.viewer).token
            let admin = try await client.signIn(.admin).token
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<25 { statuses.append(try await client.get("/api/me", token: viewer).status) }
            #expect(statuses.prefix(20).allSatisfy { $0 == .ok })
            #expect(statuses.suffix(5).allSatisfy { $0 == .tooManyRequests })
            #expect(try await client.get("/api/me", token: admin).status == .ok)
        }
        await server.remove()
    }

    @Test("behind a trusted proxy, each client in X-Forwarded-For has its own limit; from anyone else the header changes nothing")
    func forwardedFor() async throws {
        var settings = SessionHarness.testServerSettings
        settings.clientRateLimitBurst = 5
        settings.clientRateLimitPerSecond = 0.001
        let forwarded = HTTPField.Name("X-Forwarded-For")!
        @Sendable func statuses(_ client: APIClient, _ header: String) async throws -> [HTTPResponse.Status] {
            var result: [HTTPResponse.Status] = []
            for _ in 0..<7 { result.append(try await client.request(.get, "/health", headers: [(forwarded, header)]).status) }
            return result
        }
        settings.trustedProxies = [try #require(IPRange("127.0.0.0/8"))]
        let behindProxy = try await ServerHarness(server: settings)
        try await behindProxy.run { client in
            let first = try await statuses(client, "198.51.100.7, 203.0.113.1")
            #expect(first.prefix(5).allSatisfy { $0 == .ok } && first.suffix(2).allSatisfy { $0 == .tooManyRequests }, "\(first)")
            // Another client through the same proxy: a bucket of its own. What the client itself
            // wrote further left proves nothing and is not used.
            let other = try await statuses(client, "198.51.100.7, 203.0.113.2")
            #expect(other.prefix(5).allSatisfy { $0 == .ok }, "\(other)")
        }
        await behindProxy.remove()

        settings.trustedProxies = []
        let direct = try await ServerHarness(server: settings)
        try await direct.run { client in
            let first = try await statuses(client, "203.0.113.1")
            let second = try await statuses(client, "203.0.113.2")
            #expect(first.suffix(2).allSatisfy { $0 == .tooManyRequests })
            #expect(second.allSatisfy { $0 == .tooManyRequests }, "the header is anyone's to write")
        }
        await direct.remove()
    }

    @Test("X-Forwarded-For is read right to left, past trusted proxies only; ranges match by prefix")
    func forwardedChain() throws {
        let proxies = [try #require(IPRange("10.0.0.0/8")), try #require(IPRange("fd00::/8")), try #require(IPRange("127.0.0.1"))]
        let trusted = { (address: String) in proxies.contains { $0.contains(address) } }
        let client = { (values: [String]) in ClientAddressMiddleware.client(forwardedFor: values, peer: "127.0.0.1", isTrusted: trusted) }
        #expect(client(["1.1.1.1, 10.0.0.5"]) == "1.1.1.1")
        #expect(client(["9.9.9.9, 1.1.1.1", "10.2.3.4"]) == "1.1.1.1", "several header lines are one list")
        #expect(client(["2001:db8::1, fd12::1"]) == "2001:db8::1")
        #expect(client(["1.1.1.1, not-an-address"]) == "127.0.0.1", "an unreadable hop ends what can be vouched for")
        #expect(client(["10.0.0.1"]) == "127.0.0.1")
        #expect(client([]) == "127.0.0.1")
        #expect(IPRange("10.1.2.3/8")?.contains("10.200.0.1") == true)
        #expect(IPRange("10.0.0.0/8")?.contains("11.0.0.1") == false)
        #expect(IPRange("192.168.1.0/23")?.contains("192.168.0.255") == true)
        #expect(IPRange("192.168.1.0/23")?.contains("192.168.2.0") == false)
        #expect(IPRange("::1")?.contains("::1") == true)
        #expect(IPRange("::1")?.contains("127.0.0.1") == false)
        for bad in ["", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/+8", "300.1.1.1", "example.com", "::1/129"] { #expect(IPRange(bad) == nil, "\(bad)") }
    }

    @Test("trusted_proxies, secure_cookies and refresh_reuse_grace_seconds in flywheel.toml: read, a bad value refused naming it")
    func trustedProxiesSetting() throws {
        let folder = try TemporaryDirectory("proxies")
        defer { folder.remove() }
        let good = try folder.write("good.toml", "[server]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n")
        #expect(try GatewayConfiguration.load(contentsOf: good).server.trustedProxies.map(\.description) == ["127.0.0.1", "10.0.0.0/8"])
        let bad = try folder.write("bad.toml", "[server]\nport = 8080\ntrusted_proxies = [\"10.0.0.0/40\"]\n")
        let error = #expect(throws: ConfigurationError.self) { try GatewayConfiguration.load(contentsOf: bad) }
        #expect(error?.line == 3)
        #expect(error?.reason.contains("10.0.0.0/40") == true)
        #expect(try GatewayConfiguration.load(contentsOf: good).server.secureCookies == false)
        let secure = try folder.write("secure.toml", "[server]\nsecure_cookies = true\n")
        #expect(try GatewayConfiguration.load(contentsOf: secure).server.secureCookies)
        let notBool = try folder.write("not-bool.toml", "[server]\nsecure_cookies = \"yes\"\n")
        let refused = #expect(throws: ConfigurationError.self) { try GatewayConfiguration.load(contentsOf: notBool) }
        #expect(refused?.reason.contains("secure_cookies") == true, "\(String(describing: refused))")

        #expect(try GatewayConfiguration.load(contentsOf: good).server.refreshReuseGraceSeconds == 10)
        for (value, seconds) in [("0", 0.0), ("2.5", 2.5), ("300", 300)] {
            let file = try folder.write("grace.toml", "[server]\nrefresh_reuse_grace_seconds = \(value)\n")
            #expect(try GatewayConfiguration.load(contentsOf: file).server.refreshReuseGraceSeconds == seconds)
        }
        for value in ["-1", "301", "\"10\"", "nan"] {
            let file = try folder.write("grace.toml", "[server]\nrefresh_reuse_grace_seconds = \(value)\n")
            let error = #expect(throws: ConfigurationError.self, "\(value)") { try GatewayConfiguration.load(contentsOf: file) }
            #expect(error?.reason.contains("refresh_reuse_grace_seconds") == true, "\(String(describing: error))")
        }
    }

    @Test("requests are limited per client address, signed in or not")
    func perClient() async throws {
        var settings = SessionHarness.testServerSettings
        settings.clientRateLimitBurst = 30
        settings.clientRateLimitPerSecond = 0.001
        let server = try await ServerHarness(server: settings)
        try await server.run { client in
            var refused = 0
            for _ in 0..<40 where try await client.get("/health").status == .tooManyRequests { refused += 1 }
            #expect(refused == 10)
        }
        await server.remove()
    }
}
