import Foundation
import Logging
import Synchronization

/// Starts queued sessions within the global and per-agent limits, leases accounts for drivers that
/// need one, applies each run's outcome to the session's state, and carries cancel, pause and resume
/// to running sessions.
///
/// Every state change is compare-and-set in the store, committed with its `host.session.state`
/// event. A session being started is registered before its start is written, so a cancel that
/// arrives meanwhile either finds it registered (and the run is stopped before it starts) or finds
/// it still queued (and the start's compare-and-set loses): never both a cancelled session and a run.
public actor SessionScheduler {
    /// Which sessions this scheduler runs.
    public enum Scope: Sendable {
        /// Every queued session (`flywheel serve`).
        case all
        /// Only these (`flywheel sessions run`); others stay queued for a host that runs all.
        case only(Set<String>)

        func includes(_ id: String) -> Bool {
            switch self {
            case .all: true
            case .only(let ids): ids.contains(id)
            }
        }
    }

    private struct Entry {
        var agentID: String
        var control: SessionControl
        var started = false
        var cancelRequested = false
    }

    private let runner: SessionRunner
    private let store: any GatewayStore
    private let log: SessionEventLog
    private let accounts: AccountPool?
    private let limits: SessionLimits
    private let logger: Logger
    private var scope: Scope

    private var active: [String: Entry] = [:]
    /// Accounts each running session's runs took out of rotation (`account_unusable`), in this process.
    private var accountsLost: [String: Int] = [:]
    /// After this many, the session fails instead of failing over again.
    static let accountsLostPerSession = 3
    private let shutdownRequested = Atomic<Bool>(false)
    private var shuttingDown: Bool { shutdownRequested.load(ordering: .acquiring) }
    private let wakeSignal = WakeSignal()
    /// How often the queue is looked at without a wake-up (a safety net; every change in this
    /// process wakes the scheduler itself).
    private let pollInterval: Duration

    public init(runner: SessionRunner, accounts: AccountPool?, scope: Scope = .all, pollInterval: Duration = .seconds(5)) {
        self.runner = runner
        self.store = runner.store
        self.log = runner.log
        self.accounts = accounts
        self.limits = runner.limits
        self.logger = runner.logger
        self.scope = scope
        self.pollInterval = pollInterval
    }

    // MARK: Requests

    /// Creates a session for an agent and queues it.
    public func submit(agentID: String, task: String) async throws -> SessionRecord {
        let session = try await store.createSession(SessionRecord(agentID: agentID, task: task))
        include(session.id)
        let queued = try await log.transition(SessionTransition(sessionID: session.id, to: .queued, expected: [.created]))
        wake()
        return queued
    }

    /// Cancels a session: a running (or starting) one is asked to stop; one that is not running
    /// ends at once. Returns the session as it is after the request.
    @discardableResult
    public func cancel(sessionID: String) async throws -> SessionRecord {
        if let session = requestCancel(sessionID) { return try await afterCancelRequest(session) }
        _ = try await current(sessionID)
        do {
            // Only a session that no run owns ends here; a running one is this scheduler's to stop.
            let session = try await log.transition(SessionTransition(sessionID: sessionID, to: .cancelled, expected: [.created, .queued, .paused],
                                                                     error: "cancelled by an operator"))
            wake()
            return session
        } catch let illegal as IllegalSessionTransition where illegal.from == .running {
            // It started while this request waited for the store.
            if let session = requestCancel(sessionID) { return try await afterCancelRequest(session) }
            // Running with no run in this process: left by a host that stopped, not yet recovered.
            return try await log.transition(SessionTransition(sessionID: sessionID, to: .cancelled, expected: [.running],
                                                              error: "cancelled by an operator", note: ["reason": "no process was running it"]))
        }
    }

    /// The session once its run was asked to stop. A run that had already ended another way (it
    /// was finishing when the request came) refuses the cancel as any ended session does.
    private func afterCancelRequest(_ sessionID: String) async throws -> SessionRecord {
        let session = try await current(sessionID)
        if session.state.isTerminal, session.state != .cancelled {
            throw IllegalSessionTransition(sessionID: sessionID, from: session.state, to: .cancelled)
        }
        return session
    }

    /// Asks the run of a session this scheduler is starting or running to stop; nil when it has none.
    private func requestCancel(_ sessionID: String) -> String? {
        guard active[sessionID] != nil else { return nil }
        active[sessionID]?.cancelRequested = true
        active[sessionID]?.control.send(.cancel)
        return sessionID
    }

    /// Pauses a running session: its driver's state is saved as a checkpoint and the run stops.
    @discardableResult
    public func pause(sessionID: String) async throws -> SessionRecord {
        let session = try await current(sessionID)
        guard let entry = active[sessionID], entry.started, session.state == .running else {
            throw IllegalSessionTransition(sessionID: sessionID, from: session.state, to: .paused)
        }
        guard entry.control.supportsCheckpoints != false else {
            let agent = try await store.agent(id: session.agentID)
            throw PauseUnsupported(sessionID: sessionID, driverID: agent?.driverID ?? "?")
        }
        entry.control.send(.pause)
        return session
    }

    /// Resumes a paused session: it is queued again at once and starts from its checkpoint as soon
    /// as limits allow (in this scheduler if its scope takes it, else in a host that runs all).
    @discardableResult
    public func resume(sessionID: String) async throws -> SessionRecord {
        _ = try await current(sessionID)
        let session = try await log.transition(SessionTransition(sessionID: sessionID, to: .queued, expected: [.paused],
                                                                 note: ["reason": "resumed by an operator"]))
        wake()
        return session
    }

    /// Brings a session this process submitted into a limited scope.
    private func include(_ sessionID: String) {
        if case .only(var ids) = scope {
            ids.insert(sessionID)
            scope = .only(ids)
        }
    }

    public var runningSessionIDs: Set<String> { Set(active.filter(\.value.started).keys) }

    /// Whether this scheduler is running or starting the session.
    public func isActive(_ sessionID: String) -> Bool { active[sessionID] != nil }

    // MARK: The loop

    /// Schedules until shutdown. A graceful shutdown (``beginShutdown()``) stops taking work and
    /// stops every run (checkpointed where the driver can, and queued again; otherwise failed with
    /// the reason), then returns. Task cancellation interrupts runs at once and leaves them
    /// `running` for recovery at the next start.
    public func run() async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                if shuttingDown {
                    for entry in active.values { entry.control.send(.shutdown) }
                    if active.isEmpty { break }
                    await wakeSignal.wait(until: nil)
                    continue
                }
                let nextWake = await schedulePass(group: &group)
                var deadline = ContinuousClock.now + pollInterval
                if let nextWake {
                    deadline = min(deadline, ContinuousClock.now + .milliseconds(max(10, Int64(nextWake.timeIntervalSinceNow * 1000))))
                }
                await wakeSignal.wait(until: deadline)
            }
        }
    }

    /// Stops taking work and asks every run to stop; ``run()`` returns once they have.
    public nonisolated func beginShutdown() {
        shutdownRequested.store(true, ordering: .releasing)
        wake()
    }

    public nonisolated func wake() {
        wakeSignal.signal()
    }

    /// Starts what can start now; returns when a waiting session's account frees up, if any does.
    private func schedulePass(group: inout DiscardingTaskGroup) async -> Date? {
        var nextWake: Date?
        let candidates: [SessionRecord]
        do {
            candidates = try await store.sessions(in: [.queued]).filter { scope.includes($0.id) }
        } catch {
            if !Task.isCancelled { logger.error("cannot read the session queue", metadata: ["error": .string("\(error)")]) }
            return nil
        }
        for session in candidates where active[session.id] == nil {
            guard !shuttingDown, active.count < limits.maxConcurrentSessions else { break }
            let perAgent = active.values.filter { $0.agentID == session.agentID }.count
            if perAgent >= limits.maxConcurrentSessionsPerAgent {
                await setWaiting(session, "agent already runs \(perAgent) session(s), its limit")
                continue
            }
            do {
                if let wake = try await start(session, group: &group) {
                    nextWake = min(nextWake ?? wake, wake)
                }
            } catch {
                logger.error("cannot start a session", metadata: ["flywheel.session.id": .string(session.id), "error": .string("\(error)")])
            }
        }
        return nextWake
    }

    /// Starts one session, or records why it waits; returns when it should be looked at again.
    private func start(_ session: SessionRecord, group: inout DiscardingTaskGroup) async throws -> Date? {
        let from = session.state
        guard let agent = try await store.agent(id: session.agentID) else {
            try await fail(session, from: from, "agent \(session.agentID) no longer exists")
            return nil
        }
        guard agent.status == .active else {
            await setWaiting(session, "agent \(agent.name) is disabled")
            return nil
        }
        guard let plugin = runner.catalog.plugin(driverID: agent.driverID) else {
            try await fail(session, from: from, "driver '\(agent.driverID)' is not loaded")
            return nil
        }
        let provider: String?
        do {
            provider = try await plugin.accountProvider(configJSON: agent.configJSON)
        } catch {
            try await fail(session, from: from, "the driver refused the agent's configuration: \(error.description)")
            return nil
        }
        var lease: AccountLease?
        if let provider {
            guard let accounts else {
                try await fail(session, from: from, "driver \(agent.driverID) needs a \(provider) account and no account pool is configured")
                return nil
            }
            lease = try await accounts.lease(provider: provider)
            if lease == nil {
                if let next = try await accounts.nextAvailableAt(provider: provider) {
                    await setWaiting(session, "waiting for a \(provider) account: all are cooling down until \(ISO8601DateFormatter().string(from: next))")
                    return next
                }
                await setWaiting(session, "waiting for a \(provider) account: none is configured or enabled")
                return nil
            }
        }
        let checkpoint = try await store.latestCheckpoint(sessionID: session.id)
        guard active[session.id] == nil else { return nil }
        // Registered before the start is written: a cancel from here on reaches this entry.
        let control = SessionControl()
        active[session.id] = Entry(agentID: session.agentID, control: control)
        let running: SessionRecord
        do {
            running = try await log.transition(SessionTransition(sessionID: session.id, to: .running, expected: [from],
                                                                 accountID: .some(lease?.accountID)))
        } catch {
            active[session.id] = nil
            if error is IllegalSessionTransition { return nil }  // Cancelled (or changed) meanwhile: it lost cleanly.
            throw error
        }
        if active[session.id]?.cancelRequested == true {
            // Still registered while the cancel is written, so another cancel finds it and waits its turn.
            defer { active[session.id] = nil }
            try await log.transition(SessionTransition(sessionID: session.id, to: .cancelled, expected: [.running],
                                                       error: "cancelled by an operator", note: ["reason": "cancelled before its run started"]))
            return nil
        }
        active[session.id]?.started = true
        let runner = self.runner
        group.addTask { [weak self] in
            let outcome = await runner.run(session: running, agent: agent, lease: lease, checkpoint: checkpoint, control: control)
            await self?.finished(sessionID: session.id, outcome: outcome)
        }
        return nil
    }

    private func finished(sessionID: String, outcome: SessionRunOutcome) async {
        // Still registered while the outcome is written: a cancel meanwhile goes to the ended run,
        // not around it.
        defer {
            active[sessionID] = nil
            wake()
        }
        let log = self.log, accounts = self.accounts
        func move(_ state: SessionState, error: String? = nil, accountID: String?? = nil, note: [String: String] = [:]) async throws {
            try await log.transition(SessionTransition(sessionID: sessionID, to: state, expected: [.running], error: error,
                                                       accountID: accountID, note: note))
        }
        switch outcome {
        case .accountUnusable, .rateLimited, .interrupted: break
        default: accountsLost[sessionID] = nil
        }
        do {
            switch outcome {
            case .done: try await move(.done)
            case .failed(let error): try await move(.failed, error: error)
            case .cancelled: try await move(.cancelled, error: "cancelled by an operator")
            case .paused: try await move(.paused)
            case .rateLimited(let accountID, let until, let error):
                try await accounts?.coolDown(accountID: accountID, until: until)
                try await log.appendHostEvent(sessionID: sessionID, type: "host.account.cooldown", [
                    "account_id": accountID, "until": ISO8601DateFormatter().string(from: until), "error": error,
                ])
                try await move(.queued, accountID: .some(nil), note: ["reason": "failing over: the account hit a rate limit"])
            case .accountUnusable(let accountID, let status, let reason, let error):
                try await accounts?.takeOutOfRotation(accountID: accountID, status: status, reason: reason)
                try await log.appendHostEvent(sessionID: sessionID, type: "host.account.unusable", [
                    "account_id": accountID, "status": status.rawValue, "reason": reason, "error": error,
                ])
                let lost = accountsLost[sessionID, default: 0] + 1
                accountsLost[sessionID] = lost
                if lost >= Self.accountsLostPerSession {
                    // Accounts do not all go bad at once: more likely the agent points at the wrong
                    // place, and failing over would take the whole pool out.
                    accountsLost[sessionID] = nil
                    try await move(.failed, error: "\(lost) accounts were taken out of rotation by this session (the last: \(reason)); "
                        + "check the agent's configuration (provider, base_url) before enabling them again")
                } else {
                    try await move(.queued, accountID: .some(nil), note: ["reason": "failing over: the account was taken out of rotation (\(status.rawValue))"])
                }
            case .stopped(let checkpointed):
                if checkpointed {
                    try await move(.queued, accountID: .some(nil), note: ["reason": "the host stopped; the session resumes from its checkpoint at the next start"])
                } else {
                    try await move(.failed, error: "the host stopped before the run ended, and its driver cannot resume")
                }
            case .interrupted:
                break
            }
        } catch {
            logger.error("cannot record a session's outcome", metadata: ["flywheel.session.id": .string(sessionID), "error": .string("\(error)")])
        }
    }

    private func fail(_ session: SessionRecord, from: SessionState, _ reason: String) async throws {
        do {
            try await log.transition(SessionTransition(sessionID: session.id, to: .failed, expected: [from], error: reason))
        } catch is IllegalSessionTransition {
            // Changed meanwhile (cancelled, say): nothing left to fail.
        }
    }

    private func setWaiting(_ session: SessionRecord, _ reason: String) async {
        guard session.waitingReason != reason else { return }
        do {
            try await store.setWaitingReason(sessionID: session.id, reason)
            try await log.appendHostEvent(sessionID: session.id, type: "host.session.waiting", ["reason": reason])
        } catch {
            logger.error("cannot record a waiting reason", metadata: ["flywheel.session.id": .string(session.id), "error": .string("\(error)")])
        }
    }

    private func current(_ sessionID: String) async throws -> SessionRecord {
        guard let session = try await store.session(id: sessionID) else { throw SessionNotFound(sessionID: sessionID) }
        return session
    }

}
