import Foundation
import PluginKit

@_cdecl("flywheel_plugin_entry")
public func flywheelPluginEntry() -> UnsafeRawPointer {
    PluginExport.entry(for: ACPDriver.self)
}

/// Drives an agent that speaks Zed's Agent Client Protocol (JSON-RPC over stdio). This version
/// loads, checks its configuration and answers runs; speaking ACP is the ACP driver issue's work.
final class ACPDriver: Driver {
    static let info = DriverInfo(
        id: "flywheel.acp", name: "ACP driver", version: "0.1.0", vendor: "Flywheel",
        summary: "Runs an Agent Client Protocol agent as a child process and talks JSON-RPC over stdio.",
        capabilitiesJSON: #"{"config_schema":{"type":"object","properties":{"command":{"type":"array","items":{"type":"string"}}}}}"#)

    struct Configuration: Decodable, Sendable {
        var command: [String]?
    }

    let configuration: Configuration
    let runs = RunTable()

    init(configuration: DriverConfiguration, host: DriverHost) throws(DriverFailure) {
        let decoded = try configuration.decode(Configuration.self)
        if let command = decoded.command, command.first?.isEmpty ?? true {
            throw .invalidConfig("command must name the agent program as its first element")
        }
        self.configuration = decoded
    }

    func execute(task: DriverTask, run: DriverRun) throws(DriverFailure) {
        let command = configuration.command
        runs.start(run) { control in
            guard let command else {
                return .failed(error: "no ACP agent is configured: set command = [\"agent\", \"args\"] in [config]", retryable: false)
            }
            control.run.emit(.status("ACP driver received the task for agent \(command[0])"))
            if control.isCancelled { return .cancelled }
            return .failed(error: "the ACP driver cannot talk to \(command[0]) yet", retryable: false)
        }
    }

    func cancel(runID: UInt64) throws(DriverFailure) { try runs.cancel(runID) }

    func shutdown() { runs.shutdown() }
}
