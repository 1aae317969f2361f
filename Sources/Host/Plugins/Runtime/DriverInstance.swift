import Foundation
import PluginABI

/// One configured instance of a driver. Calls into it are serialised, as the ABI promises, and run
/// on the instance's own ``DriverThread``: the `async` methods (`startRun`, `resumeRun`, `cancelRun`,
/// `checkpoint`, `retire`) are for async code, which must never run driver code on Swift's
/// cooperative pool; the synchronous ones wait for the driver thread and are for plain threads.
public final class DriverInstance: @unchecked Sendable {
    public let plugin: LoadedPlugin
    private let driver: UnsafeMutablePointer<flywheel_driver_t>
    let thread: DriverThread
    private let lock = NSLock()
    /// Every run ever started, kept until destroy: their `flywheel_run_host_t` must outlive them.
    private var runs: [UInt64: DriverRun] = [:]
    private var destroyed = false

    /// How many items a run may queue before the driver's emit waits for the host.
    public static let defaultQueueCapacity = 65_536

    /// The provider whose account this instance's runs need (the instance's own capabilities under
    /// ABI 1.2, else the descriptor's); nil when they need none.
    public let accountProvider: String?

    init(plugin: LoadedPlugin, driver: UnsafeMutablePointer<flywheel_driver_t>, accountProvider: String?) {
        self.plugin = plugin
        self.driver = driver
        self.accountProvider = accountProvider
        self.thread = DriverThread(label: plugin.descriptor.id)
        self.checkpointExtension = Self.findCheckpointExtension(driver)
    }

    // MARK: From async code

    /// Starts a run of `taskJSON` (a `flywheel.task/1` document) on the driver thread.
    public func startRun(taskJSON: String, queueCapacity: Int = defaultQueueCapacity) async throws(DriverCallError) -> DriverRun {
        try await onDriverThread { try $0.execute(taskJSON: taskJSON, queueCapacity: queueCapacity) }
    }

    /// Starts a run that continues from checkpoint `state`, on the driver thread.
    public func resumeRun(taskJSON: String, state: [UInt8], queueCapacity: Int = defaultQueueCapacity) async throws(DriverCallError) -> DriverRun {
        try await onDriverThread { try $0.resume(taskJSON: taskJSON, state: state, queueCapacity: queueCapacity) }
    }

    /// Asks run `runID` to stop, on the driver thread.
    public func cancelRun(_ runID: UInt64) async throws(DriverCallError) {
        try await onDriverThread { try $0.cancel(runID: runID) }
    }

    /// A snapshot of run `runID`, taken on the driver thread.
    public func checkpoint(runID: UInt64) async throws(DriverCallError) -> [UInt8] {
        try await onDriverThread { try $0.saveCheckpoint(runID: runID) }
    }

    /// Ends the instance without waiting: open runs are finished from the host's side, their last
    /// command callbacks delivered, and then `destroy` runs on the driver thread (it may join
    /// driver threads; a driver that hangs there stalls only its own thread).
    public func retire() {
        thread.shutDown(prepare: { [self] in finishRuns() }, destroy: { [self] in destroyNow() })
    }

    private func onDriverThread<T: Sendable>(_ body: @escaping @Sendable (DriverInstance) throws -> T) async throws(DriverCallError) -> T {
        do {
            return try await thread.perform { [self] in try body(self) }
        } catch let error as DriverCallError {
            throw error
        } catch {
            throw DriverCallError(driverID: driverID, function: "call", status: FLYWHEEL_ERR_INTERNAL, message: "\(error)")
        }
    }

    // MARK: From plain threads

    public var driverID: String { plugin.descriptor.id }

    /// Starts a run of `taskJSON` (a `flywheel.task/1` document).
    public func execute(taskJSON: String, queueCapacity: Int = defaultQueueCapacity) throws(DriverCallError) -> DriverRun {
        try start("execute", queueCapacity: queueCapacity) { driver, runHost in
            let length = taskJSON.utf8.count
            return taskJSON.withCString { driver.pointee.execute(driver, runHost, $0, length) }
        }
    }

    /// The driver's `flywheel.checkpoint/1` extension, when it has one of a usable size. Asked for
    /// once, on the thread that created the instance: the ABI keeps what `get_extension` returns
    /// valid until the instance is destroyed.
    private let checkpointExtension: UnsafePointer<flywheel_checkpoint_extension_t>?

    private static func findCheckpointExtension(_ driver: UnsafeMutablePointer<flywheel_driver_t>) -> UnsafePointer<flywheel_checkpoint_extension_t>? {
        guard let getExtension = driver.pointee.get_extension,
              let raw = getExtension(driver, FLYWHEEL_EXT_CHECKPOINT) else { return nil }
        let ext = raw.assumingMemoryBound(to: flywheel_checkpoint_extension_t.self)
        guard Int(ext.pointee.struct_size) >= HostABI.minimumCheckpointExtensionSize,
              ext.pointee.save != nil, ext.pointee.resume != nil else { return nil }
        return ext
    }

    /// Whether the driver can save and resume runs (`flywheel.checkpoint/1`).
    public var supportsCheckpoints: Bool {
        lock.lock()
        defer { lock.unlock() }
        return !destroyed && checkpointExtension != nil
    }

    /// Starts a run that continues from checkpoint `state`.
    public func resume(taskJSON: String, state: [UInt8], queueCapacity: Int = defaultQueueCapacity) throws(DriverCallError) -> DriverRun {
        try start("resume", queueCapacity: queueCapacity) { _, runHost in
            guard let ext = checkpointExtension else { return FLYWHEEL_ERR_UNSUPPORTED }
            let length = taskJSON.utf8.count
            return taskJSON.withCString { task in
                state.withUnsafeBufferPointer { ext.pointee.resume(driver, runHost, task, length, $0.baseAddress, $0.count) }
            }
        }
    }

    /// Asks the driver for a snapshot of run `runID` now.
    public func saveCheckpoint(runID: UInt64) throws(DriverCallError) -> [UInt8] {
        final class Sink { var bytes: [UInt8] = [] }
        let sink = Sink()
        let (status, message) = call { driver in
            guard let ext = checkpointExtension else { return FLYWHEEL_ERR_UNSUPPORTED }
            return ext.pointee.save(driver, runID, { context, state, length in
                guard let context else { return }
                let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
                if let state { sink.bytes = Array(UnsafeBufferPointer(start: state, count: length)) }
            }, Unmanaged.passUnretained(sink).toOpaque())
        }
        try check(status, message, "checkpoint.save")
        return sink.bytes
    }

    /// Asks run `runID` to stop; its terminal event follows.
    public func cancel(runID: UInt64) throws(DriverCallError) {
        let (status, message) = call { driver in driver.pointee.cancel(driver, runID) }
        try check(status, message, "cancel")
    }

    /// Ends the instance and waits until the driver's `destroy` returned. Runs still open are
    /// finished from the host's side first, which also releases any driver thread waiting in `emit`
    /// for queue space, so `destroy` can join it. Not for async code: use ``retire()``.
    public func destroy() {
        let done = DispatchSemaphore(value: 0)
        thread.shutDown(prepare: { [self] in finishRuns() }, destroy: { [self] in
            destroyNow()
            done.signal()
        })
        done.wait()
    }

    private func finishRuns() {
        lock.lock()
        let open = destroyed ? [] : Array(runs.values)
        lock.unlock()
        for run in open { run.finish() }
    }

    private func destroyNow() {
        lock.lock()
        defer { lock.unlock() }
        guard !destroyed else { return }
        destroyed = true
        for run in runs.values { run.finish() }
        driver.pointee.destroy(driver)
    }

    private func start(
        _ function: String, queueCapacity: Int,
        _ body: (UnsafeMutablePointer<flywheel_driver_t>, UnsafePointer<flywheel_run_host_t>) -> Int32
    ) throws(DriverCallError) -> DriverRun {
        let run = DriverRun(id: LoadedPlugin.nextRunID(), driverID: driverID, queueCapacity: queueCapacity, thread: thread)
        let (status, message) = call { driver in
            runs[run.id] = run
            return body(driver, UnsafePointer(run.runHost))
        }
        if status != FLYWHEEL_OK { run.finish() }
        try check(status, message, function)
        return run
    }

    /// Runs `body` on the driver thread with the instance lock held and the error slot cleared,
    /// and returns its status with the message the driver set; a destroyed instance answers
    /// `FLYWHEEL_ERR_CLOSED` without calling the driver.
    private func call(_ body: (UnsafeMutablePointer<flywheel_driver_t>) -> Int32) -> (Int32, String?) {
        thread.performAndWait {
            lock.lock()
            defer { lock.unlock() }
            guard !destroyed else { return (FLYWHEEL_ERR_CLOSED, "the driver instance was destroyed") }
            DriverErrorSlot.clear()
            let status = body(driver)
            return (status, DriverErrorSlot.take())
        }
    }

    private func check(_ status: Int32, _ message: String?, _ function: String) throws(DriverCallError) {
        guard status == FLYWHEEL_OK else {
            throw DriverCallError(driverID: driverID, function: function, status: status, message: message)
        }
    }
}
