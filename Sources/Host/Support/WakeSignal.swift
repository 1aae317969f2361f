import Synchronization

/// Wakes one waiting task; a signal sent while nobody waits is kept for the next wait. A wait with
/// a deadline arms one timer for that wait only, so timers never pile up.
final class WakeSignal: Sendable {
    private struct State {
        var waiter: CheckedContinuation<Void, Never>?
        var signalled = false
    }

    private let state = Locked(State())
    private let armed = Atomic<Int>(0)

    /// Timers armed by waits still in progress: at most one per waiter, none once every wait ended.
    var armedTimers: Int { armed.load(ordering: .relaxed) }

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.signalled = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns on a signal, at `deadline` (if any), or when the task is cancelled.
    func wait(until deadline: ContinuousClock.Instant?) async {
        await withTaskGroup(of: Void.self) { group in
            if let deadline {
                group.addTask {
                    self.armed.add(1, ordering: .relaxed)
                    defer { self.armed.subtract(1, ordering: .relaxed) }
                    do {
                        try await Task.sleep(until: deadline)
                        self.signal()
                    } catch {
                        // The wait ended first.
                    }
                }
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let now = state.withLock { state -> Bool in
                        if state.signalled || Task.isCancelled {
                            state.signalled = false
                            return true
                        }
                        state.waiter = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            } onCancel: {
                self.signal()
            }
            group.cancelAll()
        }
    }
}
