import Dispatch
import Synchronization

/// The host's thread for one driver instance: every call into the driver (execute, resume, cancel,
/// checkpoint save, destroy) and every command callback runs here, one at a time, in the order it
/// was asked for. Driver code therefore never runs on Swift's cooperative pool, and a driver that
/// blocks stalls only its own instance.
final class DriverThread: Sendable {
    private let queue: DispatchQueue
    private let destroyed = Atomic<Bool>(false)

    private static let marker = DispatchSpecificKey<ObjectIdentifier>()

    init(label: String) {
        queue = DispatchQueue(label: "flywheel.driver.\(label)")
        queue.setSpecific(key: Self.marker, value: ObjectIdentifier(self))
    }

    /// Whether the caller already runs on this driver thread.
    private var isCurrent: Bool { DispatchQueue.getSpecific(key: Self.marker) == ObjectIdentifier(self) }

    /// Runs `body` on the driver thread and returns its result.
    func perform<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Runs `body` on the driver thread later, unless the instance was destroyed by then.
    func deliver(_ body: @escaping @Sendable () -> Void) {
        queue.async { [self] in
            guard !destroyed.load(ordering: .acquiring) else { return }
            body()
        }
    }

    /// Runs `prepare` on the driver thread, then, after everything `prepare` queued (the last
    /// command callbacks), `destroy`; nothing queued later reaches the driver.
    func shutDown(prepare: @escaping @Sendable () -> Void, destroy: @escaping @Sendable () -> Void) {
        queue.async { [self] in
            prepare()
            queue.async { [self] in
                destroyed.store(true, ordering: .releasing)
                destroy()
            }
        }
    }

    /// Runs `body` on the driver thread and waits for it: only for callers that are not on Swift's
    /// cooperative pool (the conformance exercise, plain threads).
    func performAndWait<T>(_ body: () throws -> T) rethrows -> T {
        if isCurrent { return try body() }
        return try queue.sync(execute: body)
    }
}
