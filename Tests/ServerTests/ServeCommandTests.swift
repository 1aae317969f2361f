import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HostTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOWebSocket
import Testing

/// `flywheel serve` as an operator runs it: the real binary, a real port, signals.
@Suite("flywheel serve, the process")
struct ServeCommandTests {
    /// A running `flywheel serve` and a client of it.
    final class Served: @unchecked Sendable {
        let process = Process()
        let output = TestLock(Data())
        let errors = TestLock(Data())
        var client: APIClient!
        var testClient: TestClient!
        var port = 0

        init(folder: TemporaryDirectory, admin: (email: String, password: String)? = ("root@example.com", "root-password")) async throws {
            process.executableURL = TestPaths.flywheel
            process.arguments = ["serve", "--port", "0", "--settings", folder.file("flywheel.toml").path, "--data-dir", folder.file("data").path,
                                 "--plugins-dir", folder.file("plugins.d").path]
            var environment = ["PATH": "/usr/bin:/bin", "FLYWHEEL_SECRET_KEY": SessionHarness.secretKey]
            if let admin {
                environment["FLYWHEEL_ADMIN_EMAIL"] = admin.email
                environment["FLYWHEEL_ADMIN_PASSWORD"] = admin.password
            }
            process.environment = environment
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            let output = self.output, errors = self.errors
            out.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                output.withLock { $0.append(data) }
            }
            err.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                errors.withLock { $0.append(data) }
            }
            try process.run()
            var port: Int?
            for _ in 0..<600 where port == nil && process.isRunning {
                let text = String(decoding: output.withLock { $0 }, as: UTF8.self)
                if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on http://127.0.0.1:") }) {
                    port = Int(line.split(separator: ":").last ?? "")
                } else {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            guard let port else {
                process.terminate()
                throw SessionHarness.Timeout(description: "serve did not listen: \(stderr)")
            }
            self.port = port
            testClient = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(30)))
            testClient.connect()
            let testClient = self.testClient!
            client = APIClient { uri, method, headers, body in
                let response = try await testClient.execute(TestClient.Request(uri, method: method, authority: "127.0.0.1", headers: headers, body: body))
                return APIResponse(status: response.head.status, headers: response.head.headerFields,
                                   body: Data((response.body ?? ByteBuffer()).readableBytesView))
            }
        }

        var stderr: String { String(decoding: errors.withLock { $0 }, as: UTF8.self) }

        /// A test that failed or threw before ``terminate()`` never leaves its server running (one
        /// was once found still busy long after its test had timed out).
        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }

        /// Sends SIGTERM and waits for the process to end; its exit status.
        func terminate() async throws -> Int32 {
            try? await testClient.shutdown()
            process.terminate()
            for _ in 0..<600 where process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
            guard !process.isRunning else {
                kill(process.processIdentifier, SIGKILL)
                return -1
            }
            return process.terminationStatus
        }
    }

    static func folder() throws -> TemporaryDirectory {
        let folder = try TemporaryDirectory("serve")
        try SessionHarness.writePlugins(into: folder)
        // Polling here is faster than the default per-user limit allows; the limits have tests of their own.
        try folder.write("flywheel.toml", "[server]\npassword_cost = 4\nrate_limit_burst = 100000\nclient_rate_limit_burst = 100000\n")
        return folder
    }

    @Test("serve answers on the port it prints; SIGTERM checkpoints a running session, and the next start resumes it with the same sign-in key")
    func serveStopAndResume() async throws {
        let folder = try Self.folder()
        defer { folder.remove() }
        let first = try await Served(folder: folder)
        let client = first.client!
        #expect(try await client.get("/health/ready").status == .ok)
        let login = try await client.post("/auth/login", ["email": "root@example.com", "password": "root-password"])
        let token = try #require(login["token"] as? String, "\(login.text)")
        let agent = try await client.post("/api/agents", token: token, ["name": "long", "driverId": "test.scripted"])
        let agentID = try #require(agent["id"] as? String, "\(agent.text)")
        let session = try await client.post("/api/sessions", token: token, ["agentId": agentID, "task": "events=1000000 rate=500"])
        let sessionID = try #require(session["id"] as? String, "\(session.text)")
        var state = ""
        for _ in 0..<400 where state != "running" {
            state = try await client.get("/api/sessions/\(sessionID)", token: token)["state"] as? String ?? ""
            if state != "running" { try await Task.sleep(for: .milliseconds(25)) }
        }
        #expect(state == "running")
        let live = LiveClient(port: first.port, token: token)
        try await live.subscribe("session:\(sessionID)")
        try await live.waitFor("an event") { $0["kind"] as? String == "event" }

        // Metrics, as a scraper reads them: with an API key.
        let short = try await client.post("/api/sessions", token: token, ["agentId": agentID, "task": "command=echo+hi events=1"])
        let shortID = try #require(short["id"] as? String)
        for _ in 0..<400 where try await client.get("/api/sessions/\(shortID)", token: token)["state"] as? String != "done" {
            try await Task.sleep(for: .milliseconds(25))
        }
        let key = try #require(try await client.post("/api/api-keys", token: token, ["name": "prometheus"])["key"] as? String)
        #expect(try await client.get("/metrics").status == .unauthorized)
        let scraped = try await client.get("/metrics", token: key)
        #expect(scraped.status == .ok)
        #expect(scraped.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
        let metrics = scraped.text
        #expect(metrics.contains(#"flywheel_sessions{state="running"} 1.0"#), "\(metrics.prefix(2000))")
        #expect(metrics.contains(#"flywheel_sessions{state="done"} 1.0"#))
        #expect(metrics.contains(#"flywheel_dcg_decisions_total{decision="allow"} 1"#))
        #expect(metrics.contains("flywheel_websocket_clients 1.0"))
        #expect(metrics.contains(#"hb_requests{http_route="/api/sessions/{id}",http_request_method="GET",http_response_status_code="200"}"#))
        let storedLine = metrics.split(separator: "\n").first { $0.hasPrefix("flywheel_events_stored_total ") }
        #expect((storedLine?.split(separator: " ").last.flatMap { Double($0) } ?? 0) > 1)

        #expect(try await first.terminate() == 0, "\(first.stderr)")
        let frame = try await live.closed()
        #expect(frame?.closeCode == .goingAway, "\(String(describing: frame)) \(String(describing: live.failure.withLock { $0 }))")
        #expect(FileManager.default.fileExists(atPath: folder.file("data/jwt-signing.key").path))

        // The next start: the admin exists already (none is created), the old token still signs in,
        // and the session queued by the shutdown runs again from its checkpoint.
        let second = try await Served(folder: folder, admin: ("other@example.com", "ignored-now"))
        let again = second.client!
        #expect(!second.stderr.contains("created admin"))
        var resumed: [String: Any] = [:]
        for _ in 0..<400 {
            resumed = try await again.get("/api/sessions/\(sessionID)", token: token).json
            if resumed["state"] as? String == "running", (resumed["lastSeq"] as? Int ?? 0) > 0 { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        #expect(resumed["state"] as? String == "running", "\(resumed)")
        let events = try await again.get("/api/sessions/\(sessionID)/events?limit=1000", token: token).items
        #expect(events.contains { ($0["data"] as? [String: Any])?["state"] as? String == "queued" })
        let cancelled = try await again.post("/api/sessions/\(sessionID)/cancel", token: token)
        #expect(cancelled.status == .ok)
        #expect(try await second.terminate() == 0, "\(second.stderr)")
    }

    @Test("with no admin given, serve makes one and prints its password once")
    func generatedAdmin() async throws {
        let folder = try Self.folder()
        defer { folder.remove() }
        let served = try await Served(folder: folder, admin: nil)
        let line = try #require(served.stderr.split(separator: "\n").first { $0.hasPrefix("created admin admin@localhost with password ") })
        let password = try #require(line.split(separator: " ").dropFirst(5).first.map(String.init))
        #expect(password.count >= 20)
        let login = try await served.client.post("/auth/login", ["email": "admin@localhost", "password": password])
        #expect(login.status == .ok)
        #expect(try await served.terminate() == 0)
        let again = try await Served(folder: folder, admin: nil)
        #expect(!again.stderr.contains("created admin"))
        let status = try await again.terminate()
        #expect(status == 0, "\(again.stderr.split(separator: "\n").suffix(12).joined(separator: "\n"))")
    }

    @Test("a connection that never sends a byte does not hold up shutdown")
    func silentConnection() async throws {
        let folder = try Self.folder()
        defer { folder.remove() }
        let served = try await Served(folder: folder)
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(silent) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(served.port).bigEndian
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(silent, $0, size) } }
        #expect(connected == 0)
        let started = ContinuousClock.now
        #expect(try await served.terminate() == 0)
        #expect(ContinuousClock.now - started < .seconds(8), "shutdown did not wait for the first-byte timeout")
    }
}
