import Synchronization

/// Bounds how many agent commands run at once, per session and in all. Waiting for a slot
/// suspends the task (never a thread) and ends at once when the task is cancelled.
final class CommandSlots: Sendable {
    struct Limits: Sendable {
        var total: Int
        var perSession: Int
    }

    private struct Waiter {
        var id: UInt64
        var sessionID: String
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var running = 0
        var perSession: [String: Int] = [:]
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    private let limits: Limits
    private let state = Locked(State())

    init(_ limits: Limits) {
        self.limits = Limits(total: max(1, limits.total), perSession: max(1, limits.perSession))
    }

    /// Waits for a slot for `sessionID`; throws `CancellationError` when cancelled while waiting.
    func acquire(sessionID: String) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let granted = state.withLock { state -> Bool in
                    if Task.isCancelled { return false }
                    // First come, first served within a session.
                    if !state.waiters.contains(where: { $0.sessionID == sessionID }), canRun(sessionID, state) {
                        take(sessionID, &state)
                        return true
                    }
                    state.waiters.append(Waiter(id: id, sessionID: sessionID, continuation: continuation))
                    return false
                }
                if granted {
                    continuation.resume()
                } else if Task.isCancelled, !state.withLock({ $0.waiters.contains { $0.id == id } }) {
                    continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Gives a slot back and hands it to the first waiter that may run now.
    func release(sessionID: String) {
        let woken = state.withLock { state -> [Waiter] in
            state.running -= 1
            state.perSession[sessionID, default: 1] -= 1
            if state.perSession[sessionID] == 0 { state.perSession[sessionID] = nil }
            var woken: [Waiter] = []
            var index = 0
            while index < state.waiters.count {
                let waiter = state.waiters[index]
                if canRun(waiter.sessionID, state) {
                    take(waiter.sessionID, &state)
                    woken.append(state.waiters.remove(at: index))
                } else {
                    index += 1
                }
            }
            return woken
        }
        for waiter in woken { waiter.continuation.resume() }
    }

    var running: Int { state.withLock { $0.running } }

    private func canRun(_ sessionID: String, _ state: State) -> Bool {
        state.running < limits.total && state.perSession[sessionID, default: 0] < limits.perSession
    }

    private func take(_ sessionID: String, _ state: inout State) {
        state.running += 1
        state.perSession[sessionID, default: 0] += 1
    }
}
