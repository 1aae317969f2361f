import Foundation
import PluginABI
import Synchronization

/// A plugin that passed every check and whose `init` succeeded.
///
/// Plugins are never unloaded (no `dlclose`): their code may own threads and language-runtime
/// metadata. The entry pointer and the library handle never leave this type.
public final class LoadedPlugin: @unchecked Sendable {
    public let descriptor: DriverDescriptor
    /// The shared object, as its manifest (or the command line) named it.
    public let libraryPath: URL
    /// The ABI version the plugin was built against.
    public let abiVersion: String

    let entry: UnsafePointer<flywheel_plugin_entry_t>
    let hostTable: PluginHostTable
    private let entryLock = NSLock()
    private var finished = false
    /// Where `create_driver` runs for async callers: off Swift's cooperative pool.
    private let creationThread: DriverThread

    /// Run ids are unique across the process, so a log line names one run unambiguously.
    private static let runIDs = Atomic<UInt64>(0)

    init(descriptor: DriverDescriptor, libraryPath: URL, abiVersion: String,
         entry: UnsafePointer<flywheel_plugin_entry_t>, hostTable: PluginHostTable) {
        self.descriptor = descriptor
        self.libraryPath = libraryPath
        self.abiVersion = abiVersion
        self.entry = entry
        self.hostTable = hostTable
        self.creationThread = DriverThread(label: "\(descriptor.id).create")
    }

    /// Creates a driver instance on a thread of the plugin's own (for async code).
    public func createInstance(configJSON: String = "{}") async throws(DriverCallError) -> DriverInstance {
        do {
            return try await creationThread.perform { [self] in try makeDriver(configJSON: configJSON) }
        } catch let error as DriverCallError {
            throw error
        } catch {
            throw DriverCallError(driverID: descriptor.id, function: "create_driver", status: FLYWHEEL_ERR_INTERNAL, message: "\(error)")
        }
    }

    static func nextRunID() -> UInt64 {
        runIDs.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Creates a driver instance configured by `configJSON` (a JSON object).
    public func makeDriver(configJSON: String = "{}") throws(DriverCallError) -> DriverInstance {
        entryLock.lock()
        defer { entryLock.unlock() }
        guard !finished else {
            throw DriverCallError(driverID: descriptor.id, function: "create_driver", status: FLYWHEEL_ERR_CLOSED,
                                  message: "the plugin was shut down")
        }
        var out: UnsafeMutablePointer<flywheel_driver_t>?
        DriverErrorSlot.clear()
        let length = configJSON.utf8.count
        let status = configJSON.withCString { entry.pointee.create_driver(hostTable.pointer, $0, length, &out) }
        let message = DriverErrorSlot.take()
        guard status == FLYWHEEL_OK else {
            throw DriverCallError(driverID: descriptor.id, function: "create_driver", status: status, message: message)
        }
        guard let driver = out else {
            throw DriverCallError(driverID: descriptor.id, function: "create_driver", status: FLYWHEEL_ERR_INTERNAL,
                                  message: "returned FLYWHEEL_OK but no instance")
        }
        let size = Int(driver.pointee.struct_size)
        guard size >= HostABI.minimumDriverSize else {
            throw DriverCallError(driverID: descriptor.id, function: "create_driver", status: FLYWHEEL_ERR_INTERNAL,
                                  message: "flywheel_driver_t.struct_size is \(size); ABI v1.0 needs at least \(HostABI.minimumDriverSize)")
        }
        for (name, present) in [("execute", driver.pointee.execute != nil), ("cancel", driver.pointee.cancel != nil),
                                ("destroy", driver.pointee.destroy != nil)] where !present {
            throw DriverCallError(driverID: descriptor.id, function: "create_driver", status: FLYWHEEL_ERR_INTERNAL,
                                  message: "flywheel_driver_t.\(name) is NULL")
        }
        return DriverInstance(plugin: self, driver: driver)
    }

    /// Calls the plugin's `deinit` once. Every instance must have been destroyed first.
    public func shutdown() {
        entryLock.lock()
        defer { entryLock.unlock() }
        guard !finished else { return }
        finished = true
        entry.pointee.deinit?()
    }
}
