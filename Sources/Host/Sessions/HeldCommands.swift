import Foundation
import Synchronization

/// Where held commands (policy `ask`) wait for their answer. An answer is recorded in the store
/// first (compare-and-set, once) and then announced here, which wakes the waiting command at once:
/// no polling. Answers from other processes reach this process through its control socket.
final class HeldCommands: Sendable {
    private let waiters = Locked<[String: CheckedContinuation<Void, Never>]>([:])
    private let announced = Locked<Set<String>>([])

    /// Waits until `id` is announced, `deadline` passes or the task is cancelled, whichever is first.
    func wait(for id: String, until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await Task.sleep(until: deadline)
                    self.announce(id)
                } catch {
                    // The wait ended first.
                }
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = announced.withLock { $0.remove(id) != nil } || Task.isCancelled
                    if ready {
                        continuation.resume()
                    } else {
                        waiters.withLock { $0[id] = continuation }
                        // An announcement between the check and the registration must not be lost.
                        if announced.withLock({ $0.remove(id) != nil }) { self.resume(id) }
                    }
                }
            } onCancel: {
                self.announce(id)
            }
            group.cancelAll()
        }
        _ = announced.withLock { $0.remove(id) }
    }

    /// Wakes the command waiting for `id`, if one is.
    func announce(_ id: String) {
        if !resume(id) { _ = announced.withLock { $0.insert(id) } }
    }

    @discardableResult
    private func resume(_ id: String) -> Bool {
        guard let continuation = waiters.withLock({ $0.removeValue(forKey: id) }) else { return false }
        continuation.resume()
        return true
    }
}
