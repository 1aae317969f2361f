import Foundation
import PluginABI

/// A driver that can save a run's state and continue a run from it (`flywheel.checkpoint/1`), so the
/// host can pause its sessions and recover them after a restart.
public protocol CheckpointingDriver: Driver {
    /// A consistent snapshot of run `runID` now. Throw ``DriverFailure/notFound`` for a run that is
    /// unknown or already ended.
    func saveCheckpoint(runID: UInt64) throws(DriverFailure) -> [UInt8]

    /// Like ``Driver/execute(task:run:)``, but continues from `state`: bytes an earlier save or offer
    /// produced, possibly in another process.
    func resume(task: DriverTask, run: DriverRun, state: [UInt8]) throws(DriverFailure)
}

extension DriverRun {
    /// Offers `state` to the host as the run's latest checkpoint (`flywheel.host.checkpoint/1`),
    /// ordered after every event emitted before. False when the host offers no such extension or
    /// the run has ended.
    @discardableResult
    public func offerCheckpoint(_ state: [UInt8]) -> Bool {
        guard let host = PluginExport.current?.host, let getExtension = host.pointee.get_extension,
              let raw = getExtension(host, FLYWHEEL_HOST_EXT_CHECKPOINT) else { return false }
        let checkpoint = raw.assumingMemoryBound(to: flywheel_host_checkpoint_extension_t.self)
        guard let offer = checkpoint.pointee.offer else { return false }
        return state.withUnsafeBufferPointer { offer(pointer, $0.baseAddress, $0.count) } == FLYWHEEL_OK
    }
}

/// The `flywheel.checkpoint/1` struct shared by every instance of a checkpointing driver type.
enum CheckpointExtension {
    /// Written once here and only read after: the host reads it, never writes.
    nonisolated(unsafe) static let shared: UnsafeMutablePointer<flywheel_checkpoint_extension_t> = {
        let pointer = UnsafeMutablePointer<flywheel_checkpoint_extension_t>.allocate(capacity: 1)
        pointer.initialize(to: flywheel_checkpoint_extension_t(
            struct_size: UInt32(MemoryLayout<flywheel_checkpoint_extension_t>.size), reserved: 0,
            save: { driver, runID, write, context in
                guard let box = InstanceBox.from(driver), let write, let checkpointing = box.driver as? any CheckpointingDriver else {
                    return FLYWHEEL_ERR_INVALID_ARGUMENT
                }
                return box.call { () throws(DriverFailure) in
                    let state = try checkpointing.saveCheckpoint(runID: runID)
                    state.withUnsafeBufferPointer { write(context, $0.baseAddress, $0.count) }
                }
            },
            resume: { driver, run, task, length, state, stateLength in
                guard let box = InstanceBox.from(driver), let run, let checkpointing = box.driver as? any CheckpointingDriver else {
                    return FLYWHEEL_ERR_INVALID_ARGUMENT
                }
                return box.call { () throws(DriverFailure) in
                    let json = task.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? "{}"
                    let bytes = state.map { Array(UnsafeBufferPointer(start: $0, count: stateLength)) } ?? []
                    try checkpointing.resume(task: DriverTask(json: json), run: DriverRun(pointer: run), state: bytes)
                }
            }))
        return pointer
    }()
}
