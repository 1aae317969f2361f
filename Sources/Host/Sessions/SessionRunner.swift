import Foundation
import Logging
import Synchronization

/// Runs one session's driver run: builds the task, starts (or resumes) the run, stores every event
/// before it is published, answers command requests through the ``CommandGate``, stores offered
/// checkpoints, and honours cancel and pause.
public struct SessionRunner: Sendable {
    /// The plugins in force; a session looks its driver up once, when it starts.
    public let plugins: PluginRegistry
    public var catalog: PluginCatalog { plugins.current }
    public let store: any GatewayStore
    public let log: SessionEventLog
    public let gate: CommandGate
    public let limits: SessionLimits
    public let defaultWorkspace: @Sendable (AgentRecord) -> URL
    /// Why an agent's configured workspace may not be used, if it may not: checked at every start,
    /// since an agent stored before a rule existed (or written to the store directly) was never
    /// checked against it.
    public let workspaceProblem: @Sendable (String) -> String?
    public let logger: Logger

    public init(plugins: PluginRegistry, store: any GatewayStore, log: SessionEventLog, gate: CommandGate, limits: SessionLimits,
                defaultWorkspace: @escaping @Sendable (AgentRecord) -> URL, workspaceProblem: @escaping @Sendable (String) -> String? = { _ in nil },
                logger: Logger) {
        self.plugins = plugins
        self.workspaceProblem = workspaceProblem
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
            var accountUnusable: (status: AccountRecord.Status, reason: String)?
            var cancelRequested = false
            var pauseCheckpointSaved = false
            var shutdownRequested = false
            var shutdownCheckpointSaved = false
            var storageError: String?
        }
        let values: Locked<Values>
        init(lastSeq: Int64) { values = Locked(Values(lastSeq: lastSeq)) }
        func update<T>(_ body: (inout Values) -> T) -> T { values.withLock { body(&$0) } }
    }

    /// Where a resumed run picks up, as the task's `resume` member tells the driver.
    struct ResumePoint {
        var checkpoint: CheckpointRecord
        /// The driver's own events stored after the checkpoint (host events not counted).
        var eventsAfterCheckpoint: Int
    }

    func run(session: SessionRecord, agent: AgentRecord, lease: AccountLease?, checkpoint: CheckpointRecord?,
             control: SessionControl) async -> SessionRunOutcome {
        defer { control.finish() }
        guard let plugin = catalog.plugin(driverID: agent.driverID) else {
            return .failed("driver '\(agent.driverID)' is not loaded")
        }
        if let path = agent.workspace, let problem = workspaceProblem(path) {
            return .failed("the agent's workspace \(path) \(problem); give the agent another (PATCH /api/agents/\(agent.id)) and run the task again")
        }
        let instance: DriverInstance
        do {
            instance = try await plugin.createInstance(configJSON: agent.configJSON)
        } catch {
            return .failed("the driver refused the agent's configuration: \(error.description)")
        }
        // destroy joins the driver's threads: it runs on the instance's own thread, never waited for here.
        defer { instance.retire() }
        let resumable = instance.supportsCheckpoints
        control.setSupportsCheckpoints(resumable)

        let workspace = agent.workspace.map { URL(fileURLWithPath: $0) } ?? defaultWorkspace(agent)
        do {
            try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
        } catch {
            return .failed("cannot create the workspace \(workspace.path): \((error as NSError).localizedDescription)")
        }
        var resumePoint: ResumePoint?
        if let checkpoint, resumable {
            do {
                resumePoint = ResumePoint(checkpoint: checkpoint,
                                          eventsAfterCheckpoint: try await store.driverEventCount(sessionID: session.id, afterSeq: checkpoint.seq))
            } catch {
                return .failed("cannot read the session's events: \(error)")
            }
        }
        let task = Self.taskJSON(session: session, workspace: workspace, lease: lease, resume: resumePoint)
        let run: DriverRun
        do {
            if let resumePoint {
                run = try await instance.resumeRun(taskJSON: task, state: resumePoint.checkpoint.state)
            } else {
                run = try await instance.startRun(taskJSON: task)
            }
        } catch {
            return .failed(error.description)
        }
        let state = RunState(lastSeq: session.lastSeq)
        var started: [String: Any] = ["driver": agent.driverID, "run_id": Int(run.id), "workspace": workspace.path]
        if let resumePoint {
            started["resumed_from_seq"] = Int(resumePoint.checkpoint.seq)
            started["events_after_checkpoint"] = resumePoint.eventsAfterCheckpoint
        }
        if let lease { started["account"] = "\(lease.provider)/\(lease.label)" }
        do {
            let record = try await log.appendHostEvent(sessionID: session.id, type: "host.run.started", started)
            state.update { $0.lastSeq = record.seq }
        } catch {
            run.finish()
            return .failed("cannot store events: \(error)")
        }

        let environment = agent.environment
        let network = agent.network ?? limits.sandboxNetwork
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await listen(control: control, instance: instance, run: run, session: session, state: state)
            }
            await consume(run: run, session: session, workspace: workspace, environment: environment, network: network, state: state,
                          group: &group)
            control.finish()
            group.cancelAll()
        }
        if Task.isCancelled, state.update({ $0.terminal == nil }) { return .interrupted }
        return Self.outcome(state: state.update { $0 }, lease: lease)
    }

    /// Reads what the driver hands over until its terminal event (or until the host gives up).
    private func consume(run: DriverRun, session: SessionRecord, workspace: URL, environment: [String: String], network: Bool, state: RunState,
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
                case .event(let event):
                    pending.append(NewEvent(sessionID: session.id, type: event.type, payload: event.json))
                    if event.type == "rate_limited" { state.update { $0.rateLimitUntil = Self.rateLimitEnd(event.json) } }
                    if event.type == "account_unusable", let unusable = Self.accountUnusable(event.json) {
                        state.update { $0.accountUnusable = unusable }
                    }
                    if event.isTerminal {
                        state.update { $0.terminal = (event.type, Self.errorText(event.json)) }
                        run.finish()
                        _ = await flush()
                        break reading
                    }
                case .refusedEvent(let problem, let excerpt):
                    pending.append(NewEvent(sessionID: session.id, type: "host.driver_error",
                                            payload: HostJSON.encode(["type": "host.driver_error", "problem": problem, "excerpt": excerpt])))
                case .command(let command):
                    guard await flush() else { command.close(); break reading }
                    group.addTask {
                        let result = await gate.handle(command.request, sessionID: session.id, workspace: workspace, environment: environment,
                                                     network: network)
                        if run.isFinished { command.close() } else { command.complete(resultJSON: result) }
                    }
                case .checkpoint(let bytes):
                    guard await flush() else { break reading }
                    let seq = state.update { $0.lastSeq }
                    do {
                        try await store.saveCheckpoint(sessionID: session.id, seq: seq, state: bytes)
                        let record = try await log.appendHostEvent(sessionID: session.id, type: "host.checkpoint", ["seq": Int(seq), "bytes": bytes.count])
                        state.update { $0.lastSeq = record.seq }
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

    /// Applies cancel, pause and shutdown requests while the run goes on. After the first request
    /// that stops the run, the driver has a grace period to end with its terminal event; then the
    /// host gives up on the run.
    private func listen(control: SessionControl, instance: DriverInstance, run: DriverRun, session: SessionRecord, state: RunState) async {
        for await request in control.requests {
            switch request {
            case .cancel:
                state.update { $0.cancelRequested = true }
            case .pause, .shutdown:
                do {
                    let bytes = try await instance.checkpoint(runID: run.id)
                    let seq = state.update { $0.lastSeq }
                    try await store.saveCheckpoint(sessionID: session.id, seq: seq, state: bytes)
                    state.update {
                        if request == .pause { $0.pauseCheckpointSaved = true } else { $0.shutdownCheckpointSaved = true }
                    }
                } catch {
                    logger.warning("cannot save a checkpoint", metadata: ["flywheel.session.id": .string(session.id), "error": .string("\(error)")])
                    guard request == .shutdown else { continue }
                }
                if request == .shutdown { state.update { $0.shutdownRequested = true } }
            }
            do {
                try await instance.cancelRun(run.id)
            } catch {
                logger.warning("the driver refused cancel", metadata: ["flywheel.session.id": .string(session.id), "error": .string("\(error)")])
            }
            do {
                try await Task.sleep(for: limits.cancelGrace)
            } catch {
                return
            }
            run.finish()
            return
        }
    }

    static func outcome(state: RunState.Values, lease: AccountLease?) -> SessionRunOutcome {
        if let error = state.storageError { return .failed(error) }
        let endedOnItsOwn = state.terminal?.type == "completed" || state.terminal?.type == "failed"
        if state.shutdownRequested, !endedOnItsOwn, !state.cancelRequested { return .stopped(checkpointed: state.shutdownCheckpointSaved) }
        if state.pauseCheckpointSaved, !endedOnItsOwn, !state.cancelRequested { return .paused }
        switch state.terminal?.type {
        case "completed": return .done
        case "cancelled": return state.cancelRequested ? .cancelled : .failed("the driver cancelled the run on its own")
        case "failed":
            // Cancelled by an operator: whatever the run's last words, the session ends cancelled,
            // never queued again to fail over.
            if state.cancelRequested { return .cancelled }
            let error = state.terminal?.error ?? "the driver reported a failure"
            if let unusable = state.accountUnusable, let lease {
                return .accountUnusable(accountID: lease.accountID, status: unusable.status, reason: unusable.reason, error: error)
            }
            if let until = state.rateLimitUntil, let lease { return .rateLimited(accountID: lease.accountID, until: until, error: error) }
            return .failed(error)
        default:
            return state.cancelRequested ? .cancelled : .failed("the driver ended the run without a terminal event")
        }
    }

    static func taskJSON(session: SessionRecord, workspace: URL, lease: AccountLease?, resume: ResumePoint? = nil) -> String {
        var task: [String: Any] = ["schema": "flywheel.task/1", "session_id": session.id, "prompt": session.task, "workspace": workspace.path]
        if let resume {
            task["resume"] = ["checkpoint_seq": Int(resume.checkpoint.seq), "events_after_checkpoint": resume.eventsAfterCheckpoint]
        }
        if let lease {
            let credentials = (try? JSONSerialization.jsonObject(with: Data(lease.credentialsJSON.utf8))) ?? lease.credentialsJSON
            task["account"] = ["provider": lease.provider, "label": lease.label, "credentials": credentials]
        }
        return HostJSON.encode(task)
    }

    static func rateLimitEnd(_ json: String, now: Date = Date()) -> Date {
        let object = (try? JSONValue.parse(Array(json.utf8)))?.objectValue ?? [:]
        return RateLimitSignal.cooldownEnd(retryAfterSeconds: object["retry_after_seconds"]?.numberValue,
                                           resetAt: object["reset_at"]?.stringValue, now: now)
    }

    /// An `account_unusable` event's status and reason (the parser checked both are there).
    static func accountUnusable(_ json: String) -> (status: AccountRecord.Status, reason: String)? {
        guard let object = (try? JSONValue.parse(Array(json.utf8)))?.objectValue,
              let status = object["status"]?.stringValue.flatMap(AccountRecord.Status.init(rawValue:)),
              let reason = object["reason"]?.stringValue else { return nil }
        return (status, String(reason.prefix(1_000)))
    }

    static func errorText(_ json: String) -> String? {
        (try? JSONValue.parse(Array(json.utf8)))?.objectValue?["error"]?.stringValue
    }
}
