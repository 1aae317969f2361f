@_spi(Testing) import FlywheelClient
import Foundation
@_spi(Testing) import Host
import HostTestSupport
import Server
import Testing

/// The `FlywheelClient` library against a real server on loopback: what a Swift program that
/// depends on it gets.
@Suite("FlywheelClient")
struct ClientTests {
    static func client(port: Int, store: any TokenStore = MemoryTokenStore()) throws -> FlywheelClient {
        try FlywheelClient(server: "http://127.0.0.1:\(port)", credentials: .signIn(store))
    }

    @Test("signs in, creates an agent and a session, follows it live to its end with every event once, and reads the same history back")
    func followsASession() async throws {
        let server = try await ServerHarness()
        try await server.run(live: LiveSettings()) { _, port in
            let client = try Self.client(port: port)
            let signIn = try await client.signIn(email: "operator@example.com", password: "password-operator")
            #expect(signIn.refreshToken.hasPrefix("fwr_"))
            #expect(try await client.me().role == "operator")
            let agent = try await client.createAgent(NewAgent(name: "scripted", driverId: "test.scripted", config: .object([:])))
            #expect(try await client.agents().map(\.id) == [agent.id])
            #expect(try await client.agent("scripted").id == agent.id, "an agent is found by name too")
            let session = try await client.createSession(agentId: agent.id, task: "events=300")
            #expect(session.state == "queued")
            let seen = TestLock<[Event]>([])
            let final = try await client.follow(sessionId: session.id) { event in seen.withLock { $0.append(event) } }
            #expect(final == "done")
            let events = seen.withLock { $0 }
            #expect(events.map(\.seq) == Array(1...Int64(events.count)), "in seq order, no gap, no duplicate")
            #expect(events.last?.finalState == "done")
            #expect(try await client.events(sessionId: session.id, limit: 1000) == events)
            // Following an ended session replays it and ends at once; from a seq, only what follows.
            let tail = TestLock<[Int64]>([])
            #expect(try await client.follow(sessionId: session.id, after: Int64(events.count - 3)) { event in tail.withLock { $0.append(event.seq) } } == "done")
            #expect(tail.withLock { $0 } == Array(Int64(events.count - 2)...Int64(events.count)))
            let page = try await client.sessions(states: ["done"], limit: 10)
            #expect(page.sessions.map(\.id) == [session.id])
            #expect(try await client.session(session.id).hasEnded)
        }
        await server.remove()
    }

    @Test("accounts through the client: add, list, check the key with the provider (a local stand-in), disable, remove")
    func accounts() async throws {
        let provider = try await FakeProvider([
            ["status": 429, "headers": [["content-type", "application/json"], ["retry-after", "120"]],
             "chunks": [#"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#]],
        ])
        defer { provider.stop() }
        let server = try await ServerHarness(accountProviders: ["openai": ProviderEndpoint(format: .openai, baseURL: provider.baseURL + "/v1")])
        try await server.run(live: LiveSettings()) { _, port in
            let client = try Self.client(port: port)
            _ = try await client.signIn(email: "operator@example.com", password: "password-operator")
            let account = try await client.addAccount(provider: "openai", label: "team", credentials: .object(["api_key": .string("sk-client-1234")]))
            #expect(try await client.accounts(provider: "openai").map(\.id) == [account.id])
            let found = try await client.verifyAccount(account.id)
            #expect(found.outcome == "rate_limited")
            #expect(found.account.status == "cooldown")
            #expect((found.account.cooldownUntil ?? .distantPast) > Date().addingTimeInterval(100))
            #expect(try await client.setAccount(account.id, enabled: false).status == "disabled")
            try await client.deleteAccount(account.id)
            let gone = await #expect(throws: FlywheelAPIError.self) { try await client.verifyAccount(account.id) }
            #expect(gone?.code == "ACCOUNT_NOT_FOUND")
        }
        await server.remove()
    }

    @Test("a follower whose sign-in ends is closed by the server (4001) and stops with the refusal instead of reconnecting")
    func followEndsWithTheSignIn() async throws {
        let server = try await ServerHarness()
        let agent = try await server.sessions.agent()
        var settings = LiveSettings()
        settings.heartbeat = .milliseconds(200)
        try await server.run(live: settings) { _, port in
            let client = try Self.client(port: port)
            let signIn = try await client.signIn(email: "viewer@example.com", password: "password-viewer")
            // A session that runs well past the test: the follow can only end through the sign-in.
            let session = try await server.sessions.submit("command=sleep+60 events=1", agent: agent)
            let following = Task { try await client.follow(sessionId: session.id) { _ in } }
            try await Task.sleep(for: .milliseconds(500))
            // Signed out elsewhere (another tab, an admin): the store says the sign-in ended.
            try await server.gateway.people.signOut(refreshToken: signIn.refreshToken)
            let started = ContinuousClock.now
            let error: FlywheelAPIError
            do {
                let final = try await following.value
                Issue.record("the follow ended as \(final) instead of stopping")
                return
            } catch let refused as FlywheelAPIError {
                error = refused
            }
            #expect(error.status == 401, "\(error)")
            #expect(ContinuousClock.now - started < .seconds(20), "ended by the server's check, not by a timeout")
            _ = try? await server.gateway.sessions.cancel(session.id)
        }
        await server.remove()
    }

    @Test("following an ended session from its last seq returns its state at once; an error thrown by the caller ends the follow")
    func followEdges() async throws {
        let server = try await ServerHarness()
        let agent = try await server.sessions.agent()
        let session = try await server.sessions.submit("events=20", agent: agent)
        let stored = try await server.sessions.waitForState(session.id, [.done])
        try await server.run(live: LiveSettings()) { _, port in
            let client = try Self.client(port: port)
            try await client.signIn(email: "viewer@example.com", password: "password-viewer")
            // Nothing after its last seq will ever come: the follow sees that it ended.
            let calls = TestLock(0)
            #expect(try await client.follow(sessionId: session.id, after: stored.lastSeq) { _ in calls.withLock { $0 += 1 } } == "done")
            #expect(calls.withLock { $0 } == 0)
            // The caller's error is the follow's error, after one call: never a reconnect that replays the event.
            struct Refused: Error {}
            let handed = TestLock<[Int64]>([])
            await #expect(throws: Refused.self) {
                try await client.follow(sessionId: session.id, after: 3) { event in
                    handed.withLock { $0.append(event.seq) }
                    throw Refused()
                }
            }
            #expect(handed.withLock { $0 } == [4])
        }
        await server.remove()
    }

    @Test("a follower whose connection the server closes comes back and resumes from its last seq, with nothing lost or repeated")
    func followResumesAfterClose() async throws {
        let server = try await ServerHarness()
        let agent = try await server.sessions.agent()
        var settings = LiveSettings()
        // The client pings every 20 s: with this, the server closes it (4000) again and again.
        settings.idleTimeout = .milliseconds(700)
        try await server.run(live: settings) { _, port in
            let client = try Self.client(port: port)
            try await client.signIn(email: "viewer@example.com", password: "password-viewer")
            let session = try await server.sessions.submit("events=80 rate=20", agent: agent)
            let seqs = TestLock<[Int64]>([])
            let final = try await client.follow(sessionId: session.id) { event in seqs.withLock { $0.append(event.seq) } }
            #expect(final == "done")
            // The session takes 4 s and the server closes a silent client after 0.7 s: at least once.
            #expect(server.liveStatistics.current.closedIdle >= 1, "the server closed the follower along the way")
            let stored = try await server.sessions.waitForState(session.id, [.done])
            #expect(seqs.withLock { $0 } == Array(1...stored.lastSeq))
        }
        await server.remove()
    }

    @Test("refusals come back with the API's status and code; a bad server URL or a closed port is a client error")
    func errors() async throws {
        let server = try await ServerHarness()
        try await server.run(live: LiveSettings()) { _, port in
            let viewer = try Self.client(port: port)
            try await viewer.signIn(email: "viewer@example.com", password: "password-viewer")
            func code(_ body: () async throws -> Void) async -> (Int, String)? {
                do {
                    try await body()
                    return nil
                } catch let error as FlywheelAPIError {
                    return (error.status, error.code)
                } catch {
                    return (0, "\(error)")
                }
            }
            #expect(await code { _ = try await viewer.session("no-such-session") }.map { "\($0.0) \($0.1)" } == "404 SESSION_NOT_FOUND")
            #expect(await code { _ = try await viewer.createAgent(NewAgent(name: "x", driverId: "test.scripted")) }.map { "\($0.0) \($0.1)" } == "403 FORBIDDEN")
            #expect(await code { try await viewer.follow(sessionId: "no-such-session") { _ in } }.map { $0.1 } == "SESSION_NOT_FOUND")
            #expect(await code { _ = try await Self.client(port: port).signIn(email: "viewer@example.com", password: "wrong-password") }
                .map { "\($0.0) \($0.1)" } == "401 INVALID_CREDENTIALS")
            let signedOut = try Self.client(port: port)
            await #expect(throws: FlywheelClientError.self) { _ = try await signedOut.me() }
            let operatorClient = try Self.client(port: port)
            try await operatorClient.signIn(email: "operator@example.com", password: "password-operator")
            #expect(await code { _ = try await operatorClient.createAgent(NewAgent(name: "x", driverId: "no.such.driver")) }
                .map { "\($0.0) \($0.1)" } == "422 DRIVER_NOT_LOADED")
            // After signing out, the old access token is refused by the server, not just forgotten.
            let oldToken = try #require(try await (operatorClient.credentials.store?.current())?.token)
            try await operatorClient.signOut()
            await #expect(throws: FlywheelClientError.self) { _ = try await operatorClient.me() }
            let stale = try FlywheelClient(server: "http://127.0.0.1:\(port)", credentials: .bearer(oldToken))
            #expect(await code { _ = try await stale.me() }.map { "\($0.0) \($0.1)" } == "401 TOKEN_REVOKED")
        }
        for bad in ["localhost:8080", "ftp://example.com", "http://", "http://example.com/?q=1", "http://user:pw@example.com"] {
            #expect(throws: FlywheelClientError.self, "\(bad)") { _ = try FlywheelClient(server: bad, credentials: .none) }
        }
        #expect(try FlywheelClient.normalized(server: "HTTP://Example.COM:8080/prefix/") == "http://example.com:8080/prefix")
        // Nothing listens on a port of a closed server.
        let closed = try FlywheelClient(server: "http://127.0.0.1:1", credentials: .bearer("x"))
        do {
            _ = try await closed.me()
            Issue.record("a closed port answered")
        } catch let error as FlywheelClientError {
            #expect(error.kind == .unreachable, "\(error)")
        }
        await server.remove()
    }

    @Test("a token is renewed 30 s before it expires, or a quarter of its lifetime when that is shorter")
    func renewalMargin() {
        let now = Date()
        func signIn(expiresIn: TimeInterval, lifetime: TimeInterval?) -> SignIn {
            SignIn(email: nil, token: "t", refreshToken: "r", expiresAt: now.addingTimeInterval(expiresIn), lifetime: lifetime)
        }
        #expect(signIn(expiresIn: 20, lifetime: 900).expires(within: 30, now: now))
        #expect(!signIn(expiresIn: 40, lifetime: 900).expires(within: 30, now: now))
        #expect(!signIn(expiresIn: 20, lifetime: 60).expires(within: 30, now: now), "a 60 s token is used for 45 s")
        #expect(signIn(expiresIn: 10, lifetime: 60).expires(within: 30, now: now))
        #expect(signIn(expiresIn: 20, lifetime: nil).expires(within: 30, now: now))
    }

    /// A store that counts the refreshes that went through it: updates that changed the refresh token.
    final class CountingStore: TokenStore {
        let inner: any TokenStore
        let refreshes = TestLock(0)
        init(_ inner: any TokenStore) { self.inner = inner }
        func current() async throws -> SignIn? { try await inner.current() }
        func remove() async throws { try await inner.remove() }
        func update(_ change: @Sendable (SignIn?) async throws -> SignIn) async throws -> SignIn {
            let refreshes = self.refreshes
            return try await inner.update { current in
                let changed = try await change(current)
                if let current, changed.refreshToken != current.refreshToken { refreshes.withLock { $0 += 1 } }
                return changed
            }
        }
    }

    @Test("requests that find the access token expired renew it once between them, so the server never sees a refresh token twice (200 rounds)")
    func renewalRace() async throws {
        let server = try await ServerHarness()
        try await server.run(live: LiveSettings()) { _, port in
            let store = CountingStore(MemoryTokenStore())
            let client = try Self.client(port: port, store: store)
            try await client.signIn(email: "viewer@example.com", password: "password-viewer")
            for round in 1...200 {
                // The sign-in looks expired to the client, as it would once its time passed.
                _ = try await store.inner.update { current in
                    var expired = try #require(current)
                    expired.expiresAt = .distantPast
                    return expired
                }
                await client.treatAccessTokenAsExpired()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<8 { group.addTask { _ = try await client.me() } }
                    try await group.waitForAll()
                }
                #expect(store.refreshes.withLock { $0 } == round, "one renewal in round \(round)")
            }
        }
        await server.remove()
    }

    @Test("two processes sharing a credentials file renew its sign-in once between them and both keep working (100 rounds)")
    func sharedFileRenewal() async throws {
        let server = try await ServerHarness()
        let folder = try TemporaryDirectory("credentials")
        defer { folder.remove() }
        try await server.run(live: LiveSettings()) { _, port in
            let file = folder.file("flywheel/credentials.json")
            let name = try FlywheelClient.normalized(server: "http://127.0.0.1:\(port)")
            // Two stores on one file are two lock holders, as two `flywheel` processes would be.
            let first = CountingStore(FileTokenStore(file: file, server: name)), second = CountingStore(FileTokenStore(file: file, server: name))
            let clients = [try Self.client(port: port, store: first), try Self.client(port: port, store: second)]
            try await clients[0].signIn(email: "viewer@example.com", password: "password-viewer")
            let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            #expect(!(try String(contentsOf: file, encoding: .utf8)).contains("password-viewer"))
            for round in 1...100 {
                // The kept sign-in looks expired to both, as it would once its time passed.
                _ = try await first.inner.update { current in
                    var expired = try #require(current)
                    expired.expiresAt = .distantPast
                    return expired
                }
                for client in clients { await client.treatAccessTokenAsExpired() }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for client in clients {
                        for _ in 0..<3 { group.addTask { _ = try await client.me() } }
                    }
                    try await group.waitForAll()
                }
                let total = first.refreshes.withLock { $0 } + second.refreshes.withLock { $0 }
                #expect(total == round, "one renewal in round \(round)")
            }
        }
        await server.remove()
    }

    @Test("a token the server says expired is renewed and the request sent again")
    func renewsOnExpiredAnswer() async throws {
        var settings = SessionHarness.testServerSettings
        settings.accessTokenSeconds = 3
        let server = try await ServerHarness(server: settings)
        try await server.run(live: LiveSettings()) { _, port in
            let store = CountingStore(MemoryTokenStore())
            let client = try Self.client(port: port, store: store)
            let signIn = try await client.signIn(email: "viewer@example.com", password: "password-viewer")
            // The client believes its token good for an hour; the server knows better.
            _ = try await store.inner.update { _ in SignIn(email: signIn.email, token: signIn.token, refreshToken: signIn.refreshToken,
                                                           expiresAt: Date().addingTimeInterval(3600)) }
            let pinned = try Self.client(port: port, store: store)
            try await Task.sleep(for: .milliseconds(3500))
            #expect(try await pinned.me().email == "viewer@example.com")
            #expect(store.refreshes.withLock { $0 } == 1)
        }
        await server.remove()
    }
}
