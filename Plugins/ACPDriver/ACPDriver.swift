import Foundation
import PluginKit
import Synchronization

@_cdecl("flywheel_plugin_entry")
public func flywheelPluginEntry() -> UnsafeRawPointer {
    PluginExport.entry(for: ACPDriver.self)
}

/// Drives any agent that speaks Zed's Agent Client Protocol (version 1): the driver is the ACP
/// client, the role an editor plays. It starts the agent program in the session's workspace and
/// talks newline-delimited JSON-RPC 2.0 over its standard input and output. See docs/acp-driver.md.
final class ACPDriver: CheckpointingDriver {
    static let info = DriverInfo(
        id: "flywheel.acp", name: "ACP driver", version: "1.0.0", vendor: "Flywheel",
        summary: "Runs an Agent Client Protocol agent as a child process and talks JSON-RPC over stdio.",
        capabilitiesJSON: #"{"config_schema":{"type":"object","required":["command"],"additionalProperties":false,"properties":{"command":{"type":"array","items":{"type":"string"},"minItems":1},"env":{"type":"object","additionalProperties":{"type":"string"}},"inherit_env":{"type":"array","items":{"type":"string"}},"auth_method":{"type":"string"},"request_timeout_seconds":{"type":"number"},"prompt_timeout_seconds":{"type":"number"},"cancel_grace_seconds":{"type":"number"},"terminal_timeout_seconds":{"type":"number"},"max_message_bytes":{"type":"integer"},"max_file_bytes":{"type":"integer"},"other_tools":{"enum":["allow","reject"]},"resume_prompt":{"type":"string"},"stderr_events":{"type":"boolean"}}}}"#)

    let configuration: ACPConfiguration
    let host: DriverHost
    let runs = RunTable()
    /// The runs in progress, for checkpoint saves.
    private let active = Mutex<[UInt64: ACPRun]>([:])

    init(configuration: DriverConfiguration, host: DriverHost) throws(DriverFailure) {
        self.configuration = try ACPConfiguration(json: configuration.json, host: host)
        self.host = host
    }

    func execute(task: DriverTask, run: DriverRun) throws(DriverFailure) {
        try start(task: task, run: run, checkpoint: nil)
    }

    func resume(task: DriverTask, run: DriverRun, state: [UInt8]) throws(DriverFailure) {
        try start(task: task, run: run, checkpoint: try ACPCheckpoint(bytes: state))
    }

    private func start(task: DriverTask, run: DriverRun, checkpoint: ACPCheckpoint?) throws(DriverFailure) {
        guard let workspace = task.workspace, workspace.hasPrefix("/") else {
            throw .invalidArgument("the task has no absolute workspace: the ACP driver starts the agent there")
        }
        runs.start(run) { [self] control in
            let acp = ACPRun(configuration: configuration, control: control, task: task, workspace: workspace, host: host)
            active.withLock { $0[run.id] = acp }
            defer { _ = active.withLock { $0.removeValue(forKey: run.id) } }
            return acp.perform(resumingFrom: checkpoint)
        }
    }

    func saveCheckpoint(runID: UInt64) throws(DriverFailure) -> [UInt8] {
        guard let acp = active.withLock({ $0[runID] }) else { throw .notFound }
        return acp.checkpoint.bytes
    }

    func cancel(runID: UInt64) throws(DriverFailure) { try runs.cancel(runID) }

    func shutdown() { runs.shutdown() }
}
