import Foundation
import Logging

/// Start-up recovery: sessions a previous host process left `running` are resumed from their last
/// checkpoint when their driver can resume, and otherwise marked failed with "host restarted".
/// Queued sessions simply stay queued. Nothing is left dangling.
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
            if let plugin, let agent, let instance = try? plugin.makeDriver(configJSON: agent.configJSON) {
                resumable = instance.supportsCheckpoints
                instance.destroy()
            }
            let checkpoint = try await store.latestCheckpoint(sessionID: session.id)
            if resumable, let checkpoint {
                try await store.transitionSession(id: session.id, to: .queued, error: nil, accountID: .some(nil))
                try await log.appendHostEvent(sessionID: session.id, type: "host.session.recovered",
                                              ["action": "requeued", "checkpoint_seq": Int(checkpoint.seq)])
                try await log.appendHostEvent(sessionID: session.id, type: "host.session.state", ["state": "queued"])
                actions.append(Action(sessionID: session.id, outcome: "requeued"))
            } else {
                let why = plugin == nil ? "host restarted (driver \(agent?.driverID ?? "?") not loaded)"
                    : resumable ? "host restarted (no checkpoint to resume from)" : "host restarted"
                try await store.transitionSession(id: session.id, to: .failed, error: why, accountID: nil)
                try await log.appendHostEvent(sessionID: session.id, type: "host.session.recovered", ["action": "failed", "reason": why])
                try await log.appendHostEvent(sessionID: session.id, type: "host.session.state", ["state": "failed", "error": why])
                actions.append(Action(sessionID: session.id, outcome: "failed"))
            }
            logger.notice("recovered a session from a previous run", metadata: [
                "flywheel.session.id": .string(session.id), "flywheel.session.recovery": .string(actions.last!.outcome),
            ])
        }
        return actions
    }
}
