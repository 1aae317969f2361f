import Foundation
@_spi(Testing) import Host
import HostTestSupport
import Server
import Testing

/// The `flywheel` CLI pointed at a server (`--server` / `FLYWHEEL_URL`): the real binary against a
/// real server on loopback, signed in with `flywheel login`.
@Suite("flywheel CLI against a server")
struct RemoteCommandLineTests {
    /// The CLI with its own config directory (where `login` keeps the sign-in) and the server's URL.
    struct CLI {
        let home: TemporaryDirectory
        let url: String
        var token: String?

        var environment: [String: String] {
            var environment = ["PATH": "/usr/bin:/bin", "HOME": home.url.path, "XDG_CONFIG_HOME": home.file("config").path, "FLYWHEEL_URL": url]
            if let token { environment["FLYWHEEL_TOKEN"] = token }
            return environment
        }

        func callAsFunction(_ arguments: String..., input: String? = nil) async throws -> ProcessOutput {
            try await ProcessRunner.runDetached(TestPaths.flywheel, arguments, input: input, environment: environment)
        }

        /// Starts a command; `Running.finish` waits for it and returns its status and all it printed.
        func start(_ arguments: [String]) throws -> Running {
            let process = Process()
            process.executableURL = TestPaths.flywheel
            process.arguments = arguments
            process.environment = environment
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            // Read on a thread of its own until the pipe closes: nothing the program printed is missed.
            let output = TestLock<Data?>(nil)
            let handle = pipe.fileHandleForReading
            Thread.detachNewThread { let data = handle.readDataToEndOfFile(); output.withLock { $0 = data } }
            return Running(process: process, output: output)
        }
    }

    struct Running {
        let process: Process
        let output: TestLock<Data?>

        /// Waits up to `timeout` for the program to end (it is killed after that); its status, nil
        /// if it had to be killed, and everything it printed.
        func finish(timeout: Duration = .seconds(30)) async throws -> (status: Int32?, printed: String) {
            let deadline = ContinuousClock.now + timeout
            while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            let killed = process.isRunning
            if killed { kill(process.processIdentifier, SIGKILL) }
            while output.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
            while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
            return (killed ? nil : process.terminationStatus, String(decoding: output.withLock { $0 } ?? Data(), as: UTF8.self))
        }
    }

    static let askPolicy: PolicyConfiguration = {
        var policy = PolicyConfiguration.default
        policy.modes["core.git"] = .ask
        return policy
    }()

    @Test("login, agents create, sessions create, a live tail to the end, and a held command approved from another terminal")
    func quickstart() async throws {
        let server = try await ServerHarness(policy: Self.askPolicy)
        let home = try TemporaryDirectory("cli-home")
        defer { home.remove() }
        try await server.run(live: LiveSettings()) { client, port in
            let cli = CLI(home: home, url: "http://127.0.0.1:\(port)")
            let login = try await cli("login", "--email", "operator@example.com", "--password-stdin", input: "password-operator\n")
            #expect(login.status == 0, "\(login.stderr)")
            #expect(login.stdout == "signed in to http://127.0.0.1:\(port) as operator@example.com (operator)\n")
            let credentials = home.file("config/flywheel/credentials.json")
            #expect(try FileManager.default.attributesOfItem(atPath: credentials.path)[.posixPermissions] as? Int == 0o600)
            #expect(try FileManager.default.attributesOfItem(atPath: home.file("config/flywheel").path)[.posixPermissions] as? Int == 0o700)
            #expect(!(try String(contentsOf: credentials, encoding: .utf8)).contains("password-operator"), "the password is never kept")

            let created = try await cli("agents", "create", "--name", "cli-agent", "--driver", "test.scripted", "--json")
            #expect(created.status == 0, "\(created.stderr)")
            let agentID = try #require((try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any])?["id"] as? String)
            #expect(try await cli("agents", "list").stdout.contains("\(agentID)  cli-agent  test.scripted"))

            let submitted = try await cli("sessions", "create", "--agent", "cli-agent", "command=git+stash+drop+||+echo+ran events=2")
            #expect(submitted.status == 0, "\(submitted.stderr)")
            let sessionID = submitted.stdout.trimmingCharacters(in: .newlines)
            let tail = try cli.start(["sessions", "tail", sessionID])

            // From another terminal: the held command, approved.
            var heldID: String?
            for _ in 0..<600 where heldID == nil {
                let pending = try await cli("dcg", "pending", "list", "--json")
                let items = (try? JSONSerialization.jsonObject(with: Data(pending.stdout.utf8)) as? [[String: Any]]) ?? []
                heldID = items.first { $0["sessionId"] as? String == sessionID }?["id"] as? String
                if heldID == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            let held = try #require(heldID)
            let approved = try await cli("dcg", "pending", "approve", held)
            #expect(approved.stdout == "\(held) approved: git stash drop || echo ran\n", "\(approved.stderr)")

            let (status, printed) = try await tail.finish()
            #expect(status == 0, "tail ends with the session, exit 0 for done: \(printed)")
            let seqs = printed.split(separator: "\n").compactMap { line in line.hasPrefix("[") ? Int(line.dropFirst().prefix { $0 != "]" }) : nil }
            #expect(seqs == Array(1...seqs.count), "every event once, in order: \(printed)")
            #expect(printed.contains("host.command.decision ask git stash drop || echo ran [core.git:stash-drop]"))
            #expect(printed.hasSuffix("host.session.state done\n"), "\(printed)")

            let show = try await cli("sessions", "show", sessionID)
            let shown = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
            #expect((shown["session"] as? [String: Any])?["state"] as? String == "done")
            #expect((shown["commandDecisions"] as? [[String: Any]])?.first?["decidedBy"] as? String == "operator@example.com")
            #expect(try await cli("sessions", "list", "--state", "done").stdout.contains(sessionID))
            let events = try await cli("sessions", "events", sessionID, "--json")
            #expect(events.stdout.split(separator: "\n").count == seqs.count)

            // A refusal says what and why, with the API's code, and fails the command.
            let cancel = try await cli("sessions", "cancel", sessionID)
            #expect(cancel.status == 1)
            #expect(cancel.stderr.contains("ILLEGAL_TRANSITION"), "\(cancel.stderr)")
            let missing = try await cli("sessions", "tail", "no-such-session")
            #expect(missing.status == 3, "a session that cannot be followed is not a failed session")
            #expect(missing.stderr.contains("SESSION_NOT_FOUND"), "\(missing.stderr)")
            // From its last seq, an ended session has nothing more: tail says how it ended, at once.
            let ended = try await cli("sessions", "tail", sessionID, "--after", String(seqs.count))
            #expect(ended.status == 0 && ended.stdout.isEmpty, "\(ended.stdout) \(ended.stderr)")

            // Scripts use an API key instead of a sign-in; a viewer's key reads but cannot create.
            let viewer = try await client.signIn(.viewer).token
            let key = try #require(try await client.post("/api/api-keys", token: viewer, ["name": "script"])["key"] as? String)
            var scripted = cli
            scripted.token = key
            #expect(try await scripted("sessions", "list").stdout.contains(sessionID))
            let forbidden = try await scripted("sessions", "create", "--agent", "cli-agent", "events=1")
            #expect(forbidden.status == 1)
            #expect(forbidden.stderr.contains("FORBIDDEN"), "\(forbidden.stderr)")

            // login and logout manage the kept sign-in even while FLYWHEEL_TOKEN is set.
            let relogin = try await scripted("login", "--email", "operator@example.com", "--password-stdin", input: "password-operator\n")
            #expect(relogin.status == 0, "\(relogin.stderr)")
            let logout = try await scripted("logout")
            #expect(logout.status == 0, "\(logout.stderr)")
            #expect(logout.stdout == "signed out of http://127.0.0.1:\(port)\n")
            #expect(try await cli("logout").stdout == "not signed in to http://127.0.0.1:\(port)\n")
            let after = try await cli("sessions", "list")
            #expect(after.status == 1)
            #expect(after.stderr.contains("not signed in to http://127.0.0.1:\(port): run `flywheel login"), "\(after.stderr)")
        }
        await server.remove()
    }

    @Test("without a sign-in, a wrong password, a bad URL or no server, the CLI says what is wrong")
    func mistakes() async throws {
        let server = try await ServerHarness()
        let home = try TemporaryDirectory("cli-home")
        defer { home.remove() }
        try await server.run(live: LiveSettings()) { _, port in
            let cli = CLI(home: home, url: "http://127.0.0.1:\(port)")
            let wrong = try await cli("login", "--email", "operator@example.com", "--password-stdin", input: "not-the-password\n")
            #expect(wrong.status == 1)
            #expect(wrong.stderr.contains("INVALID_CREDENTIALS"), "\(wrong.stderr)")
            #expect(!FileManager.default.fileExists(atPath: home.file("config/flywheel/credentials.json").path))
            let empty = try await cli("login", "--email", "operator@example.com", "--password-stdin", input: "")
            #expect(empty.status != 0)
            #expect(empty.stderr.contains("no password"), "\(empty.stderr)")
            let bad = try await cli("sessions", "list", "--server", "localhost:8080")
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("is not a server URL"), "\(bad.stderr)")
            var keyed = cli
            keyed.token = "fwk_anything"
            let closed = try await keyed("sessions", "list", "--server", "http://127.0.0.1:1")
            #expect(closed.status == 1)
            #expect(closed.stderr.contains("connection refused"), "\(closed.stderr)")
            let local = CLI(home: home, url: "")
            let noServer = try await local("login", "--email", "x@example.com", "--password-stdin", input: "whatever1\n")
            #expect(noServer.status != 0)
            #expect(noServer.stderr.contains("give --server URL or set FLYWHEEL_URL"), "\(noServer.stderr)")
        }
        await server.remove()
    }

    @Test("sessions tail without a server follows a session another process runs, through the data directory")
    func localTail() async throws {
        let harness = try await SessionHarness()
        defer { harness.remove() }
        let agent = try await harness.agent()
        let session = try await harness.submit("events=40 rate=20", agent: agent)
        let output = try await ProcessRunner.runDetached(
            TestPaths.flywheel, ["sessions", "tail", session.id, "--json", "--data-dir", harness.gateway.configuration.dataDirectory.path,
                                 "--plugins-dir", harness.directory.file("plugins.d").path],
            environment: ["PATH": "/usr/bin:/bin", "FLYWHEEL_SECRET_KEY": SessionHarness.secretKey])
        #expect(output.status == 0, "\(output.stderr)")
        let lines = output.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let stored = try await harness.waitForState(session.id, [.done])
        #expect(lines.compactMap { $0["seq"] as? Int } == Array(1...Int(stored.lastSeq)))
        let ended = try await ProcessRunner.runDetached(
            TestPaths.flywheel, ["sessions", "tail", session.id, "--after", String(stored.lastSeq), "--data-dir",
                                 harness.gateway.configuration.dataDirectory.path, "--plugins-dir", harness.directory.file("plugins.d").path],
            environment: ["PATH": "/usr/bin:/bin", "FLYWHEEL_SECRET_KEY": SessionHarness.secretKey])
        #expect(ended.status == 0 && ended.stdout.isEmpty, "an ended session followed from its end: \(ended.stdout) \(ended.stderr)")
        await harness.stop()
    }
}
