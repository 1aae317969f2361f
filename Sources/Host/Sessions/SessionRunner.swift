import Foundation
import Logging
import Synchronization

/// Runs one session's driver run: builds the task, starts (or resumes) the run, stores every event
/// before it is published, answers command requests through the ``CommandGate``, stores offered
/// checkpoints, and honours cancel and pause.
public struct SessionRunner: Sendable {
    public let catalog: PluginCatalog
    public let store: any GatewayStore
    public let log: SessionEventLog
    public let gate: CommandGate
    public let limits: SessionLimits
    public let defaultWorkspace: @Sendable (AgentRecord) -> URL
    public let logger: Logger

    public init(catalog: PluginCatalog, store: any GatewayStore, log: SessionEventLog, gate: CommandGate, limits: SessionLimits,
                defaultWorkspace: @escaping @Sendable (AgentRecord) -> URL, logger: Logger) {
        self.catalog = catalog
        self.store = store
        self.log = log
        self.gate = gate
        self.limits = limits
        self.defaultWorkspace = defaultWorkspace
        self.logger = logger
    }

    /// Mutable facts about the run, shared between the event loop and the control listener.
    final class RunState: Sendable {
        struct Values {
            var lastSeq: Int64 = 0
            var terminal: (type: String, error: String?)?
            var rateLimitUntil: Date?
            var cancelRequested = false
            var pauseCheckpointSaved = false
            var storageError: String?
        }
        let values: Mutex<Values>
        init(lastSeq: Int64) { values = Mutex(Values(lastSeq: lastSeq)) }
        func update<T>(_ body: (inout Values) -> T) -> T { values.withLock { body(&$0) } }
    }

    func run(session: SessionRecord, agent: AgentRecord, lease: AccountLease?, checkpoint: CheckpointRecord?,
             control: SessionControl) async -> SessionRunOutcome {
        defer { control.finish() }
        guard let plugin = catalog.plugin(driverID: agent.driverID) else {
            return .failed("driver '\(agent.driverID)' is not loaded")
        }
        let instance: DriverInstance
        do {
            instance = try plugin.makeDriver(configJSON: agent.configJSON)
        } catch {
            return .failed("the driver refused the agent's configuration: \(error.description)")
        }
        // destroy joins the driver's threads; a driver that hangs must not hang the host with it.
        defer { Thread.detachNewThread { instance.destroy() } }

        let workspace = agent.workspace.map { URL(fileURLWithPath: $0) } ?? defaultWorkspace(agent)
        do {
            try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
        } catch {
            return .failed("cannot create the workspace \(workspace.path): \((error as NSError).localizedDescription)")
        }
        let task = Self.taskJSON(session: session, workspace: workspace, lease: lease)
        let run: DriverRun
        let resuming = checkpoint != nil && instance.supportsCheckpoints
        do {
            if let checkpoint, resuming {
                run = try instance.resume(taskJSON: task, state: checkpoint.state)
            } else {
                run = try instance.execute(taskJSON: task)
            }
        } catch {
            return .failed(error.description)
        }
        let state = RunState(lastSeq: session.lastSeq)
        var started: [String: Any] = ["driver": agent.driverID, "run_id": Int(run.id), "workspace": workspace.path]
        if let checkpoint, resuming { started["resumed_from_seq"] = Int(checkpoint.seq) }
        if let lease { started["account"] = "\(lease.provider)/\(lease.label)" }
        if let record = try? await log.appendHostEvent(sessionID: session.id, type: "host.run.started", started) {
            state.update { $0.lastSeq = record.seq }
        }

        let environment = agent.environment
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await listen(control: control, instance: instance, run: run, session: session, state: state)
            }
            await consume(run: run, session: session, workspace: workspace, environment: environment, state: state, group: &group)
            control.finish()
            group.cancelAll()
        }
        if Task.isCancelled, state.update({ $0.terminal == nil }) { return .interrupted }
        return Self.outcome(state: state.update { $0 }, lease: lease)
    }

    /// Reads what the driver hands over until its terminal event (or until the host gives up).
    private func consume(run: DriverRun, session: SessionRecord, workspace: URL, environment: [String: String], state: RunState,
                         group: inout TaskGroup<Void>) async {
        var pending: [NewEvent] = []
        func flush() async -> Bool {
            guard !pending.isEmpty else { return true }
            do {
                let records = try await log.append(pending)
                pending.removeAll(keepingCapacity: true)
                if let last = records.last { state.update { $0.lastSeq = last.seq } }
                return true
            } catch {
                state.update { $0.storageError = "cannot store events: \(error)" }
                logger.error("cannot store events", metadata: ["flywheel.session.id": .string(session.id), "error": .string("\(error)")])
                return false
            }
        }
        let gate = self.gate
        reading: while let batch = await withTaskCancellationHandler(operation: { await run.next() }, onCancel: { run.finish() }) {
            for item in batch {
                switch item {
                case .event(let bytes):
                    do {
                        let event = try DriverEventParser.parse(bytes)
                        pending.append(NewEvent(sessionID: session.id, type: event.type, payload: event.json))
                        if event.type == "rate_limited" { state.update { $0.rateLimitUntil = Self.rateLimitEnd(event.json) } }
                        if event.isTerminal {
                            state.update { $0.terminal = (event.type, Self.errorText(event.json)) }
                            run.finish()
                            _ = await flush()
                            break reading
                        }
                    } catch {
                        let excerpt = String(decoding: bytes.prefix(200), as: UTF8.self)
                        pending.append(NewEvent(sessionID: session.id, type: "host.driver_error",
                                                payload: CommandGate.result(["type": "host.driver_error", "problem": error.description, "excerpt": excerpt])))
                    }
                case .command(let command):
                    guard await flush() else { command.close(); break reading }
                    group.addTask {
                        let result = await gate.handle(command.request, sessionID: session.id, workspace: workspace, environment: environment)
                        if run.isFinished { command.close() } else { command.complete(resultJSON: result) }
                    }
                case .checkpoint(let bytes):
                    guard await flush() else { break reading }
                    let seq = state.update { $0.lastSeq }
                    do {
                        try await store.saveCheckpoint(sessionID: session.id, seq: seq, state: bytes)
                        _ = try await log.appendHostEvent(sessionID: session.id, type: "host.checkpoint", ["seq": Int(seq), "bytes": bytes.count])
                            .map { record in state.update { $0.lastSeq = record.seq } }
                    } catch {
                        state.update { $0.storageError = "cannot store a checkpoint: \(error)" }
                        break reading
                    }
                }
            }
            guard await flush() else { break }
        }
        // Ended from the host side too: after a storage error nothing more may happen unrecorded.
        run.finish()
    }

    /// Applies cancel and pause requests while the run goes on.
    private func listen(control: SessionControl, instance: DriverInstance, run: DriverRun, session: SessionRecord, state: RunState) async {
        for await request in control.requests {
            switch request {
            case .cancel:
                state.update { $0.cancelRequested = true }
                try? instance.cancel(runID: run.id)
            case .pause:
                do {
                    let bytes = try instance.saveCheckpoint(runID: run.id)
                    let seq = state.update { $0.lastSeq }
                    try await store.saveCheckpoint(sessionID: session.id, seq: seq, state: bytes)
                    state.update { $0.pauseCheckpointSaved = true }
                    try? instance.cancel(runID: run.id)
                } catch {
                    logger.warning("pause failed", metadata: ["flywheel.session.id": .string(session.id), "error": .string("\(error)")])
                    continue
                }
            }
            // The run has a grace period to end with its terminal event; then the host gives up on it.
            let grace = limits.cancelGrace
            Task.detached { [run] in
                try? await Task.sleep(for: grace)
                run.finish()
            }
        }
    }

    static func outcome(state: RunState.Values, lease: AccountLease?) -> SessionRunOutcome {
        if let error = state.storageError { return .failed(error) }
        if state.pauseCheckpointSaved, state.terminal?.type != "completed", state.terminal?.type != "failed" { return .paused }
        switch state.terminal?.type {
        case "completed": return .done
        case "cancelled": return state.cancelRequested ? .cancelled : .failed("the driver cancelled the run on its own")
        case "failed":
            let error = state.terminal?.error ?? "the driver reported a failure"
            if let until = state.rateLimitUntil, let lease { return .rateLimited(accountID: lease.accountID, until: until, error: error) }
            return .failed(error)
        default:
            return state.cancelRequested ? .cancelled : .failed("the driver ended the run without a terminal event")
        }
    }

    static func taskJSON(session: SessionRecord, workspace: URL, lease: AccountLease?) -> String {
        var task: [String: Any] = ["schema": "flywheel.task/1", "session_id": session.id, "prompt": session.task, "workspace": workspace.path]
        if let lease {
            let credentials = (try? JSONSerialization.jsonObject(with: Data(lease.credentialsJSON.utf8))) ?? lease.credentialsJSON
            task["account"] = ["provider": lease.provider, "label": lease.label, "credentials": credentials]
        }
        return CommandGate.result(task)
    }

    static func rateLimitEnd(_ json: String, now: Date = Date()) -> Date {
        let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]) ?? [:]
        return RateLimitSignal.cooldownEnd(retryAfterSeconds: (object["retry_after_seconds"] as? NSNumber)?.doubleValue,
                                           resetAt: object["reset_at"] as? String, now: now)
    }

    static func errorText(_ json: String) -> String? {
        ((try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any])?["error"] as? String
    }
}
