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
        let accountProvider: String?
        do {
            accountProvider = try Self.instanceAccountProvider(driver, fallback: descriptor.accountProvider)
        } catch {
            driver.pointee.destroy(driver)
            throw DriverCallError(driverID: descriptor.id, function: "create_driver", status: FLYWHEEL_ERR_INTERNAL,
                                  message: "flywheel.instance/1: \(error.description)")
        }
        return DriverInstance(plugin: self, driver: driver, accountProvider: accountProvider)
    }

    /// The provider whose account the instance's runs need: its `flywheel.instance/1` capabilities
    /// (ABI 1.2) when it has them and they name one (or null, for none), else the descriptor's.
    static func instanceAccountProvider(_ driver: UnsafeMutablePointer<flywheel_driver_t>, fallback: String?) throws(CapabilitiesProblem) -> String? {
        guard let getExtension = driver.pointee.get_extension, let raw = getExtension(driver, FLYWHEEL_EXT_INSTANCE) else { return fallback }
        let ext = raw.assumingMemoryBound(to: flywheel_instance_extension_t.self)
        guard Int(ext.pointee.struct_size) >= MemoryLayout<flywheel_instance_extension_t>.size, let capabilities = ext.pointee.capabilities_json,
              let text = capabilities(driver).map({ String(cString: $0) }) else { return fallback }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw CapabilitiesProblem(description: "capabilities_json is not a JSON object")
        }
        switch object["account_provider"] {
        case nil: return fallback
        case is NSNull: return nil
        case let name as String where !name.isEmpty: return name
        default: throw CapabilitiesProblem(description: "account_provider must be a non-empty string or null")
        }
    }

    struct CapabilitiesProblem: Error, CustomStringConvertible { var description: String }

    /// What ``accountProvider(configJSON:)`` found, per configuration.
    private let accountProviders = Mutex<[String: String?]>([:])

    /// The provider whose account a run of an instance configured by `configJSON` needs. Under ABI
    /// 1.2 an instance may state its own, so a plugin built for 1.2 or later gets an instance made
    /// (off the cooperative pool) and retired at once to ask it; the answer is kept per
    /// configuration, so a session waiting for an account does not make one per look.
    public func accountProvider(configJSON: String) async throws(DriverCallError) -> String? {
        guard abiMinor >= 2 else { return descriptor.accountProvider }
        if let known = accountProviders.withLock({ $0[configJSON] }) { return known }
        let instance = try await createInstance(configJSON: configJSON)
        instance.retire()
        accountProviders.withLock { known in
            if known.count >= 1_024 { known.removeAll() }
            known[configJSON] = .some(instance.accountProvider)
        }
        return instance.accountProvider
    }

    private var abiMinor: Int { abiVersion.split(separator: ".").dropFirst().first.flatMap { Int($0) } ?? 0 }

    /// Calls the plugin's `deinit` once. Every instance must have been destroyed first.
    public func shutdown() {
        entryLock.lock()
        defer { entryLock.unlock() }
        guard !finished else { return }
        finished = true
        entry.pointee.deinit?()
    }
}
