import Foundation
import HostTestSupport
import HTTPTypes
import Hummingbird
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
