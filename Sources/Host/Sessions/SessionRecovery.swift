import Foundation
import Logging

/// Start-up recovery, run by the host that takes over a data directory before it schedules
/// anything: sessions a previous host process left `running` (it crashed or was killed) are queued
/// again to resume from their last checkpoint when their driver can resume, and otherwise failed
/// with the reason. The recovering host then owns them: a host that schedules every session runs
/// them to a final state; a foreground `sessions run` leaves them queued, with a note saying so, for
/// the next host that does. Nothing is left `running` without a process running it.
public enum SessionRecovery {
    public struct Action: Sendable, Equatable {
        public var sessionID: String
        /// `requeued` (it will resume from its checkpoint) or `failed`.
        public var outcome: String
    }

    public static func recover(store: any GatewayStore, log: SessionEventLog, catalog: PluginCatalog, logger: Logger) async throws -> [Action] {
        var actions: [Action] = []
        for session in try await store.sessions(in: [.running]) {
            let agent = try await store.agent(id: session.agentID)
            let plugin = agent.flatMap { catalog.plugin(driverID: $0.driverID) }
            var resumable = false
            if let plugin, let agent, let instance = try? await plugin.createInstance(configJSON: agent.configJSON) {
                resumable = instance.supportsCheckpoints
                instance.retire()
            }
            let checkpoint = try await store.latestCheckpoint(sessionID: session.id)
            do {
                if resumable, let checkpoint {
                    try await log.appendHostEvent(sessionID: session.id, type: "host.session.recovered",
                                                  ["action": "requeued", "checkpoint_seq": Int(checkpoint.seq)])
                    try await log.transition(SessionTransition(
                        sessionID: session.id, to: .queued, expected: [.running], accountID: .some(nil),
                        note: ["reason": "the host that ran it stopped; it resumes from its checkpoint when a host schedules it"]))
                    actions.append(Action(sessionID: session.id, outcome: "requeued"))
                } else {
                    let why = plugin == nil ? "host restarted (driver \(agent?.driverID ?? "?") not loaded)"
                        : resumable ? "host restarted (no checkpoint to resume from)" : "host restarted"
                    try await log.appendHostEvent(sessionID: session.id, type: "host.session.recovered", ["action": "failed", "reason": why])
                    try await log.transition(SessionTransition(sessionID: session.id, to: .failed, expected: [.running], error: why))
                    actions.append(Action(sessionID: session.id, outcome: "failed"))
                }
            } catch is IllegalSessionTransition {
                continue
            }
            logger.notice("recovered a session from a previous run", metadata: [
                "flywheel.session.id": .string(session.id), "flywheel.session.recovery": .string(actions.last?.outcome ?? "?"),
            ])
        }
        return actions
    }
}
