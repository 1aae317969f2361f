import Foundation
import PluginKit

@_cdecl("flywheel_plugin_entry")
public func flywheelPluginEntry() -> UnsafeRawPointer {
    PluginExport.entry(for: TmuxDriver.self)
}

/// Runs a terminal program in a detached tmux session per gateway session, on a private server
/// socket (`tmux -L flywheel`), so an operator can attach to watch or take over. Two profiles:
/// `agent` starts a CLI agent (Claude Code, Codex CLI, aider, ...), pastes the task once it is
/// ready and streams the pane until the program exits, a done pattern appears or it goes idle;
/// `shell` types each task line into bash, each judged by the gateway's policy first and never
/// typed when denied. See docs/tmux-driver.md.
final class TmuxDriver: Driver {
    static let info = DriverInfo(
        id: "flywheel.tmux", name: "tmux driver", version: "0.2.0", vendor: "Flywheel",
        summary: "Runs a terminal agent or a guarded shell in tmux, streaming its screen as events.",
        capabilitiesJSON: #"""
            {"config_schema":{"type":"object","additionalProperties":false,"properties":{
            "profile":{"enum":["agent","shell"]},"agent_command":{"type":"string"},"shell":{"type":"string"},
            "tmux":{"type":"string"},"socket":{"type":"string"},"ready_pattern":{"type":"string"},
            "ready_quiet_seconds":{"type":"number"},"ready_timeout_seconds":{"type":"number"},"done_pattern":{"type":"string"},
            "idle_timeout_seconds":{"type":"number"},"command_timeout_seconds":{"type":"number"},
            "interrupt_keys":{"type":"array","items":{"type":"string"}},"submit_keys":{"type":"array","items":{"type":"string"}},
            "interrupt_grace_seconds":{"type":"number"},"snapshot_interval_seconds":{"type":"number"},
            "width":{"type":"integer"},"height":{"type":"integer"},"env":{"type":"object"},"continue_on_error":{"type":"boolean"},
            "claude_hook":{"type":"boolean"},"hook_command":{"type":"string"},"hook_settings":{"type":"string"},
            "hook_timeout_seconds":{"type":"integer"},"sandbox":{"enum":[true,false,"auto"]},"sandbox_network":{"type":"boolean"},
            "bubblewrap":{"type":"string"},"orphans":{"enum":["kill","keep"]},"state_directory":{"type":"string"}}}}
            """#)

    let configuration: TmuxConfiguration
    let runs = RunTable()

    init(configuration: DriverConfiguration, host: DriverHost) throws(DriverFailure) {
        self.configuration = try TmuxConfiguration(json: configuration.json, host: host)
        Orphans.scanOnce(configuration: self.configuration, host: host)
    }

    func execute(task: DriverTask, run: DriverRun) throws(DriverFailure) {
        let configuration = self.configuration
        runs.start(run) { control in
            PaneRun(configuration: configuration, control: control, task: task).run()
        }
    }

    func cancel(runID: UInt64) throws(DriverFailure) { try runs.cancel(runID) }

    func shutdown() { runs.shutdown() }
}

/// tmux sessions of ours whose gateway process is gone (it crashed or was killed): found once per
/// process and server socket, when the first instance is created (the host creates instances at
/// start-up to recover the sessions it finds running), reported in the host's log, and killed
/// unless the configuration says `orphans = "keep"`.
enum Orphans {
    private static let scanned = Locked(Set<String>())

    static func scanOnce(configuration: TmuxConfiguration, host: DriverHost) {
        let key = "\(configuration.tmux) \(configuration.socket)"
        guard scanned.withLock({ $0.insert(key).inserted }) else { return }
        let tmux = Tmux(executable: configuration.tmux, socket: configuration.socket)
        if !Tmux.closesInheritedDescriptors {
            host.log(.warning, "this C library (glibc before 2.34) cannot close the gateway's descriptors in the tmux client: a tmux server it starts may keep some of them open")
        }
        for (name, owner) in find(tmux) {
            let kept = configuration.orphans == "keep"
            if !kept {
                tmux.killSession(name)
                // Its output file and sockets, in our own private state folder only.
                if (try? StateFolder.preparePrivate(configuration.stateDirectory)) != nil {
                    try? FileManager.default.removeItem(atPath: "\(configuration.stateDirectory)/\(name)")
                }
            }
            host.log(.warning, "tmux session \(name) on socket \(configuration.socket) was left by gateway process \(owner.isEmpty ? "(unknown)" : owner), which is gone: \(kept ? "kept (orphans = \"keep\"); attach with tmux -L \(configuration.socket) attach -t \(name)" : "killed")")
        }
    }

    /// Sessions named like ours, with an owner recorded, whose owner no longer runs.
    static func find(_ tmux: Tmux) -> [(name: String, owner: String)] {
        tmux.sessions(option: HostIdentity.option).filter { session in
            session.name.hasPrefix("flywheel-") && !session.value.isEmpty && !HostIdentity.isAlive(session.value)
        }.map { (name: $0.name, owner: $0.value) }
    }
}
