import Foundation
import Host
import Logging

/// Event persistence: events stored per second for one and for 50 concurrent sessions, and the
/// host's memory over a session of one million events run through the whole pipeline.
enum StoreBenchmarks {
    static func temporaryDirectory(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("flywheel-bench-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func throughput() async throws {
        print("== event persistence (SQLite, WAL, synchronous=NORMAL, batches of 256 as a session drains them)")
        for (sessions, perSession) in [(1, 300_000), (50, 6_000)] {
            let directory = try temporaryDirectory("store")
            defer { try? FileManager.default.removeItem(at: directory) }
            let store = try SQLiteStore(configuration: StoreConfiguration(databaseFile: directory.appendingPathComponent("flywheel.sqlite")))
            let agent = try await store.createAgent(AgentRecord(name: "bench", driverID: "bench"))
            var ids: [String] = []
            for _ in 0..<sessions { ids.append(try await store.createSession(SessionRecord(agentID: agent.id, task: "bench")).id) }
            let payload = #"{"type":"x-tick","t":0,"n":12345,"text":"a typical small event payload"}"#
            let start = BenchmarkSupport.now()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for id in ids {
                    group.addTask {
                        var written = 0
                        while written < perSession {
                            let count = min(256, perSession - written)
                            _ = try await store.appendEvents((0..<count).map { _ in NewEvent(sessionID: id, type: "x-tick", payload: payload) })
                            written += count
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seconds = Double(BenchmarkSupport.now() - start) / 1e9
            let total = sessions * perSession
            BenchmarkSupport.figure("\(sessions) session(s), \(total) events", String(format: "%.0f events/s", Double(total) / seconds),
                                    target: "> 100,000 events/s")
        }
    }

    /// Resident memory of this process, in MiB.
    static func residentMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") else { return -1 }
        return kilobytes / 1024
    }

    /// Events in the memory run; FLYWHEEL_BENCH_EVENTS overrides.
    static var memoryEvents: Int { Int(ProcessInfo.processInfo.environment["FLYWHEEL_BENCH_EVENTS"] ?? "") ?? 1_000_000 }

    static func memory() async throws {
        print("== memory over one session of \(StoreBenchmarks.memoryEvents) events (driver -> queue -> SQLite -> hub)")
        let directory = try temporaryDirectory("memory")
        defer { try? FileManager.default.removeItem(at: directory) }
        let plugins = try BenchmarkSupport.scriptedPlugins(in: directory)
        let gateway = try await Gateway.open(
            configuration: GatewayConfiguration(dataDirectory: directory.appendingPathComponent("data"), pluginsDirectory: plugins),
            policy: .default, environment: ["FLYWHEEL_SECRET_KEY": Data(repeating: 7, count: 32).base64EncodedString()],
            requireOwnership: true, logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
        let agent = try await gateway.agents.put(AgentService.Definition(name: "memory", driverID: "test.scripted"))
        guard let service = gateway.service() else { return }
        let loop = Task { try await service.run() }
        let before = residentMiB()
        let start = BenchmarkSupport.now()
        let session = try await gateway.sessions.create(agentID: agent.id, task: "events=\(StoreBenchmarks.memoryEvents) threads=2")
        var peak = before
        var samples: [(Int64, Double)] = []
        while true {
            let current = try await gateway.sessions.show(session.id)
            let rss = residentMiB()
            peak = max(peak, rss)
            if samples.last.map({ current.lastSeq - $0.0 >= Int64(memoryEvents / 5) }) ?? true { samples.append((current.lastSeq, rss)) }
            if current.state.isTerminal { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let seconds = Double(BenchmarkSupport.now() - start) / 1e9
        loop.cancel()
        _ = await loop.result
        let stored = try await gateway.sessions.show(session.id).lastSeq
        BenchmarkSupport.figure("events stored", "\(stored) in \(String(format: "%.1f", seconds)) s (\(String(format: "%.0f", Double(stored) / seconds)) events/s end to end)")
        for (seq, rss) in samples { BenchmarkSupport.figure("  RSS after \(seq) events", String(format: "%.1f MiB", rss)) }
        BenchmarkSupport.figure("RSS before / peak", String(format: "%.1f MiB / %.1f MiB", before, peak), target: "flat: events are not kept in memory")
    }

    /// Events in the replay run; FLYWHEEL_BENCH_REPLAY_EVENTS overrides.
    static var replayEvents: Int { Int(ProcessInfo.processInfo.environment["FLYWHEEL_BENCH_REPLAY_EVENTS"] ?? "") ?? 1_000_000 }

    /// `events.subscribe` from seq 0 over a session whose events are all stored: the replay half of
    /// replay-then-live, as a client that reconnects to a long session pays it.
    static func replay() async throws {
        let count = replayEvents
        print("== subscribe replay of \(count) stored events (one session, pages of \(EventService.replayPageSize))")
        let directory = try temporaryDirectory("replay")
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data")
        let plugins = directory.appendingPathComponent("plugins.d")
        try FileManager.default.createDirectory(at: plugins, withIntermediateDirectories: true)
        let sessionID: String
        do {
            let store = try SQLiteStore(configuration: StoreConfiguration(databaseFile: data.appendingPathComponent("flywheel.sqlite")))
            let agent = try await store.createAgent(AgentRecord(name: "bench", driverID: "bench"))
            sessionID = try await store.createSession(SessionRecord(agentID: agent.id, task: "bench")).id
            let payload = #"{"type":"x-tick","t":0,"n":12345,"text":"a typical small event payload"}"#
            var written = 0
            while written < count {
                let batch = min(4096, count - written)
                _ = try await store.appendEvents((0..<batch).map { _ in NewEvent(sessionID: sessionID, type: "x-tick", payload: payload) })
                written += batch
            }
        }
        let gateway = try await Gateway.open(
            configuration: GatewayConfiguration(dataDirectory: data, pluginsDirectory: plugins), policy: .default,
            environment: ["FLYWHEEL_SECRET_KEY": Data(repeating: 7, count: 32).base64EncodedString()], readOnly: true,
            logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
        let start = BenchmarkSupport.now()
        var received = 0
        var last: Int64 = 0
        for try await event in try await gateway.events.subscribe(sessionID: sessionID, after: 0) {
            precondition(event.seq == last + 1, "replay skipped or repeated an event")
            last = event.seq
            received += 1
            if received == count { break }
        }
        let seconds = Double(BenchmarkSupport.now() - start) / 1e9
        BenchmarkSupport.figure("\(received) events replayed in order", String(format: "%.0f events/s", Double(received) / seconds),
                                target: ">= 500,000 events/s")
    }
}
