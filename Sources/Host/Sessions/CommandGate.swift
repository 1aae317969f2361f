import Foundation
import Metrics
import Logging

/// The host's command path: every command a driver asks for gets a policy decision, stored with
/// the session, before anything runs. Denied commands never run; held ones wait for an operator;
/// allowed ones run in the workspace (within the concurrency limits), their output recorded as
/// events. What became of every command is recorded, including refusals and commands killed
/// because their session ended.
public struct CommandGate: Sendable {
    /// The policy in force; each command is judged by the one current when it arrives.
    public let policies: ActivePolicy
    public var policy: CommandPolicy { policies.current }
    public let store: any GatewayStore
    public let log: SessionEventLog
    public let runner: any CommandRunning
    public let limits: SessionLimits
    public let logger: Logger
    let held: HeldCommands
    let slots: CommandSlots

    public init(policy: CommandPolicy, store: any GatewayStore, log: SessionEventLog, runner: any CommandRunning,
                limits: SessionLimits, logger: Logger) {
        self.init(policies: ActivePolicy(policy), store: store, log: log, runner: runner, limits: limits, logger: logger)
    }

    public init(policies: ActivePolicy, store: any GatewayStore, log: SessionEventLog, runner: any CommandRunning,
                limits: SessionLimits, logger: Logger) {
        self.policies = policies
        self.store = store
        self.log = log
        self.runner = runner
        self.limits = limits
        self.logger = logger
        self.held = HeldCommands()
        self.slots = CommandSlots(.init(total: limits.maxConcurrentCommands, perSession: limits.maxConcurrentCommandsPerSession))
    }

    /// Decides on and (if allowed) runs one request; returns the `flywheel.command-result/1` document.
    public func handle(_ request: CommandRequest, sessionID: String, workspace: URL, environment: [String: String],
                       network: Bool = true) async -> String {
        do {
            return try await decideAndRun(request, sessionID: sessionID, workspace: workspace, environment: environment, network: network)
        } catch {
            logger.error("command handling failed", metadata: ["flywheel.session.id": .string(sessionID), "error": .string("\(error)")])
            return HostJSON.encode(["decision": "deny", "ran": false, "reason": "the host could not handle the command: \(error)"])
        }
    }

    private func decideAndRun(_ request: CommandRequest, sessionID: String, workspace: URL, environment: [String: String],
                              network: Bool) async throws -> String {
        // The driver's `env` is checked with the command: variables that change what runs are refused.
        let decision = await policy.decide(request.command, environment: request.environment, workspace: workspace.path)
        let id = StoreIDs.make()
        let status: CommandDecisionRecord.Status =
            switch decision.verdict {
            case .deny: .blocked
            case .ask: .pending
            case .allow, .warn, .log: .approved
            }
        Counter(label: "flywheel_dcg_decisions_total", dimensions: [("decision", decision.verdict.rawValue)]).increment()
        try await store.recordCommandDecision(CommandDecisionRecord(
            id: id, sessionID: sessionID, command: request.command, decision: decision.verdict, ruleID: decision.ruleID,
            packID: decision.packID, severity: decision.severity, reason: decision.reason, status: status,
            decidedBy: status == .approved ? "policy" : nil))
        // A decision-only command runs in the driver's own terminal, not in the gateway's sandbox.
        var decisionEvent: [String: Any] = ["request_id": id, "command": request.command, "decision": decision.verdict.rawValue,
                                            "sandboxed": request.execute && runner.sandboxed]
        if runner.sandboxed, request.execute { decisionEvent["network"] = network }
        if !request.execute { decisionEvent["decision_only"] = true }
        if let rule = decision.ruleID { decisionEvent["rule_id"] = rule }
        if let reason = decision.reason { decisionEvent["reason"] = reason }
        if let alternative = decision.alternative { decisionEvent["alternative"] = alternative }
        try await log.appendHostEvent(sessionID: sessionID, type: "host.command.decision", decisionEvent)
        var base: [String: Any] = ["request_id": id, "decision": decision.verdict.rawValue]
        if let rule = decision.ruleID { base["rule_id"] = rule }
        if let reason = decision.reason { base["reason"] = reason }

        if !request.execute { base["delegated"] = false }
        switch decision.verdict {
        case .deny:
            return HostJSON.encode(base.merging(["ran": false]) { $1 })
        case .ask:
            let answer = try await awaitApproval(id: id, sessionID: sessionID)
            guard answer.status == .approved else {
                let why = answer.outcome ?? (answer.status == .denied ? "an operator denied the command" : "no operator approved the command in time")
                return HostJSON.encode(base.merging(["decision": "deny", "ran": false, "reason": why]) { $1 })
            }
            base["decision"] = "allow"
        case .allow, .warn, .log:
            break
        }
        if !request.execute {
            // Decision only: the driver runs the command itself; the record says it was handed over.
            try await finish(id, sessionID: sessionID, status: .delegated, outcome: "handed to the driver to run itself",
                             event: ["ran": false, "delegated": true])
            return HostJSON.encode(base.merging(["ran": false, "delegated": true]) { $1 })
        }

        let directory: URL
        do {
            directory = try Self.workingDirectory(workspace: workspace, cwd: request.cwd)
        } catch {
            try await finish(id, sessionID: sessionID, status: .refused, outcome: "\(error)", event: ["ran": false, "refused": "\(error)"])
            return HostJSON.encode(base.merging(["ran": false, "reason": "\(error)"]) { $1 })
        }
        // `$TMPDIR` is the session's own folder inside the workspace, so a path under it really is
        // temporary (the guard's exemption relies on it) and a sandboxed command can write there.
        let temporary = workspace.appendingPathComponent(Self.temporaryFolder).appendingPathComponent(sessionID)
        do {
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        } catch {
            try await finish(id, sessionID: sessionID, status: .refused, outcome: "cannot create the temporary folder: \(error)",
                             event: ["ran": false, "refused": "cannot create the temporary folder \(temporary.path)"])
            return HostJSON.encode(base.merging(["ran": false, "reason": "cannot create the temporary folder \(temporary.path)"]) { $1 })
        }
        var commandEnvironment = environment.merging(request.environment) { $1 }
        commandEnvironment["TMPDIR"] = temporary.path
        let requested = request.timeoutSeconds.map { Duration.milliseconds(Int64(($0 * 1000).rounded(.up))) } ?? limits.commandTimeout
        let runRequest = CommandRunRequest(
            command: request.command, workingDirectory: directory, environment: commandEnvironment,
            timeout: min(requested, limits.maxCommandTimeout), outputLimit: limits.commandOutputLimit, writableRoot: workspace,
            network: network)
        do {
            try await slots.acquire(sessionID: sessionID)
        } catch {
            try await finish(id, sessionID: sessionID, status: .cancelled, outcome: "the session ended before the command could start",
                             event: ["ran": false, "cancelled": true])
            throw error
        }
        defer { slots.release(sessionID: sessionID) }
        let log = self.log, logger = self.logger
        let outcome: CommandOutcome
        do {
            outcome = try await runner.run(runRequest) { chunk in
                do {
                    try await log.appendHostEvent(sessionID: sessionID, type: "host.command.output", [
                        "request_id": id, "stream": chunk.stream.rawValue, "text": String(decoding: chunk.bytes, as: UTF8.self),
                    ])
                } catch {
                    // The command's output also reaches the driver in the result; the log says what the event log lacks.
                    logger.error("cannot store command output", metadata: [
                        "flywheel.session.id": .string(sessionID), "flywheel.command.id": .string(id), "error": .string("\(error)"),
                    ])
                }
            }
        } catch is CancellationError {
            try await finish(id, sessionID: sessionID, status: .cancelled, outcome: "killed: the session ended while the command ran",
                             event: ["ran": true, "killed": true, "exit_code": NSNull()])
            throw CancellationError()
        } catch {
            try await finish(id, sessionID: sessionID, status: .failed, outcome: "the command could not start: \(error)",
                             event: ["ran": false, "error": "\(error)"])
            return HostJSON.encode(base.merging(["ran": false, "reason": "the command could not start: \(error)"]) { $1 })
        }
        let milliseconds = outcome.duration.components.seconds * 1000 + outcome.duration.components.attoseconds / 1_000_000_000_000_000
        var exit: [String: Any] = ["ran": true, "sandboxed": runner.sandboxed, "timed_out": outcome.timedOut, "truncated": outcome.truncated, "duration_ms": Int(milliseconds)]
        exit["exit_code"] = outcome.exitCode.map { Int($0) as Any } ?? NSNull()
        if let signal = outcome.signal { exit["signal"] = Int(signal) }
        try await finish(id, sessionID: sessionID, status: .ran, exitCode: outcome.exitCode,
                         outcome: outcome.timedOut ? "timed out and was killed" : nil, event: exit)
        return HostJSON.encode(base.merging([
            "ran": true, "exit_code": outcome.exitCode.map { Int($0) as Any } ?? NSNull(), "timed_out": outcome.timedOut,
            "stdout": outcome.stdoutText, "stderr": outcome.stderrText, "truncated": outcome.truncated,
        ]) { $1 })
    }

    /// Records what became of a command (its row and its `host.command.exit` event), even when the
    /// caller was cancelled: a killed command's outcome is part of the session's record.
    private func finish(_ id: String, sessionID: String, status: CommandDecisionRecord.Status, exitCode: Int32? = nil, outcome: String?,
                        event: [String: Any]) async throws {
        let store = self.store, log = self.log
        var payload = event
        payload["request_id"] = id
        payload["type"] = "host.command.exit"
        let document = HostJSON.encode(payload)
        try await uncancelled {
            _ = try await store.updateCommandDecision(id: id, from: nil, to: status, exitCode: exitCode, decidedBy: nil, outcome: outcome)
            try await log.append([NewEvent(sessionID: sessionID, type: "host.command.exit", payload: document)])
        }
    }

    /// Waits for an operator's answer to a held command. It expires when nobody answers in time, and
    /// is cancelled at once when its session ends; either is recorded once, compare-and-set.
    private func awaitApproval(id: String, sessionID: String) async throws -> CommandDecisionRecord {
        await held.wait(for: id, until: ContinuousClock.now + limits.approvalTimeout)
        let store = self.store, log = self.log
        let ended = Task.isCancelled
        return try await uncancelled {
            // Unanswered: it ends here (expired, or cancelled with its session). Answered: the
            // operator's answer and its event were recorded by whoever answered (ApprovalService).
            let endedHere: Bool
            if ended {
                endedHere = try await store.updateCommandDecision(id: id, from: .pending, to: .cancelled, exitCode: nil, decidedBy: "host",
                                                                  outcome: "the session ended while the command was held")
            } else {
                endedHere = try await store.updateCommandDecision(id: id, from: .pending, to: .expired, exitCode: nil, decidedBy: "timeout",
                                                                  outcome: "no operator answered in time")
            }
            guard let record = try await store.commandDecision(id: id) else { throw StoreError.notFound("command decision \(id)") }
            if endedHere {
                try await log.appendHostEvent(sessionID: sessionID, type: "host.command.approval",
                                              ["request_id": id, "status": record.status.rawValue, "decided_by": record.decidedBy ?? "nobody"])
            }
            return record
        }
    }

    /// Wakes a held command after its answer was recorded.
    func announceAnswer(_ id: String) {
        held.announce(id)
    }

    struct WorkingDirectoryError: Error, CustomStringConvertible {
        var description: String
    }

    /// The folder in a workspace that holds each session's `$TMPDIR`.
    public static let temporaryFolder = ".flywheel-tmp"

    /// The workspace, or `cwd` inside it; never a directory outside the workspace.
    static func workingDirectory(workspace: URL, cwd: String?) throws -> URL {
        guard let cwd, !cwd.isEmpty else { return workspace }
        guard !cwd.isAbsolutePath, !cwd.climbsToParent, !cwd.utf8.contains(0) else {
            throw WorkingDirectoryError(description: "cwd '\(cwd)' must be a relative path inside the workspace")
        }
        let directory = workspace.appendingPathComponent(cwd).standardizedFileURL
        let resolvedWorkspace = workspace.resolvingSymlinksInPath().path
        if FileManager.default.fileExists(atPath: directory.path),
           !directory.resolvingSymlinksInPath().path.isPath(within: resolvedWorkspace) {
            throw WorkingDirectoryError(description: "cwd '\(cwd)' leads outside the workspace")
        }
        return directory
    }
}
