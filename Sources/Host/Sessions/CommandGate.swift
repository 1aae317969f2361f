import Foundation
import Logging

/// The host's command path: every command a driver asks for gets a policy decision, stored with
/// the session, before anything runs. Denied commands never run; held ones wait for an operator;
/// allowed ones run in the workspace, their output recorded as events.
public struct CommandGate: Sendable {
    public let policy: CommandPolicy
    public let store: any GatewayStore
    public let log: SessionEventLog
    public let runner: any CommandRunning
    public let limits: SessionLimits
    public let logger: Logger

    public init(policy: CommandPolicy, store: any GatewayStore, log: SessionEventLog, runner: any CommandRunning,
                limits: SessionLimits, logger: Logger) {
        self.policy = policy
        self.store = store
        self.log = log
        self.runner = runner
        self.limits = limits
        self.logger = logger
    }

    /// Decides on and (if allowed) runs one request; returns the `flywheel.command-result/1` document.
    public func handle(_ request: CommandRequest, sessionID: String, workspace: URL, environment: [String: String]) async -> String {
        do {
            return try await decideAndRun(request, sessionID: sessionID, workspace: workspace, environment: environment)
        } catch {
            logger.error("command handling failed", metadata: ["flywheel.session.id": .string(sessionID), "error": .string("\(error)")])
            return Self.result(["decision": "deny", "ran": false, "reason": "the host could not handle the command: \(error)"])
        }
    }

    private func decideAndRun(_ request: CommandRequest, sessionID: String, workspace: URL, environment: [String: String]) async throws -> String {
        let decision = policy.evaluate(request.command)
        let id = StoreIDs.make()
        let status: CommandDecisionRecord.Status =
            switch decision.verdict {
            case .deny: .blocked
            case .ask: .pending
            case .allow, .warn, .log: .approved
            }
        try await store.recordCommandDecision(CommandDecisionRecord(
            id: id, sessionID: sessionID, command: request.command, decision: decision.verdict, ruleID: decision.ruleID,
            packID: decision.packID, severity: decision.severity, reason: decision.reason, status: status,
            decidedBy: status == .approved ? "policy" : nil))
        var decisionEvent: [String: Any] = ["request_id": id, "command": request.command, "decision": decision.verdict.rawValue]
        if let rule = decision.ruleID { decisionEvent["rule_id"] = rule }
        if let reason = decision.reason { decisionEvent["reason"] = reason }
        if let alternative = decision.alternative { decisionEvent["alternative"] = alternative }
        try await log.appendHostEvent(sessionID: sessionID, type: "host.command.decision", decisionEvent)
        var base: [String: Any] = ["request_id": id, "decision": decision.verdict.rawValue]
        if let rule = decision.ruleID { base["rule_id"] = rule }
        if let reason = decision.reason { base["reason"] = reason }

        switch decision.verdict {
        case .deny:
            return Self.result(base.merging(["ran": false]) { $1 })
        case .ask:
            let answer = try await awaitApproval(id: id)
            try await log.appendHostEvent(sessionID: sessionID, type: "host.command.approval",
                                          ["request_id": id, "status": answer.status.rawValue, "decided_by": answer.decidedBy ?? "nobody"])
            guard answer.status == .approved else {
                let why = answer.status == .expired ? "no operator approved the command in time" : "an operator denied the command"
                return Self.result(base.merging(["decision": "deny", "ran": false, "reason": why]) { $1 })
            }
            base["decision"] = "allow"
        case .allow, .warn, .log:
            break
        }

        let directory: URL
        do {
            directory = try Self.workingDirectory(workspace: workspace, cwd: request.cwd)
        } catch {
            _ = try await store.updateCommandDecision(id: id, from: nil, to: .failed, exitCode: nil, decidedBy: nil)
            return Self.result(base.merging(["ran": false, "reason": "\(error)"]) { $1 })
        }
        let requested = request.timeoutSeconds.map { Duration.milliseconds(Int64($0 * 1000)) } ?? limits.commandTimeout
        let runRequest = CommandRunRequest(
            command: request.command, workingDirectory: directory, environment: environment.merging(request.environment) { $1 },
            timeout: min(requested, limits.maxCommandTimeout), outputLimit: limits.commandOutputLimit)
        let log = self.log
        let outcome: CommandOutcome
        do {
            outcome = try await runner.run(runRequest) { chunk in
                _ = try? await log.appendHostEvent(sessionID: sessionID, type: "host.command.output", [
                    "request_id": id, "stream": chunk.stream.rawValue, "text": String(decoding: chunk.bytes, as: UTF8.self),
                ])
            }
        } catch {
            _ = try await store.updateCommandDecision(id: id, from: nil, to: .failed, exitCode: nil, decidedBy: nil)
            try await log.appendHostEvent(sessionID: sessionID, type: "host.command.exit", ["request_id": id, "error": "\(error)"])
            return Self.result(base.merging(["ran": false, "reason": "the command could not start: \(error)"]) { $1 })
        }
        _ = try await store.updateCommandDecision(id: id, from: nil, to: .ran, exitCode: outcome.exitCode, decidedBy: nil)
        var exit: [String: Any] = ["request_id": id, "timed_out": outcome.timedOut, "truncated": outcome.truncated,
                                   "duration_ms": Int(outcome.duration.components.seconds * 1000 + outcome.duration.components.attoseconds / 1_000_000_000_000_000)]
        exit["exit_code"] = outcome.exitCode.map { Int($0) as Any } ?? NSNull()
        if let signal = outcome.signal { exit["signal"] = Int(signal) }
        try await log.appendHostEvent(sessionID: sessionID, type: "host.command.exit", exit)
        return Self.result(base.merging([
            "ran": true, "exit_code": outcome.exitCode.map { Int($0) as Any } ?? NSNull(), "timed_out": outcome.timedOut,
            "stdout": outcome.stdoutText, "stderr": outcome.stderrText, "truncated": outcome.truncated,
        ]) { $1 })
    }

    /// Waits for an operator's answer to a held command, or expires it.
    private func awaitApproval(id: String) async throws -> CommandDecisionRecord {
        let deadline = ContinuousClock.now + limits.approvalTimeout
        while ContinuousClock.now < deadline {
            if let record = try await store.commandDecision(id: id), record.status != .pending { return record }
            try await Task.sleep(for: limits.approvalPollInterval)
        }
        _ = try await store.updateCommandDecision(id: id, from: .pending, to: .expired, exitCode: nil, decidedBy: "timeout")
        guard let record = try await store.commandDecision(id: id) else { throw StoreError.notFound("command decision \(id)") }
        return record
    }

    struct WorkingDirectoryError: Error, CustomStringConvertible {
        var description: String
    }

    /// The workspace, or `cwd` inside it; never a directory outside the workspace.
    static func workingDirectory(workspace: URL, cwd: String?) throws -> URL {
        guard let cwd, !cwd.isEmpty else { return workspace }
        guard !cwd.hasPrefix("/"), !cwd.split(separator: "/").contains("..") else {
            throw WorkingDirectoryError(description: "cwd '\(cwd)' must be a relative path inside the workspace")
        }
        let directory = workspace.appendingPathComponent(cwd).standardizedFileURL
        let resolvedWorkspace = workspace.resolvingSymlinksInPath().path
        if FileManager.default.fileExists(atPath: directory.path),
           !(directory.resolvingSymlinksInPath().path + "/").hasPrefix(resolvedWorkspace + "/") {
            throw WorkingDirectoryError(description: "cwd '\(cwd)' leads outside the workspace")
        }
        return directory
    }

    static func result(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data(#"{"decision":"deny","ran":false}"#.utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
