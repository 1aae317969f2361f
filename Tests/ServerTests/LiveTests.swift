import Foundation
@_spi(Testing) import Host
import HostTestSupport
import Hummingbird
import NIOWebSocket
import Server
import Testing

// One at a time: the slow-consumer test streams a long history as fast as the server can, and
// next to it, on two cores, the other tests' clients could not connect in time.
@Suite("the live event stream (/ws)", .serialized)
struct LiveTests {
    /// The final-state predicate for a session's events as /ws sends them.
    static func isFinal(_ message: [String: Any]) -> Bool {
        message["type"] as? String == "host.session.state"
            && ["done", "failed", "cancelled"].contains((message["data"] as? [String: Any])?["state"] as? String ?? "")
    }

    @Test("the upgrade needs a token or a one-time ticket")
    func authentication() async throws {
        let server = try await ServerHarness()
        try await server.run(live: LiveSettings()) { client, port in
            let anonymous = LiveClient(port: port)
            _ = try await anonymous.closed()
            #expect(anonymous.failure.withLock { $0 } != nil, "no upgrade without credentials")
            let token = try await client.signIn(.viewer).token
            let ticket = try #require(try await client.post("/api/ws-ticket", token: token)["ticket"] as? String)
            let browser = LiveClient(port: port, query: "?ticket=\(ticket)")
            try await browser.send(["type": "ping"])
            try await browser.waitFor("pong") { $0["kind"] as? String == "pong" }
            let replay = LiveClient(port: port, query: "?ticket=\(ticket)")
            _ = try await replay.closed()
            #expect(replay.failure.withLock { $0 } != nil, "a ticket works once")
            await browser.stop()
        }
        await server.remove()
    }

    @Test("subscribing from any seq replays what is stored, then follows live, with no gap and no duplicate while events are written (20 subscribers)")
    func replayThenLive() async throws {
        let server = try await ServerHarness()
        let agent = try await server.sessions.agent()
        try await server.run(live: LiveSettings()) { client, port in
            let token = try await client.signIn(.viewer).token
            let session = try await server.sessions.submit("events=3000 rate=3000", agent: agent)
            // Subscribers join while the session writes, each from a different seq.
            var clients: [(LiveClient, Int)] = []
            for index in 0..<20 {
                let live = LiveClient(port: port, token: token)
                let after = index * 50
                try await live.subscribe("session:\(session.id)", after: after)
                clients.append((live, after))
                try await Task.sleep(for: .milliseconds(20))
            }
            let stored = try await server.sessions.waitForState(session.id, [.done])
            for (live, after) in clients {
                try await live.waitFor("the final state") { Self.isFinal($0) }
                let seqs = live.events("session:\(session.id)").compactMap { $0["seq"] as? Int }
                #expect(seqs == Array((after + 1)...Int(stored.lastSeq)), "from \(after): \(seqs.count) events, first \(seqs.first ?? -1)")
                // A heartbeat or a pong may come first on a slow machine; nothing else may.
                let first = live.received.withLock { $0.first { !["heartbeat", "pong"].contains($0["kind"] as? String ?? "") } }
                #expect(first?["kind"] as? String == "subscribed")
                await live.stop()
            }
        }
        await server.remove()
    }

    @Test("a client that stops reading is closed (4008) and dropped when it cannot even take the close frame; others get every event")
    func slowConsumer() async throws {
        let server = try await ServerHarness()
        let agent = try await server.sessions.agent()
        var settings = LiveSettings()
        settings.queueCapacity = 8
        // Long enough that a client which does read is never taken for stalled on a loaded machine.
        settings.stallTimeout = .seconds(5)
        settings.closeGrace = .seconds(1)
        try await server.run(live: settings) { client, port in
            let token = try await client.signIn(.viewer).token
            // Replay is the fastest producer there is: a long stored history, read from the start.
            let session = try await server.sessions.submit("events=100000", agent: agent)
            let stored = try await server.sessions.waitForState(session.id, [.done], timeout: .seconds(120))
            let stalled = try RawWebSocket(port: port, token: token)
            try stalled.sendText(#"{"type":"subscribe","channel":"session:\#(session.id)"}"#)
            let healthy = LiveClient(port: port, token: token)
            try await healthy.subscribe("session:\(session.id)")
            // It reads nothing until the server gave up on it, then everything that is left: the
            // connection must end (the close frame, 4008, is in the stream if it could be sent).
            let deadline = ContinuousClock.now + .seconds(60)
            while server.liveStatistics.current.closedSlow == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(server.liveStatistics.current.closedSlow == 1)
            // Closed with 4008 or, usually, dropped: either way the server closes its end while this
            // client still reads nothing (after a drop it used to wait, forever, to write a close frame).
            while try stalled.serverEndEstablished(serverPort: port), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(try !stalled.serverEndEstablished(serverPort: port), "the server closed the connection of a client that reads nothing")
            let (bytes, ended) = await stalled.readToEnd(timeout: .seconds(30))
            #expect(ended, "the server closed the connection of a client that stopped reading")
            // 4008 when our close frame got out before the client was dropped; when it could not,
            // the WebSocket library closes the dropped connection with a plain 1000. Which one the
            // client finds depends on timing; that it was closed for not reading is counted above.
            if let code = RawWebSocket.closeCode(in: bytes) { #expect(code == 4008 || code == 1000, "close code \(code)") }
            try await healthy.waitFor("the final state", timeout: .seconds(120)) { Self.isFinal($0) }
            #expect(server.liveStatistics.current.closedSlow == 1, "only the client that stopped reading")
            let seqs = healthy.events("session:\(session.id)").compactMap { $0["seq"] as? Int }
            #expect(seqs == Array(1...Int(stored.lastSeq)))
            await healthy.stop()
        }
        await server.remove()
    }

    @Test("heartbeats arrive; a client that sends nothing is closed as idle, one that pings is not")
    func heartbeatAndIdle() async throws {
        let server = try await ServerHarness()
        var settings = LiveSettings()
        settings.heartbeat = .milliseconds(200)
        // Far above the pinging client's gaps, even on a loaded machine.
        settings.idleTimeout = .seconds(6)
        try await server.run(live: settings) { client, port in
            let token = try await client.signIn(.viewer).token
            let chatty = LiveClient(port: port, token: token)
            try await chatty.send(["type": "ping"])
            let quiet = LiveClient(port: port, token: token, keepAlive: nil)
            let pinging = Task {
                for _ in 0..<36 {
                    try await chatty.send(["type": "ping"])
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
            try await quiet.waitFor("a heartbeat") { $0["kind"] as? String == "heartbeat" }
            try await pinging.value
            let frame = try await quiet.closed(timeout: .seconds(30))
            #expect(frame?.closeCode == .unknown(4000))
            #expect(!chatty.isClosed)
            await chatty.stop()
        }
        await server.remove()
    }

    @Test("a socket lives as long as its credential: sign-out (token or ticket), a revoked key and a deleted user close it (4001); others stay open")
    func credentialEnds() async throws {
        let server = try await ServerHarness()
        var settings = LiveSettings()
        settings.heartbeat = .milliseconds(200)
        try await server.run(live: settings) { client, port in
            let admin = try await client.signIn(.admin).token
            // Signed in with a token, then signed out.
            let signedIn = try await client.signIn(.viewer)
            let byToken = LiveClient(port: port, token: signedIn.token)
            // The browser's way: a ticket bought with the access token of a sign-in that then ends.
            let browser = try await client.signIn(.viewer)
            let ticket = try #require(try await client.post("/api/ws-ticket", token: browser.token)["ticket"] as? String)
            let byTicket = LiveClient(port: port, query: "?ticket=\(ticket)")
            // An API key, then revoked.
            let created = try await client.post("/api/api-keys", token: admin, ["name": "socket"])
            let byKey = LiveClient(port: port, token: try #require(created["key"] as? String))
            // A user, then deleted.
            let doomed = try await client.post("/api/users", token: admin, ["email": "doomed@example.com", "password": "doomed-password", "role": "viewer"])
            let doomedToken = try #require(try await client.post("/auth/login", ["email": "doomed@example.com", "password": "doomed-password"])["token"] as? String)
            let byDeletedUser = LiveClient(port: port, token: doomedToken)
            // Untouched: another sign-in of the same user.
            let other = LiveClient(port: port, token: try await client.signIn(.viewer).token)
            for live in [byToken, byTicket, byKey, byDeletedUser, other] {
                try await live.waitFor("a heartbeat") { $0["kind"] as? String == "heartbeat" }
            }

            #expect(try await client.post("/auth/logout", ["refreshToken": signedIn.refresh]).status == .noContent)
            #expect(try await client.post("/auth/logout", ["refreshToken": browser.refresh]).status == .noContent)
            #expect(try await client.request(.delete, "/api/api-keys/\(try #require(created["id"] as? String))", token: admin).status == .noContent)
            #expect(try await client.request(.delete, "/api/users/\(try #require(doomed["id"] as? String))", token: admin).status == .noContent)
            for (name, live) in [("token", byToken), ("ticket", byTicket), ("API key", byKey), ("deleted user", byDeletedUser)] {
                let frame = try await live.closed(timeout: .seconds(30))
                #expect(frame?.closeCode == .unknown(4001), "\(name): \(String(describing: frame))")
                #expect(frame?.reason?.contains("sign in again") == true, "\(name): \(String(describing: frame?.reason))")
            }
            // Several heartbeats later the untouched socket still gets them.
            let beats = other.received.withLock { $0.filter { $0["kind"] as? String == "heartbeat" }.count }
            var seen = 0
            _ = try await other.waitFor("three more heartbeats") { message in
                if message["kind"] as? String == "heartbeat" { seen += 1 }
                return seen >= beats + 3
            }
            #expect(!other.isClosed)
            await other.stop()
        }
        await server.remove()
    }

    @Test("bad messages get an error message with a code, and the connection stays usable")
    func errors() async throws {
        let server = try await ServerHarness()
        let agent = try await server.sessions.agent()
        try await server.run(live: LiveSettings()) { client, port in
            let token = try await client.signIn(.viewer).token
            let live = LiveClient(port: port, token: token)
            try await live.send(["type": "dance"])
            try await live.waitFor("INVALID_MESSAGE") { $0["code"] as? String == "INVALID_MESSAGE" }
            try await live.subscribe("session:nope")
            try await live.waitFor("SESSION_NOT_FOUND") { $0["code"] as? String == "SESSION_NOT_FOUND" }
            try await live.subscribe("weather")
            try await live.waitFor("unknown channel") { ($0["message"] as? String)?.contains("unknown channel") == true }
            let session = try await server.sessions.submit("events=5", agent: agent)
            try await live.subscribe("session:\(session.id)")
            try await live.subscribe("session:\(session.id)")
            try await live.waitFor("ALREADY_SUBSCRIBED") { $0["code"] as? String == "ALREADY_SUBSCRIBED" }
            try await live.waitFor("the final state") { Self.isFinal($0) }
            try await live.send(["type": "unsubscribe", "channel": "session:\(session.id)"])
            try await live.waitFor("unsubscribed") { $0["kind"] as? String == "unsubscribed" }
            await live.stop()
        }
        await server.remove()
    }

    @Test("the fleet channel carries every session's live events; fleet:states only their state changes")
    func fleet() async throws {
        let server = try await ServerHarness()
        let agent = try await server.sessions.agent()
        try await server.run(live: LiveSettings()) { client, port in
            let token = try await client.signIn(.viewer).token
            let live = LiveClient(port: port, token: token)
            try await live.subscribe("fleet")
            try await live.waitFor("subscribed") { $0["kind"] as? String == "subscribed" }
            let states = LiveClient(port: port, token: token)
            try await states.subscribe("fleet:states")
            let subscribed = try await states.waitFor("subscribed") { $0["kind"] as? String == "subscribed" }
            #expect(subscribed["channel"] as? String == "fleet:states" && subscribed["after"] == nil)
            let first = try await server.sessions.submit("events=3", agent: agent)
            let second = try await server.sessions.submit("events=3", agent: agent)
            for id in [first.id, second.id] {
                try await live.waitFor("the end of \(id)") { Self.isFinal($0) && $0["sessionId"] as? String == id }
                try await states.waitFor("the end of \(id) among the states") { Self.isFinal($0) && $0["sessionId"] as? String == id }
            }
            let everything = live.events("fleet"), changes = states.events("fleet:states")
            #expect(everything.contains { $0["type"] as? String != "host.session.state" }, "the fleet channel has the driver's events too")
            #expect(!changes.isEmpty && changes.allSatisfy { $0["type"] as? String == "host.session.state" }, "\(changes.map { $0["type"] ?? "" })")
            #expect(changes.count == everything.filter { $0["type"] as? String == "host.session.state" }.count)
            await live.stop()
            await states.stop()
        }
        await server.remove()
    }
}
