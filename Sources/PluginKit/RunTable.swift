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
        let control = register(run)
        let thread = Thread { [self] in
            finish(control, control.isCancelled ? .cancelled : body(control))
        }
        thread.name = "flywheel-run-\(run.id)"
        thread.start()
    }

    /// Starts `body` for `run` as a task and returns at once. Cancelling the run cancels the task,
    /// so an `await` that honours cancellation (an HTTP request, a sleep) ends at once. The task
    /// prefers a thread of its own as its executor, never Swift's cooperative pool, because emit
    /// may wait for the host (see ``ThreadExecutor``).
    public func startTask(_ run: DriverRun, _ body: @escaping @Sendable (RunControl) async -> DriverEvent) {
        let control = register(run)
        let executor = ThreadExecutor(name: "flywheel-run-\(run.id)")
        let task = Task(executorPreference: executor) { [self] in
            finish(control, control.isCancelled ? .cancelled : await body(control))
            executor.stop()
        }
        control.onCancel { task.cancel() }
    }

    private func register(_ run: DriverRun) -> RunControl {
        let control = RunControl(run: run)
        condition.lock()
        active[run.id] = control
        condition.unlock()
        return control
    }

    private func finish(_ control: RunControl, _ event: DriverEvent) {
        var terminal = event
        if !terminal.isTerminal { terminal = .failed(error: "the driver ended a run without a terminal event", retryable: false) }
        // The terminal event goes out before the run leaves the table: `shutdown` waits for the
        // table to empty, so it can never return while this emit still uses the host's run struct.
        // A cancel racing with the end finds the run and only sets a flag nobody reads any more.
        control.run.emit(terminal)
        condition.lock()
        active[control.run.id] = nil
        condition.broadcast()
        condition.unlock()
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
    /// Called once on cancel; set at most once, before or after the cancel.
    private let handler = Mutex<(@Sendable () -> Void)?>(nil)

    init(run: DriverRun) {
        self.run = run
    }

    public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    func cancel() {
        cancelled.store(true, ordering: .releasing)
        handler.withLock { $0.take() }?()
    }

    /// Calls `body` when the run is cancelled, or at once when it already was.
    func onCancel(_ body: @escaping @Sendable () -> Void) {
        handler.withLock { $0 = body }
        if isCancelled { handler.withLock { $0.take() }?() }
    }
}
