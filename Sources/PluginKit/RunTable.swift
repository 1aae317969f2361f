import Foundation
import Synchronization

/// Runs each driver run on a thread of its own and keeps track of them, so `cancel` and `shutdown`
/// can be honoured. A run's body returns its terminal event; the table emits it.
public final class RunTable: @unchecked Sendable {
    private let condition = NSCondition()
    private var active: [UInt64: RunControl] = [:]

    public init() {}

    /// Starts `body` for `run` on a new thread and returns at once.
    public func start(_ run: DriverRun, _ body: @escaping @Sendable (RunControl) -> DriverEvent) {
        let control = RunControl(run: run)
        condition.lock()
        active[run.id] = control
        condition.unlock()
        let thread = Thread { [self] in
            var terminal = control.isCancelled ? .cancelled : body(control)
            if !terminal.isTerminal { terminal = .failed(error: "the driver ended a run without a terminal event", retryable: false) }
            // The terminal event goes out before the run leaves the table: `shutdown` waits for the
            // table to empty, so it can never return while this emit still uses the host's run struct.
            // A cancel racing with the end finds the run and only sets a flag nobody reads any more.
            run.emit(terminal)
            condition.lock()
            active[run.id] = nil
            condition.broadcast()
            condition.unlock()
        }
        thread.name = "flywheel-run-\(run.id)"
        thread.start()
    }

    /// Flags a run as cancelled; its body should notice through ``RunControl/isCancelled``.
    public func cancel(_ runID: UInt64) throws(DriverFailure) {
        condition.lock()
        let control = active[runID]
        condition.unlock()
        guard let control else { throw .notFound }
        control.cancel()
    }

    /// Cancels every run and waits until each has emitted its terminal event.
    public func shutdown() {
        condition.lock()
        for control in active.values { control.cancel() }
        while !active.isEmpty { condition.wait() }
        condition.unlock()
    }
}

/// One run's handle for its body: the host side and a cancellation flag.
public final class RunControl: Sendable {
    public let run: DriverRun
    private let cancelled = Atomic<Bool>(false)

    init(run: DriverRun) {
        self.run = run
    }

    public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    func cancel() {
        cancelled.store(true, ordering: .releasing)
    }
}
