import Foundation
import Host
import Logging

/// The ACP driver in a whole gateway, against the Python SDK test agent (Tests/Fixtures/acp): how
/// many JSON-RPC messages per second go from the agent to stored events, and what a permission
/// request costs the agent (the round trip through the driver, the policy and the store).
enum ACPBenchmarks {
    /// Chunks the agent streams; FLYWHEEL_BENCH_ACP_CHUNKS overrides.
    static var chunks: Int { Int(ProcessInfo.processInfo.environment["FLYWHEEL_BENCH_ACP_CHUNKS"] ?? "") ?? 100_000 }

    static func run() async throws {
        let root = BenchmarkSupport.repositoryRoot
        let python = ProcessInfo.processInfo.environment["FLYWHEEL_TEST_PYTHON"] ?? root.appendingPathComponent(".build/test-venv/bin/python3").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            print("== acp: skipped, no Python with agent-client-protocol at \(python) (run scripts/install-deps --tests)")
            return
        }
        let bench = try await DriverGateway.open(product: "ACPDriver", name: "acp")
        defer { bench.remove() }
        let gateway = bench.gateway
        let script = root.appendingPathComponent("Tests/Fixtures/acp/test_agent.py").path
        func agent(_ mode: String) async throws -> AgentRecord {
            let config: [String: Any] = ["command": [python, script, mode], "stderr_events": false]
            let json = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
            return try await gateway.agents.put(AgentService.Definition(name: mode, driverID: "flywheel.acp", configJSON: json))
        }
        guard let service = gateway.service() else { return }
        let loop = Task { try await service.run() }
        defer { loop.cancel() }

        let count = chunks
        print("== acp: agent -> stored events (\(count) streamed chunks, one JSON-RPC notification each)")
        let streamer = try await agent("bench")
        for round in 1...3 {
            let run = try await bench.runSession(agentID: streamer.id, task: String(count), counting: "message")
            BenchmarkSupport.figure("round \(round) (\(run.state.rawValue))",
                "\(Int(Double(count) / run.seconds)) messages/s, start to end (\(run.events) message events stored, \(String(format: "%.2f", run.seconds)) s, includes the agent's start)")
        }

        print("== acp: permission round trip as the agent sees it (ls -la, decided by the policy, stored), beside a bare JSON-RPC round trip")
        let asker = try await agent("bench_permission")
        let session = try await gateway.sessions.create(agentID: asker.id, task: "500")
        while try await !gateway.sessions.show(session.id).state.isTerminal { try await Task.sleep(for: .milliseconds(10)) }
        let report = try await gateway.events.events(sessionID: session.id, after: 0, limit: 100_000)
            .filter { $0.type == "message" }.compactMap { event -> String? in
                guard let object = try? JSONSerialization.jsonObject(with: Data(event.payload.utf8)) as? [String: Any] else { return nil }
                return object["text"] as? String
            }.last ?? "none"
        BenchmarkSupport.figure("500 requests", report)
        loop.cancel()
        _ = await loop.result
    }
}
