import Foundation
import PluginKit

@_cdecl("flywheel_plugin_entry")
public func flywheelPluginEntry() -> UnsafeRawPointer {
    PluginExport.entry(for: TmuxDriver.self)
}

/// Drives a command-line coding agent inside a tmux session. This version loads, checks its
/// configuration and answers runs; driving tmux is the tmux driver issue's work.
final class TmuxDriver: Driver {
    static let info = DriverInfo(
        id: "flywheel.tmux", name: "tmux driver", version: "0.1.0", vendor: "Flywheel",
        summary: "Runs a command-line coding agent in a tmux session, guarded by the DCG hook.",
        capabilitiesJSON: #"{"config_schema":{"type":"object","properties":{"agent_command":{"type":"string"},"tmux":{"type":"string"}}}}"#)

    struct Configuration: Decodable, Sendable {
        var agentCommand: String?
        var tmux: String?
    }

    let configuration: Configuration
    let runs = RunTable()

    init(configuration: DriverConfiguration, host: DriverHost) throws(DriverFailure) {
        let decoded = try configuration.decode(Configuration.self)
        if let command = decoded.agentCommand, command.trimmingCharacters(in: .whitespaces).isEmpty {
            throw .invalidConfig("agent_command must not be empty")
        }
        self.configuration = decoded
    }

    func execute(task: DriverTask, run: DriverRun) throws(DriverFailure) {
        let agent = configuration.agentCommand
        runs.start(run) { control in
            guard let agent else {
                return .failed(error: "no CLI agent is configured: set agent_command in [config]", retryable: false)
            }
            control.run.emit(.status("tmux driver received the task for \(agent)"))
            if control.isCancelled { return .cancelled }
            return .failed(error: "the tmux driver cannot start \(agent) yet", retryable: false)
        }
    }

    func cancel(runID: UInt64) throws(DriverFailure) { try runs.cancel(runID) }

    func shutdown() { runs.shutdown() }
}
