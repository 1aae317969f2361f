import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Host
import HostTestSupport
import Testing

/// A host killed with SIGKILL loses no acknowledged event, and the next start recovers its sessions.
@Suite("crash recovery", .serialized)
struct CrashRecoveryTests {
    struct Printed: Decodable, Equatable {
        var session_id: String
        var seq: Int64
        var type: String
    }

    /// Starts `flywheel sessions run --json` on the harness's folders, reads the events it prints
    /// (each printed only after it was stored and published), and kills it with SIGKILL after `count`.
    func runAndKill(_ folder: TemporaryDirectory, task: String, after count: Int, kill: Bool = true) throws -> [Printed] {
        let process = Process()
        process.executableURL = TestPaths.flywheel
        process.arguments = ["sessions", "run", "--json", "--agent", "test.scripted", "--data-dir", folder.file("data").path,
                             "--plugins-dir", folder.file("plugins.d").path, task]
        // No crash backtracer: it would inherit the output pipe and could outlive the crash.
        process.environment = ["FLYWHEEL_SECRET_KEY": SessionHarness.secretKey, "PATH": "/usr/bin:/bin", "SWIFT_BACKTRACE": "enable=no"]
        process.currentDirectoryURL = folder.url
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var printed: [Printed] = []
        var buffer = Data()
        let reader = output.fileHandleForReading
        while printed.count < count {
            let chunk = reader.availableData
            guard !chunk.isEmpty else { break }
            buffer.append(chunk)
            while let newline = buffer.firstIndex(of: 10) {
                let line = buffer[buffer.startIndex..<newline]
                buffer.removeSubrange(buffer.startIndex...newline)
                if let event = try? JSONDecoder().decode(Printed.self, from: line) { printed.append(event) }
            }
        }
        if kill { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        return printed
    }

    @Test("SIGKILL mid-session loses no acknowledged event; the session resumes from its checkpoint at the next start")
    func killAndResume() async throws {
        let folder = try TemporaryDirectory("crash")
        defer { folder.remove() }
        try SessionHarness.writePlugins(into: folder)
        let printed = try runAndKill(folder, task: "events=3000 rate=1000 checkpoint_every=50", after: 400)
        #expect(printed.count >= 400)
        let sessionID = try #require(printed.first?.session_id)

        // Every event the killed host printed is in the store, identical, at its seq.
        let store = try SQLiteStore(configuration: StoreConfiguration(databaseFile: folder.file("data/flywheel.sqlite")))
        let stored = try await store.events(sessionID: sessionID, afterSeq: 0, limit: 1_000_000)
        let storedBySeq = Dictionary(uniqueKeysWithValues: stored.map { ($0.seq, $0) })
        for event in printed {
            #expect(storedBySeq[event.seq]?.type == event.type, "seq \(event.seq) was acknowledged but is missing")
        }
        #expect(stored.map(\.seq) == Array(1...Int64(stored.count)), "no gaps")
        #expect(try await store.session(id: sessionID)?.state == .running, "the killed host left it running")
        let checkpoint = try #require(try await store.latestCheckpoint(sessionID: sessionID))

        // The next start recovers it: requeued, resumed from the checkpoint, and finished.
        let harness = try await SessionHarness(directory: folder)
        let done = try await harness.waitForState(sessionID, [.done, .failed], timeout: .seconds(60))
        #expect(done.state == .done)
        let events = try await harness.events(sessionID)
        let recovered = try #require(events.first { $0.type == "host.session.recovered" })
        #expect(recovered.object["action"] as? String == "requeued")
        #expect(recovered.object["checkpoint_seq"] as? Int == Int(checkpoint.seq))
        let resumed = try #require(events.last { $0.type == "host.run.started" })
        #expect(resumed.object["resumed_from_seq"] as? Int == Int(checkpoint.seq))
        let ticks = Set(events.filter { $0.type == "x-tick" }.compactMap { $0.object["n"] as? Int })
        #expect(ticks == Set(0..<3000))
        #expect(events.map(\.seq) == Array(1...Int64(events.count)))
        await harness.stop()
    }

    @Test("a session that cannot be resumed is marked failed with \"host restarted\", never left dangling")
    func killWithoutCheckpoint() async throws {
        let folder = try TemporaryDirectory("crash")
        defer { folder.remove() }
        try SessionHarness.writePlugins(into: folder)
        let printed = try runAndKill(folder, task: "events=100000 rate=1000", after: 50)
        let sessionID = try #require(printed.first?.session_id)
        let harness = try await SessionHarness(directory: folder)
        let failed = try await harness.waitForState(sessionID, [.failed, .done, .queued])
        #expect(failed.state == .failed)
        #expect(failed.error == "host restarted (no checkpoint to resume from)")
        #expect(try await harness.events(sessionID).contains { $0.type == "host.session.recovered" })
        await harness.stop()
    }

    @Test("a driver that crashes the whole host (abort) loses no stored event; the session resumes at the next start")
    func driverCrash() async throws {
        let folder = try TemporaryDirectory("crash")
        defer { folder.remove() }
        try SessionHarness.writePlugins(into: folder)
        // The driver aborts the process after 500 ticks; the host dies with it (SIGABRT).
        let printed = try runAndKill(folder, task: "events=1000 rate=2000 crash_after=500 checkpoint_every=100", after: Int.max, kill: false)
        let sessionID = try #require(printed.first?.session_id)
        let harness = try await SessionHarness(directory: folder)
        let stored = try await harness.events(sessionID)
        #expect(printed.allSatisfy { event in stored.contains { $0.seq == event.seq && $0.type == event.type } })
        let done = try await harness.waitForState(sessionID, [.done, .failed], timeout: .seconds(60))
        #expect(done.state == .done, "resumed from its checkpoint (a resumed run of this driver does not crash)")
        let events = try await harness.events(sessionID)
        #expect(events.contains { $0.type == "host.session.recovered" && $0.object["action"] as? String == "requeued" })
        #expect(Set(events.filter { $0.type == "x-tick" }.compactMap { $0.object["n"] as? Int }) == Set(0..<1000))
        await harness.stop()
    }

    @Test("only one host runs sessions on a data directory at a time")
    func hostLock() async throws {
        let harness = try await SessionHarness()
        defer { harness.remove() }
        let error = await #expect(throws: HostLock.Busy.self) {
            _ = try await Gateway.open(
                configuration: GatewayConfiguration(dataDirectory: harness.directory.file("data"), pluginsDirectory: harness.directory.file("plugins.d")),
                policy: .default, environment: ["FLYWHEEL_SECRET_KEY": SessionHarness.secretKey], requireOwnership: true, logger: .quiet)
        }
        #expect(error?.description.contains("another flywheel process (pid \(getpid()))") == true)
        await harness.stop()
    }
}
