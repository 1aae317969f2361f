import Foundation
import Host
import HostTestSupport
import Testing

/// `flywheel sessions …`, `flywheel dcg pending …` and `flywheel accounts …` as an operator runs them.
@Suite("sessions command line", .serialized)
struct SessionCommandLineTests {
    func flywheel(_ arguments: [String], in folder: TemporaryDirectory, input: String? = nil) throws -> ProcessOutput {
        try ProcessRunner.run(TestPaths.flywheel, arguments + ["--data-dir", folder.file("data").path, "--plugins-dir", folder.file("plugins.d").path],
                              input: input, currentDirectory: folder.url,
                              environment: ["FLYWHEEL_SECRET_KEY": SessionHarness.secretKey, "PATH": "/usr/bin:/bin"])
    }

    @Test("sessions run prints stored events and exits with the session's outcome; list, show and events read the store")
    func runAndRead() throws {
        let folder = try TemporaryDirectory("cli")
        defer { folder.remove() }
        try SessionHarness.writePlugins(into: folder)
        let done = try flywheel(["sessions", "run", "--agent", "test.scripted", "--json", "events=3 command=echo+hi"], in: folder)
        #expect(done.status == 0, "\(done.stderr)")
        let lines = done.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.map { $0["seq"] as? Int } == Array(1...lines.count).map { Optional($0) })
        #expect(lines.contains { $0["type"] as? String == "host.command.output" })
        let sessionID = try #require(lines.first?["session_id"] as? String)

        let failed = try flywheel(["sessions", "run", "--agent", "test.scripted", "fail=1"], in: folder)
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("host.session.state failed: scripted failure"))

        let list = try flywheel(["sessions", "list", "--state", "done"], in: folder)
        #expect(list.stdout.contains(sessionID))
        #expect(!list.stdout.contains("fail=1"))
        let show = try flywheel(["sessions", "show", sessionID], in: folder)
        #expect(show.stdout.contains("\"state\" : \"done\""))
        #expect(show.stdout.contains("echo hi"))
        let events = try flywheel(["sessions", "events", sessionID, "--after", "2"], in: folder)
        #expect(events.stdout.hasPrefix("[3] "))

        #expect(try flywheel(["sessions", "show", "nope"], in: folder).status != 0)
        #expect(try flywheel(["sessions", "list", "--state", "sleeping"], in: folder).stderr.contains("unknown state 'sleeping'"))
        let missing = try flywheel(["sessions", "run", "--agent", "test.nothing", "x"], in: folder)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("driver 'test.nothing' is not loaded"))
    }

    @Test("sessions cancel from another process reaches the process that runs the session and stops the run")
    func cancelFromAnotherProcess() async throws {
        let folder = try TemporaryDirectory("cli")
        defer { folder.remove() }
        try SessionHarness.writePlugins(into: folder)
        let run = try BackgroundRun(["sessions", "run", "--json", "--agent", "test.scripted", "events=1000000 rate=200"], in: folder)
        guard let running = try await run.waitForSession(.running, list: { try flywheel($0, in: folder) }) else { return }
        let cancelled = try flywheel(["sessions", "cancel", running], in: folder)
        #expect(cancelled.status == 0, "\(cancelled.stderr)")
        // The run may end before the answer is written (then the answer says so), or after.
        #expect(cancelled.stdout == "\(running) cancelled\n" || cancelled.stdout == "\(running) cancel requested (it is running)\n",
                "\(cancelled.stdout)")
        let printed = run.finish()
        #expect(run.process.terminationStatus == 2, "sessions run exits as cancelled")
        let lines = String(decoding: printed, as: UTF8.self).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let last = try #require(lines.last)
        #expect(last["type"] as? String == "host.session.state")
        #expect((last["payload"] as? [String: Any])?["state"] as? String == "cancelled")
        let show = try flywheel(["sessions", "show", running], in: folder)
        #expect(show.stdout.contains("\"state\" : \"cancelled\""))
        let events = try flywheel(["sessions", "events", running, "--json"], in: folder).stdout.split(separator: "\n")
        #expect(events.count == lines.count, "no event landed after the session ended")
    }

    @Test("SIGTERM stops sessions run gracefully: the run is checkpointed, the session queued again, and the process exits 4")
    func gracefulStop() async throws {
        let folder = try TemporaryDirectory("cli")
        defer { folder.remove() }
        try SessionHarness.writePlugins(into: folder)
        let run = try BackgroundRun(["sessions", "run", "--json", "--agent", "test.scripted", "events=1000000 rate=500"], in: folder)
        guard let running = try await run.waitForSession(.running, list: { try flywheel($0, in: folder) }) else { return }
        run.process.terminate()  // SIGTERM
        let printed = run.finish()
        #expect(run.process.terminationStatus == 4, "\(run.errors())")
        let show = try flywheel(["sessions", "show", running], in: folder)
        #expect(show.stdout.contains("\"state\" : \"queued\""))
        let last = try #require(String(decoding: printed, as: UTF8.self).split(separator: "\n").last
            .flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect((last["payload"] as? [String: Any])?["state"] as? String == "queued")
        #expect(((last["payload"] as? [String: Any])?["reason"] as? String)?.contains("resumes from its checkpoint") == true)
    }

    @Test("a held command is approved from another process with dcg pending approve")
    func pendingApprove() async throws {
        let folder = try TemporaryDirectory("cli")
        defer { folder.remove() }
        try SessionHarness.writePlugins(into: folder)
        try folder.write("flywheel.toml", "[policy.modes]\n\"core.git\" = \"ask\"\n")
        let process = Process()
        process.executableURL = TestPaths.flywheel
        process.arguments = ["sessions", "run", "--settings", folder.file("flywheel.toml").path, "--data-dir", folder.file("data").path,
                             "--plugins-dir", folder.file("plugins.d").path, "--agent", "test.scripted", "command=git+stash+drop+||+echo+approved events=1"]
        process.environment = ["FLYWHEEL_SECRET_KEY": SessionHarness.secretKey, "PATH": "/usr/bin:/bin"]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        var id: String?
        for _ in 0..<300 where id == nil && process.isRunning {
            let listed = try flywheel(["dcg", "pending", "list", "--json"], in: folder)
            id = ((try? JSONSerialization.jsonObject(with: Data(listed.stdout.utf8))) as? [[String: Any]])?.first?["id"] as? String
            if id == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let held = id else {
            process.terminate()
            Issue.record("no held command appeared: \(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
            return
        }
        let approved = try flywheel(["dcg", "pending", "approve", held, "--by", "carol"], in: folder)
        #expect(approved.status == 0, "\(approved.stderr)")
        #expect(approved.stdout.contains("approved: git stash drop || echo approved"))
        process.waitUntilExit()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0)
        #expect(printed.contains("host.command.output approved"))
        let again = try flywheel(["dcg", "pending", "deny", held], in: folder)
        #expect(again.status != 0)
        #expect(again.stderr.contains("is not waiting for approval"))
    }

    @Test("a damaged or truncated database is named as such, with exit status 65 and no usage text, and is left as it was")
    func damagedDatabase() throws {
        let folder = try TemporaryDirectory("cli")
        defer { folder.remove() }
        try SessionHarness.writePlugins(into: folder)
        #expect(try flywheel(["sessions", "run", "--agent", "test.scripted", "events=2"], in: folder).status == 0)
        let database = folder.file("data/flywheel.sqlite")
        let intact = try Data(contentsOf: database)
        for damaged in [intact.prefix(3000), Data(repeating: 0x5A, count: 8192)] {
            for journal in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database.path + journal) }
            try damaged.write(to: database)
            let listed = try flywheel(["sessions", "list"], in: folder)
            #expect(listed.status == 65)
            #expect(listed.stderr.contains("\(database.path) is not a Flywheel database or is damaged"), "\(listed.stderr)")
            #expect(!listed.stderr.contains("Usage:"))
            #expect(try Data(contentsOf: database) == damaged, "the damaged file was changed")
        }
    }

    @Test("a data directory this user cannot write still serves reads and refuses changes clearly",
          .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root to act as another user"))
    func readOnlyDataDirectory() throws {
        let folder = try TemporaryDirectory("cli")
        defer { folder.remove() }
        try SessionHarness.writePlugins(into: folder)
        let done = try flywheel(["sessions", "run", "--agent", "test.scripted", "--json", "events=2"], in: folder)
        let sessionID = try #require(done.stdout.split(separator: "\n").first
            .flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }?["session_id"] as? String)
        // Readable by everyone, writable by root only; the key stays private.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.file("data").path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: folder.file("data/flywheel.sqlite").path)
        func asNobody(_ arguments: [String]) throws -> ProcessOutput {
            try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/setpriv"),
                                  ["--reuid", "65534", "--regid", "65534", "--clear-groups", TestPaths.flywheel.path] + arguments
                                      + ["--data-dir", folder.file("data").path, "--plugins-dir", folder.file("plugins.d").path],
                                  currentDirectory: folder.url, environment: ["PATH": "/usr/bin:/bin"])
        }
        let listed = try asNobody(["sessions", "list"])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains(sessionID))
        #expect(try asNobody(["sessions", "events", sessionID]).stdout.contains("host.session.state done"))
        let cancel = try asNobody(["sessions", "cancel", sessionID])
        #expect(cancel.status != 0)
        #expect(cancel.stderr.contains("is read-only for this process: reads work, changes are refused"), "\(cancel.stderr)")
    }

    @Test("accounts add seals credentials; list never prints them")
    func accounts() throws {
        let folder = try TemporaryDirectory("cli")
        defer { folder.remove() }
        try SessionHarness.writePlugins(into: folder)
        let added = try flywheel(["accounts", "add", "--provider", "anthropic", "--label", "team-a"], in: folder, input: #"{"api_key":"sk-secret-value"}"#)
        #expect(added.status == 0, "\(added.stderr)")
        let listed = try flywheel(["accounts", "list"], in: folder)
        #expect(listed.stdout.contains("anthropic/team-a  verified"))
        #expect(!listed.stdout.contains("sk-secret-value"))
        let database = try Data(contentsOf: folder.file("data/flywheel.sqlite"))
        #expect(database.range(of: Data("sk-secret-value".utf8)) == nil, "credentials are never stored in clear")
        #expect(try flywheel(["accounts", "add", "--provider", "anthropic", "--label", "team-a"], in: folder, input: "{}").stderr.contains("already exists"))
        #expect(try flywheel(["accounts", "add", "--provider", "x", "--label", "y"], in: folder, input: "not json").status != 0)
    }

    @Test("accounts verify asks the provider (a local stand-in): exit 0 when it takes the key, 1 when it refuses it, the key never printed")
    func accountsVerify() async throws {
        let folder = try TemporaryDirectory("cli")
        defer { folder.remove() }
        try SessionHarness.writePlugins(into: folder)
        let provider = try await FakeProvider([
            ["status": 200, "headers": [["content-type", "application/json"]], "chunks": [#"{"data":[],"has_more":false,"first_id":null,"last_id":null}"#]],
            ["status": 401, "headers": [["content-type", "application/json"]],
             "chunks": [#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#]],
        ])
        defer { provider.stop() }
        try folder.write("flywheel.toml", "[accounts.providers.anthropic]\nbase_url = \"\(provider.baseURL)\"\n")
        let settings = ["--settings", folder.file("flywheel.toml").path]
        let added = try flywheel(["accounts", "add", "--provider", "anthropic", "--label", "team-a"] + settings, in: folder, input: #"{"api_key":"sk-secret-value"}"#)
        let id = try #require(added.stdout.split(separator: " ").first.map(String.init))
        let good = try flywheel(["accounts", "verify", id] + settings, in: folder)
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("anthropic/team-a: verified: the provider accepted the key (now verified)"), "\(good.stdout)")
        let refused = try flywheel(["accounts", "verify", id] + settings, in: folder)
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("invalid: the provider refused the key: invalid x-api-key"), "\(refused.stdout)")
        #expect(!(refused.stdout + refused.stderr).contains("sk-secret-value"))
        #expect(try flywheel(["accounts", "list"] + settings, in: folder).stdout.contains("anthropic/team-a  invalid"))
        let missing = try flywheel(["accounts", "verify", "nope"] + settings, in: folder)
        #expect(missing.status == 1 && missing.stderr.contains("account nope not found"), "\(missing.stderr)")
    }
}

/// `flywheel sessions run` started in the background on a test folder, its standard output drained
/// as it comes (so the run never waits on a full pipe).
final class BackgroundRun: @unchecked Sendable {
    let process = Process()
    private let errorPipe = Pipe()
    private var printed = Data()
    private let drained = DispatchGroup()

    init(_ arguments: [String], in folder: TemporaryDirectory) throws {
        let output = Pipe()
        process.executableURL = TestPaths.flywheel
        process.arguments = arguments + ["--data-dir", folder.file("data").path, "--plugins-dir", folder.file("plugins.d").path]
        process.environment = ["FLYWHEEL_SECRET_KEY": SessionHarness.secretKey, "PATH": "/usr/bin:/bin"]
        process.standardOutput = output
        process.standardError = errorPipe
        try process.run()
        DispatchQueue.global().async(group: drained) { self.printed = output.fileHandleForReading.readDataToEndOfFile() }
    }

    /// The id of the first session `sessions list` shows in `state`, while the run lives; nil (with
    /// the run's errors recorded as an issue) when none appears.
    func waitForSession(_ state: SessionState, list: ([String]) throws -> ProcessOutput) async throws -> String? {
        for _ in 0..<600 where process.isRunning {
            let listed = try list(["sessions", "list", "--state", state.rawValue, "--json"])
            let page = (try? JSONSerialization.jsonObject(with: Data(listed.stdout.utf8))) as? [String: Any]
            if let id = (page?["sessions"] as? [[String: Any]])?.first?["id"] as? String { return id }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        Issue.record("no \(state.rawValue) session appeared: \(errors())")
        return nil
    }

    /// Waits for the run to exit and returns everything it printed.
    func finish() -> Data {
        process.waitUntilExit()
        drained.wait()
        return printed
    }

    /// What the run wrote to standard error (after it exited, or until it does).
    func errors() -> String {
        String(decoding: errorPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
}
