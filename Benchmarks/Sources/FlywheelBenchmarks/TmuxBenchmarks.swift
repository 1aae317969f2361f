import Foundation
import Host
import Logging

/// The tmux driver: bytes per second from a pane's program to persisted `x-tmux.output` events
/// (tmux, pipe-pane, the driver's read and escape stripping, the host's queue, SQLite).
enum TmuxBenchmarks {
    /// Bytes the pane prints per run; FLYWHEEL_BENCH_TMUX_BYTES overrides.
    static var bytes: Int { Int(ProcessInfo.processInfo.environment["FLYWHEEL_BENCH_TMUX_BYTES"] ?? "") ?? 64 << 20 }

    static func paneToEvents() async throws {
        let total = bytes
        print("== tmux pane -> persisted output events (\(total >> 20) MiB of 100-column lines, shell profile)")
        let bench = try await DriverGateway.open(product: "TmuxDriver", name: "tmux")
        defer { bench.remove() }
        let gateway = bench.gateway
        let socket = "flywheel-bench-\(getpid())"
        let agent = try await gateway.agents.put(AgentService.Definition(
            name: "pane", driverID: "flywheel.tmux",
            configJSON: #"{"profile":"shell","socket":"\#(socket)","snapshot_interval_seconds":0,"command_timeout_seconds":3600}"#))
        guard let service = gateway.service() else { return }
        let loop = Task { try await service.run() }
        for round in 1...3 {
            let lines = total / 100
            let start = BenchmarkSupport.now()
            let session = try await gateway.sessions.create(agentID: agent.id, task: "yes 012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789abcdefghi | head -n \(lines)")
            while try await !gateway.sessions.show(session.id).state.isTerminal { try await Task.sleep(for: .milliseconds(20)) }
            let seconds = Double(BenchmarkSupport.now() - start) / 1e9
            let state = try await gateway.sessions.show(session.id).state
            var stored = 0, events = 0, after: Int64 = 0
            while true {
                let page = try await gateway.events.events(sessionID: session.id, after: after, limit: 1000)
                guard let last = page.last else { break }
                after = last.seq
                for event in page where event.type == "x-tmux.output" {
                    events += 1
                    stored += event.payload.utf8.count
                }
            }
            BenchmarkSupport.figure(
                "round \(round) (\(state.rawValue))",
                "\(String(format: "%.1f", Double(total) / seconds / 1e6)) MB/s printed -> stored (\(events) events, \(stored >> 20) MiB of JSON, \(String(format: "%.2f", seconds)) s)")
        }
        loop.cancel()
        _ = await loop.result
    }
}
