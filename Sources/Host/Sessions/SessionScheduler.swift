import Foundation
import Logging

/// Starts queued sessions within the global and per-agent limits, leases accounts for drivers that
/// need one, applies each run's outcome to the session's state, and carries operators' cancel,
/// pause and resume requests to running sessions. Every transition goes through the store (which
/// enforces the state machine) and is recorded as a `host.session.state` event.
public actor SessionScheduler {
    public enum ControlError: Error, Sendable, CustomStringConvertible {
        case notFound(String)
        case illegal(IllegalSessionTransition)
        case pauseUnsupported(driverID: String)

        public var description: String {
            switch self {
            case .notFound(let id): "session \(id) not found"
            case .illegal(let transition): transition.description
            case .pauseUnsupported(let driver): "driver \(driver) cannot save its state, so its sessions cannot be paused"
            }
        }
    }

    private let runner: SessionRunner
    private let store: any GatewayStore
    private let log: SessionEventLog
    private let accounts: AccountPool?
    private let limits: SessionLimits
    private let logger: Logger

    private var running: [String: (agentID: String, control: SessionControl)] = [:]
    private var resumeRequested: Set<String> = []
    private var waiter: CheckedContinuation<Void, Never>?
    private var signalled = false
    /// How often the queue is looked at even without a wake-up (sessions queued by another process).
    private let pollInterval: Duration

    public init(runner: SessionRunner, accounts: AccountPool?, pollInterval: Duration = .seconds(1)) {
        self.runner = runner
        self.store = runner.store
        self.log = runner.log
        self.accounts = accounts
        self.limits = runner.limits
        self.logger = runner.logger
        self.pollInterval = pollInterval
    }

    // MARK: Requests

    /// Creates a session for an agent and queues it.
    public func submit(agentID: String, task: String) async throws -> SessionRecord {
        let session = try await store.createSession(SessionRecord(agentID: agentID, task: task))
        try await transition(session.id, to: .queued)
        wake()
        return try await store.session(id: session.id) ?? session
    }

    /// Cancels a session: a running one is asked to stop; one that is not running ends at once.
    public func cancel(sessionID: String) async throws {
        if let entry = running[sessionID] {
            entry.control.send(.cancel)
            return
        }
        try await transitionOrThrow(sessionID, to: .cancelled, error: "cancelled by an operator")
    }

    /// Pauses a running session: its driver's state is saved as a checkpoint and the run stops.
    public func pause(sessionID: String) async throws {
        guard let session = try await store.session(id: sessionID) else { throw ControlError.notFound(sessionID) }
        guard let entry = running[sessionID], session.state == .running else {
            throw ControlError.illegal(IllegalSessionTransition(sessionID: sessionID, from: session.state, to: .paused))
        }
        let agent = try await store.agent(id: session.agentID)
        let supports = agent.flatMap { runner.catalog.plugin(driverID: $0.driverID) }.map { plugin -> Bool in
            guard let instance = try? plugin.makeDriver(configJSON: agent?.configJSON ?? "{}") else { return false }
            defer { instance.destroy() }
            return instance.supportsCheckpoints
        } ?? false
        guard supports else { throw ControlError.pauseUnsupported(driverID: agent?.driverID ?? "?") }
        entry.control.send(.pause)
    }

    /// Resumes a paused session from its checkpoint as soon as limits allow.
    public func resume(sessionID: String) async throws {
        guard let session = try await store.session(id: sessionID) else { throw ControlError.notFound(sessionID) }
        guard session.state == .paused else {
            throw ControlError.illegal(IllegalSessionTransition(sessionID: sessionID, from: session.state, to: .running))
        }
        resumeRequested.insert(sessionID)
        wake()
    }

    public var runningSessionIDs: Set<String> { Set(running.keys) }

    // MARK: The loop

    /// Schedules until the task is cancelled; running sessions are then interrupted and left
    /// `running` for recovery at the next start.
    public func run() async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let nextWake = await schedulePass(group: &group)
                let delay = nextWake.map { max(.milliseconds(10), min(pollInterval, Duration.seconds($0.timeIntervalSinceNow))) } ?? pollInterval
                group.addTask { [weak self] in
                    try? await Task.sleep(for: delay)
                    await self?.wake()
                }
                await sleepUntilWoken()
            }
        }
    }

    public func wake() {
        if let waiter {
            self.waiter = nil
            waiter.resume()
        } else {
            signalled = true
        }
    }

    private func sleepUntilWoken() async {
        if signalled {
            signalled = false
            return
        }
        await withCheckedContinuation { waiter = $0 }
    }

    /// Starts what can start now; returns when a waiting session's account frees up, if any does.
    private func schedulePass(group: inout DiscardingTaskGroup) async -> Date? {
        var nextWake: Date?
        let candidates: [SessionRecord]
        do {
            let queued = try await store.sessions(in: [.queued])
            let paused = resumeRequested.isEmpty ? [] : try await store.sessions(in: [.paused]).filter { resumeRequested.contains($0.id) }
            candidates = paused + queued
        } catch {
            if !Task.isCancelled { logger.error("cannot read the session queue", metadata: ["error": .string("\(error)")]) }
            return nil
        }
        for session in candidates where running[session.id] == nil {
            guard running.count < limits.maxConcurrentSessions else { break }
            let perAgent = running.values.filter { $0.agentID == session.agentID }.count
            if perAgent >= limits.maxConcurrentSessionsPerAgent {
                await setWaiting(session, "agent already runs \(perAgent) session(s), its limit")
                continue
            }
            do {
                guard let agent = try await store.agent(id: session.agentID) else {
                    try await transition(session.id, to: .failed, error: "agent \(session.agentID) no longer exists")
                    continue
                }
                guard agent.status == .active else {
                    await setWaiting(session, "agent \(agent.name) is disabled")
                    continue
                }
                guard let plugin = runner.catalog.plugin(driverID: agent.driverID) else {
                    try await transition(session.id, to: .failed, error: "driver '\(agent.driverID)' is not loaded")
                    continue
                }
                var lease: AccountLease?
                if let provider = plugin.descriptor.accountProvider {
                    guard let accounts else {
                        try await transition(session.id, to: .failed, error: "driver \(agent.driverID) needs a \(provider) account and no account pool is configured")
                        continue
                    }
                    lease = try await accounts.lease(provider: provider)
                    if lease == nil {
                        if let next = try await accounts.nextAvailableAt(provider: provider) {
                            nextWake = min(nextWake ?? next, next)
                            await setWaiting(session, "waiting for a \(provider) account: all are cooling down until \(ISO8601DateFormatter().string(from: next))")
                        } else {
                            await setWaiting(session, "waiting for a \(provider) account: none is configured or enabled")
                        }
                        continue
                    }
                }
                let checkpoint = try await store.latestCheckpoint(sessionID: session.id)
                try await transition(session.id, to: .running, accountID: .some(lease?.accountID))
                resumeRequested.remove(session.id)
                let control = SessionControl()
                running[session.id] = (session.agentID, control)
                let current = try await store.session(id: session.id) ?? session
                let runner = self.runner
                group.addTask { [weak self] in
                    let outcome = await runner.run(session: current, agent: agent, lease: lease, checkpoint: checkpoint, control: control)
                    await self?.finished(sessionID: session.id, outcome: outcome)
                }
            } catch {
                logger.error("cannot start a session", metadata: ["flywheel.session.id": .string(session.id), "error": .string("\(error)")])
            }
        }
        return nextWake
    }

    private func finished(sessionID: String, outcome: SessionRunOutcome) async {
        running[sessionID] = nil
        do {
            switch outcome {
            case .done: try await transition(sessionID, to: .done)
            case .failed(let error): try await transition(sessionID, to: .failed, error: error)
            case .cancelled: try await transition(sessionID, to: .cancelled, error: "cancelled by an operator")
            case .paused: try await transition(sessionID, to: .paused)
            case .rateLimited(let accountID, let until, let error):
                try await accounts?.coolDown(accountID: accountID, until: until)
                try await log.appendHostEvent(sessionID: sessionID, type: "host.account.cooldown", [
                    "account_id": accountID, "until": ISO8601DateFormatter().string(from: until), "error": error,
                ])
                try await transition(sessionID, to: .queued, accountID: .some(nil))
            case .interrupted:
                break
            }
        } catch {
            logger.error("cannot record a session's outcome", metadata: ["flywheel.session.id": .string(sessionID), "error": .string("\(error)")])
        }
        wake()
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

    private func transitionOrThrow(_ id: String, to state: SessionState, error: String? = nil) async throws {
        do {
            try await transition(id, to: state, error: error)
        } catch let illegal as IllegalSessionTransition {
            throw ControlError.illegal(illegal)
        } catch let storeError as StoreError where storeError.kind == .notFound {
            throw ControlError.notFound(id)
        }
    }

    private func transition(_ id: String, to state: SessionState, error: String? = nil, accountID: String?? = nil) async throws {
        let session = try await store.transitionSession(id: id, to: state, error: error, accountID: accountID)
        var payload: [String: Any] = ["state": state.rawValue]
        if let error = session.error, state == .failed || state == .cancelled { payload["error"] = error }
        try await log.appendHostEvent(sessionID: id, type: "host.session.state", payload)
    }
}
