import Foundation
import Host
import Hummingbird
import HummingbirdWSClient
import Logging
import Server
import ServiceLifecycle

/// `flywheel serve` under load, measured in one run against references on the same machine: an
/// authenticated `GET /api/sessions/{id}` against a bare Hummingbird hello-world route (wrk, from
/// Debian), and one busy session fanned out over `/ws` to many subscribers.
enum ServerBenchmarks {
    static var webSocketClients: Int { Int(ProcessInfo.processInfo.environment["FLYWHEEL_BENCH_WS_CLIENTS"] ?? "") ?? 1000 }
    static var fanOutEvents: Int { Int(ProcessInfo.processInfo.environment["FLYWHEEL_BENCH_WS_EVENTS"] ?? "") ?? 2000 }
    /// The scripted driver's `rate=` in the paced run, which measures one event's way to every
    /// client rather than a backlog. The driver sleeps 1/rate after each event it hands over, so it
    /// writes fewer than `rate` a second; the delivered figure says how many.
    static var pacedRate: Int { Int(ProcessInfo.processInfo.environment["FLYWHEEL_BENCH_WS_PACED_RATE"] ?? "") ?? 100 }

    static func run() async throws {
        print("== flywheel serve")
        let directory = try StoreBenchmarks.temporaryDirectory("serve")
        defer { try? FileManager.default.removeItem(at: directory) }
        let plugins = try BenchmarkSupport.scriptedPlugins(in: directory)
        var configuration = GatewayConfiguration(dataDirectory: directory.appendingPathComponent("data"), pluginsDirectory: plugins)
        configuration.server.passwordCost = 4
        // The figures are about serving, not about the limits (which would refuse most of the load).
        configuration.server.rateLimitBurst = 1e12
        configuration.server.clientRateLimitBurst = 1e12
        configuration.sandbox.mode = .off
        let quiet = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let gateway = try await Gateway.open(configuration: configuration, policy: .default,
                                             environment: ["FLYWHEEL_SECRET_KEY": Data(repeating: 7, count: 32).base64EncodedString()],
                                             requireOwnership: true, logger: quiet)
        let key = try SigningKey.load(dataDirectory: configuration.dataDirectory, environment: [:])
        let tokens = await AccessTokens(key: key, lifetime: 3600)
        let user = try await gateway.people.createUser(email: "bench@example.com", password: "bench-password", role: .admin)
        let token = try await tokens.issue(userID: user.id)
        let ports = PortBox()
        let api = APIServer.buildApplication(gateway: gateway, tokens: tokens, host: "127.0.0.1", port: 0, logger: quiet) { _, port in
            ports.set("api", port)
        }
        let hello = Router()
        hello.get("hello") { _, _ in "hello" }
        let bare = Application(router: hello, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                               onServerRunning: { ports.set("hello", $0.localAddress?.port ?? 0) }, logger: quiet)
        let helloRouter = Router(context: APIRequestContext.self)
        helloRouter.get("hello") { _, _ in "hello" }
        let channel = Application(router: helloRouter, server: APIServer.httpServer(webSocketRouter: Router(context: APIRequestContext.self), firstByteTimeout: .seconds(10)),
                                  configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                                  onServerRunning: { ports.set("channel", $0.localAddress?.port ?? 0) }, logger: quiet)
        guard let service = gateway.service() else { return }
        let group = ServiceGroup(configuration: .init(services: [.init(service: service), .init(service: api), .init(service: bare), .init(service: channel)], logger: quiet))
        let serving = Task { try await group.run() }
        defer { serving.cancel() }
        let apiPort = try await ports.wait("api"), helloPort = try await ports.wait("hello")

        let agent = try await gateway.agents.put(AgentService.Definition(name: "bench", driverID: "test.scripted"))
        let done = try await gateway.sessions.create(agentID: agent.id, task: "events=5")
        while try await !gateway.sessions.show(done.id).state.isTerminal { try await Task.sleep(for: .milliseconds(20)) }

        if let wrk = which("wrk") {
            func run(_ name: String, _ url: String, header: String? = nil) throws -> Double {
                let figures = try measure(wrk, url, header: header)
                BenchmarkSupport.figure(name, String(format: "%.0f req/s, p99 %@", figures.rate, figures.p99))
                return figures.rate
            }
            let bare = try run("bare Hummingbird GET /hello", "http://127.0.0.1:\(helloPort)/hello")
            // Where the time goes, layer by layer: the API's connection setup and request context,
            // then its middleware (request id, error mapping, per-client limit), then sign-in checks.
            _ = try run("  hello over the API's channel and context", "http://127.0.0.1:\(try await ports.wait("channel"))/hello")
            _ = try run("  GET /health (middleware, no auth)", "http://127.0.0.1:\(apiPort)/health")
            _ = try run("  GET /api/me (auth, no store read)", "http://127.0.0.1:\(apiPort)/api/me", header: "Authorization: Bearer \(token)")
            let api = try run("authenticated GET /api/sessions/{id}", "http://127.0.0.1:\(apiPort)/api/sessions/\(done.id)",
                              header: "Authorization: Bearer \(token)")
            BenchmarkSupport.figure("ratio", String(format: "%.0f%% of the bare route", 100 * api / bare), target: ">= 50%")
        } else {
            print("   (wrk is not installed: apt-get install wrk for the HTTP figures)")
        }

        // A busy session (rate=500; the driver writes about 160 events a second): throughput.
        try await fanOut(gateway: gateway, agent: agent, token: token, port: apiPort, events: fanOutEvents, rate: max(1, fanOutEvents / 4), paced: false)
        // Paced below what the server delivers: latency on the path of one event.
        try await fanOut(gateway: gateway, agent: agent, token: token, port: apiPort, events: pacedRate * 8, rate: pacedRate, paced: true)
        await group.triggerGracefulShutdown()
        _ = await serving.result
    }

    /// One session of `events` events written `rate` a second, followed live by `webSocketClients` clients.
    static func fanOut(gateway: Gateway, agent: AgentRecord, token: String, port: Int, events: Int, rate: Int, paced: Bool) async throws {
        let clients = webSocketClients
        // The run sleeps first (a command through the guard), so every client is subscribed before
        // the first event: what is measured is live delivery, not replay.
        let session = try await gateway.sessions.create(agentID: agent.id, task: "command=sleep+8 events=\(events) rate=\(rate)")
        let received = LockedCounts(clients: clients, expected: events)
        var settings = WebSocketClientConfiguration()
        settings.additionalHeaders[.authorization] = "Bearer \(token)"
        let configuration = settings
        let sessionID = session.id
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<clients {
                group.addTask {
                    let frame = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/ws", configuration: configuration, logger: logger) { inbound, outbound, _ in
                        try await outbound.write(.text(#"{"type":"subscribe","channel":"session:\#(sessionID)"}"#))
                        received.subscribed()
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            guard case .text(let text) = message, ByteSearch.contains(text, ByteSearch.eventKind) else { continue }
                            if received.record(client: index, text: text) { return }
                        }
                    }
                    // The server closes a client that stopped reading (4008); a real one would resume.
                    if frame?.closeCode == .unknown(4008) { received.closedAsSlow() }
                }
            }
            try await group.waitForAll()
        }
        let (delivered, perClient, seconds, latencies) = received.summary()
        let slow = received.slowCount
        let lost = perClient.filter { $0 < events }.count - slow
        let sorted = latencies.sorted()
        let p99 = sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        let latency = String(format: "p50 %.1f ms, p99 %.1f ms", sorted.isEmpty ? 0 : sorted[sorted.count / 2], p99)
        if paced {
            BenchmarkSupport.figure("/ws paced: \(clients) clients × \(events) events, rate=\(rate)",
                                    String(format: "%.0f events/s delivered", Double(delivered) / seconds))
            BenchmarkSupport.figure("  delivery latency (event stored -> client)", latency)
        } else {
            BenchmarkSupport.figure("/ws fan-out: \(clients) clients × \(events) events", String(format: "%.0f events/s delivered", Double(delivered) / seconds),
                                    target: ">= 100,000 events/s")
            BenchmarkSupport.figure("  delivery latency (stored -> client; backlog)", latency)
        }
        BenchmarkSupport.figure("  clients missing events", "\(lost)", target: "0")
        if slow > 0 {
            BenchmarkSupport.figure("  clients closed for reading too slowly (4008)", "\(slow) (the benchmark's clients fell 10 s behind; they would resume)")
        }
        _ = try await gateway.sessions.show(session.id)
    }

    /// wrk's requests/s and p99 for 10 s (FLYWHEEL_BENCH_WRK_SECONDS) on 2 threads, 32 connections.
    static func measure(_ wrk: String, _ url: String, header: String?) throws -> (rate: Double, p99: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: wrk)
        process.arguments = ["-t2", "-c32", "-d\(ProcessInfo.processInfo.environment["FLYWHEEL_BENCH_WRK_SECONDS"] ?? "10")s", "--latency"] + (header.map { ["-H", $0] } ?? []) + [url]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let rate = text.split(separator: "\n").first { $0.hasPrefix("Requests/sec:") }.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        let p99 = text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("99%") }
            .map { String($0.split(separator: " ").last ?? "?") } ?? "?"
        if text.contains("Non-2xx") { print("   (wrk saw non-2xx answers: \(url))") }
        return (rate, p99)
    }

    static func which(_ program: String) -> String? {
        ["/usr/bin/\(program)", "/usr/local/bin/\(program)"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// Ports the servers report once they listen.
final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var ports: [String: Int] = [:]

    func set(_ name: String, _ port: Int) { lock.withLock { ports[name] = port } }

    func wait(_ name: String) async throws -> Int {
        for _ in 0..<500 {
            if let port = lock.withLock({ ports[name] }) { return port }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw CancellationError()
    }
}

/// What the fan-out clients received: per client, how many events; overall, when the first and
/// last arrived and how late each was.
final class LockedCounts: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int]
    private var first: Date?
    private var last = Date()
    private var latencies: [Double] = []
    private var subscribedCount = 0
    private let expected: Int

    init(clients: Int, expected: Int) {
        counts = Array(repeating: 0, count: clients)
        self.expected = expected
    }

    private var slow = 0

    func subscribed() { lock.withLock { subscribedCount += 1 } }

    func closedAsSlow() { lock.withLock { slow += 1 } }
    var slowCount: Int { lock.withLock { slow } }

    /// Counts an event; true once the client has them all.
    func record(client: Int, text: String) -> Bool {
        let now = Date()
        let (sample, complete) = lock.withLock {
            if first == nil { first = now }
            last = now
            counts[client] += 1
            return (counts[client] % 10 == 0, counts[client] >= expected)
        }
        // One event in ten is timed: reading its time costs the clients, which share the cores with the server.
        if sample, let sent = Self.time(in: text) {
            lock.withLock { latencies.append(now.timeIntervalSince(sent) * 1000) }
        }
        return complete
    }

    func summary() -> (delivered: Int, perClient: [Int], seconds: Double, latencies: [Double]) {
        lock.withLock { (counts.reduce(0, +), counts, max(0.001, last.timeIntervalSince(first ?? last)), latencies) }
    }

    /// The event's `"time"` (RFC 3339 with milliseconds), read without a JSON parser.
    static func time(in text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard let start = ByteSearch.end(of: ByteSearch.timeKey, in: bytes), let end = bytes[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return try? Date(String(decoding: bytes[start..<end], as: UTF8.self), strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

/// Substring search on bytes, for the fan-out clients: Foundation's `contains`/`range(of:)` bridge
/// to NSString, and a thousand clients doing that take the cores from the server being measured.
enum ByteSearch {
    static let eventKind = Array(#""kind":"event""#.utf8)
    static let timeKey = Array(#""time":""#.utf8)

    static func contains(_ text: String, _ needle: [UInt8]) -> Bool {
        end(of: needle, in: Array(text.utf8)) != nil
    }

    /// The index just past the first occurrence of `needle`.
    static func end(of needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard let first = needle.first, bytes.count >= needle.count else { return nil }
        var index = 0
        while index + needle.count <= bytes.count {
            if bytes[index] == first, bytes[index..<(index + needle.count)].elementsEqual(needle) { return index + needle.count }
            index += 1
        }
        return nil
    }
}
