import Foundation
import PluginABI

/// One run of a driver instance: the `flywheel_run_host_t` the driver talks to, and the queue of what
/// it handed over.
///
/// The C struct lives at a fixed address until the owning ``DriverInstance`` is destroyed, as the ABI
/// promises; this object owns it and the instance keeps this object alive until then.
public final class DriverRun: @unchecked Sendable {
    public let id: UInt64
    public let driverID: String
    let queue: RunQueue
    let runHost: UnsafeMutablePointer<flywheel_run_host_t>
    /// Where command callbacks are delivered: the instance's driver thread.
    let thread: DriverThread

    init(id: UInt64, driverID: String, queueCapacity: Int, thread: DriverThread) {
        self.id = id
        self.driverID = driverID
        self.thread = thread
        self.queue = RunQueue(capacity: queueCapacity)
        self.runHost = .allocate(capacity: 1)
        runHost.initialize(to: flywheel_run_host_t(
            struct_size: UInt32(MemoryLayout<flywheel_run_host_t>.size),
            reserved: 0,
            run_id: id,
            host_data: nil,
            emit: DriverRun.emitThunk,
            request_command: DriverRun.requestCommandThunk))
        runHost.pointee.host_data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        runHost.deinitialize(count: 1)
        runHost.deallocate()
    }

    /// Waits for what the driver handed over next, all of it at once; nil after ``finish()`` once
    /// everything queued before it was taken.
    public func next() async -> [DriverRunItem]? {
        await queue.next()
    }

    /// Ends the run from the host's side: later emits get `FLYWHEEL_ERR_CLOSED`. Command requests
    /// still queued are answered `FLYWHEEL_ERR_CLOSED`; other queued items are returned. (After the
    /// run's terminal event the run is already closed to the driver; this also stops the reader.)
    @discardableResult
    public func finish() -> [DriverRunItem] {
        var leftover: [DriverRunItem] = []
        for item in queue.close() {
            if case .command(let pending) = item { pending.close() } else { leftover.append(item) }
        }
        return leftover
    }

    public var isFinished: Bool { queue.isClosed }

    static func from(_ pointer: UnsafePointer<flywheel_run_host_t>?) -> DriverRun? {
        guard let data = pointer?.pointee.host_data else { return nil }
        return Unmanaged<DriverRun>.fromOpaque(data).takeUnretainedValue()
    }

    func offerCheckpoint(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard queue.isAccepting else { return FLYWHEEL_ERR_CLOSED }
        return queue.push(.checkpoint(Array(bytes))) ? FLYWHEEL_OK : FLYWHEEL_ERR_CLOSED
    }

    /// Checks an emitted event where the driver emits it, so the answer is `emit`'s return value:
    /// a refused event gets `FLYWHEEL_ERR_INVALID_ARGUMENT` (and is kept as a refusal for the
    /// session's record), a terminal event seals the run, and anything after it gets
    /// `FLYWHEEL_ERR_CLOSED` at once.
    func emit(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard queue.isAccepting else { return FLYWHEEL_ERR_CLOSED }
        let event: ParsedDriverEvent
        do {
            event = try DriverEventParser.parse(Array(bytes))
        } catch {
            let excerpt = String(decoding: bytes.prefix(200), as: UTF8.self)
            _ = queue.push(.refusedEvent(problem: error.description, excerpt: excerpt))
            return FLYWHEEL_ERR_INVALID_ARGUMENT
        }
        return queue.push(.event(event), seal: event.isTerminal) ? FLYWHEEL_OK : FLYWHEEL_ERR_CLOSED
    }

    private static let emitThunk: @convention(c) (UnsafePointer<flywheel_run_host_t>?, UnsafePointer<CChar>?, Int) -> Int32 = {
        runHost, json, length in
        guard let run = DriverRun.from(runHost) else { return FLYWHEEL_ERR_INVALID_ARGUMENT }
        guard let json, length > 0 else { return FLYWHEEL_ERR_INVALID_ARGUMENT }
        return run.emit(UnsafeRawBufferPointer(start: json, count: length))
    }

    private static let requestCommandThunk: @convention(c) (
        UnsafePointer<flywheel_run_host_t>?, UnsafePointer<CChar>?, Int, flywheel_command_callback_t?, UnsafeMutableRawPointer?
    ) -> Int32 = { runHost, json, length, callback, userData in
        guard let run = DriverRun.from(runHost) else { return FLYWHEEL_ERR_INVALID_ARGUMENT }
        guard let json, length > 0, let callback else { return FLYWHEEL_ERR_INVALID_ARGUMENT }
        guard run.queue.isAccepting else { return FLYWHEEL_ERR_CLOSED }
        let request: CommandRequest
        do {
            request = try CommandRequest.parse(UnsafeRawBufferPointer(start: json, count: length))
        } catch {
            return FLYWHEEL_ERR_INVALID_ARGUMENT
        }
        let pending = PendingCommand(request: request, callback: callback, userData: userData, thread: run.thread)
        guard run.queue.push(.command(pending)) else {
            // Not accepted: the driver must not get a callback for it.
            pending.discardUnanswered()
            return FLYWHEEL_ERR_CLOSED
        }
        return FLYWHEEL_OK
    }
}
