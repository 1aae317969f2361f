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
            let run = try await bench.runSession(
                agentID: agent.id, task: "yes 012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789abcdefghi | head -n \(lines)",
                counting: "x-tmux.output")
            BenchmarkSupport.figure(
                "round \(round) (\(run.state.rawValue))",
                "\(String(format: "%.1f", Double(total) / run.seconds / 1e6)) MB/s printed -> stored (\(run.events) events, \(run.bytes >> 20) MiB of JSON, \(String(format: "%.2f", run.seconds)) s)")
        }
        loop.cancel()
        _ = await loop.result
    }
}
