import Foundation
import PluginABI
import Synchronization

/// Builds the C entry for a Swift ``Driver`` type. A driver module exports it like this:
///
/// ```swift
/// @_cdecl("flywheel_plugin_entry")
/// public func flywheelPluginEntry() -> UnsafeRawPointer {
///     PluginExport.entry(for: MyDriver.self)
/// }
/// ```
///
/// One driver type per shared object: the first type passed in is the plugin's driver.
public enum PluginExport {
    public static func entry<D: Driver>(for type: D.Type) -> UnsafeRawPointer {
        registration.withLock { current in
            if let current { return UnsafeRawPointer(current.entry) }
            let made = Registration(type: type)
            current = made
            return UnsafeRawPointer(made.entry)
        }
    }

    static let registration = Mutex<Registration?>(nil)

    static var current: Registration? { registration.withLock { $0 } }

    /// The driver type and the C structs made for it; allocated once and never freed, because the
    /// host may use them until the process ends.
    final class Registration: @unchecked Sendable {
        let type: any Driver.Type
        let entry: UnsafeMutablePointer<flywheel_plugin_entry_t>
        let descriptor: UnsafeMutablePointer<flywheel_driver_descriptor_t>
        var host: UnsafePointer<flywheel_host_t>?

        init(type: any Driver.Type) {
            self.type = type
            let info = type.info
            descriptor = .allocate(capacity: 1)
            descriptor.initialize(to: flywheel_driver_descriptor_t(
                struct_size: UInt32(MemoryLayout<flywheel_driver_descriptor_t>.size), reserved: 0,
                id: UnsafePointer(strdup(info.id)), name: UnsafePointer(strdup(info.name)),
                version: UnsafePointer(strdup(info.version)), vendor: info.vendor.map { UnsafePointer(strdup($0)) },
                description: info.summary.map { UnsafePointer(strdup($0)) },
                capabilities_json: UnsafePointer(strdup(info.capabilitiesJSON))))
            entry = .allocate(capacity: 1)
            entry.initialize(to: flywheel_plugin_entry_t(
                abi_version: flywheel_abi_version_t(
                    major: FLYWHEEL_ABI_VERSION_MAJOR, minor: FLYWHEEL_ABI_VERSION_MINOR, patch: FLYWHEEL_ABI_VERSION_PATCH),
                struct_size: UInt32(MemoryLayout<flywheel_plugin_entry_t>.size),
                init: { host in
                    PluginExport.current?.host = host
                    return FLYWHEEL_OK
                },
                deinit: nil,
                get_descriptor: { UnsafePointer(PluginExport.current?.descriptor) },
                create_driver: { host, config, length, out in
                    guard let host, let out, let registration = PluginExport.current else { return FLYWHEEL_ERR_INVALID_ARGUMENT }
                    let json = config.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? "{}"
                    let driverHost = DriverHost(pointer: host)
                    do throws(DriverFailure) {
                        let driver = try registration.type.init(configuration: DriverConfiguration(json: json), host: driverHost)
                        out.pointee = InstanceBox.make(driver: driver, host: driverHost)
                        return FLYWHEEL_OK
                    } catch {
                        driverHost.setError(error.message)
                        return error.status
                    }
                }))
        }
    }
}

/// Ties one `flywheel_driver_t` to the Swift instance behind it.
final class InstanceBox: @unchecked Sendable {
    let driver: any Driver
    let host: DriverHost
    /// The instance's own capabilities (`flywheel.instance/1`), as a C string freed with the box.
    let capabilities: UnsafeMutablePointer<CChar>?

    private init(driver: any Driver, host: DriverHost) {
        self.driver = driver
        self.host = host
        capabilities = (driver as? any InstanceCapabilitiesDriver).map { strdup($0.instanceCapabilitiesJSON) }
    }

    deinit { free(capabilities) }

    static func make(driver: any Driver, host: DriverHost) -> UnsafeMutablePointer<flywheel_driver_t> {
        let box = InstanceBox(driver: driver, host: host)
        let pointer = UnsafeMutablePointer<flywheel_driver_t>.allocate(capacity: 1)
        pointer.initialize(to: flywheel_driver_t(
            struct_size: UInt32(MemoryLayout<flywheel_driver_t>.size), reserved: 0,
            driver_data: Unmanaged.passRetained(box).toOpaque(),
            execute: { driver, run, task, length in
                guard let box = InstanceBox.from(driver), let run else { return FLYWHEEL_ERR_INVALID_ARGUMENT }
                return box.call { () throws(DriverFailure) in
                    let json = task.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? "{}"
                    try box.driver.execute(task: DriverTask(json: json), run: DriverRun(pointer: run))
                }
            },
            cancel: { driver, runID in
                guard let box = InstanceBox.from(driver) else { return FLYWHEEL_ERR_INVALID_ARGUMENT }
                return box.call { () throws(DriverFailure) in try box.driver.cancel(runID: runID) }
            },
            destroy: { driver in
                guard let driver, let data = driver.pointee.driver_data else { return }
                let box = Unmanaged<InstanceBox>.fromOpaque(data).takeRetainedValue()
                box.driver.shutdown()
                driver.deinitialize(count: 1)
                driver.deallocate()
            },
            get_extension: { driver, id in
                guard let id, let box = InstanceBox.from(UnsafeMutablePointer(mutating: driver)) else { return nil }
                switch String(cString: id) {
                case FLYWHEEL_EXT_CHECKPOINT where box.driver is any CheckpointingDriver: return UnsafeRawPointer(CheckpointExtension.shared)
                case FLYWHEEL_EXT_INSTANCE where box.capabilities != nil: return UnsafeRawPointer(InstanceExtension.shared)
                default: return nil
                }
            }))
        return pointer
    }

    static func from(_ driver: UnsafeMutablePointer<flywheel_driver_t>?) -> InstanceBox? {
        guard let data = driver?.pointee.driver_data else { return nil }
        return Unmanaged<InstanceBox>.fromOpaque(data).takeUnretainedValue()
    }

    func call(_ body: () throws(DriverFailure) -> Void) -> Int32 {
        do {
            try body()
            return FLYWHEEL_OK
        } catch {
            host.setError(error.message)
            return error.status
        }
    }
}

/// A driver whose instances state capabilities of their own (`flywheel.instance/1`, ABI 1.2), such
/// as the account a run needs when that depends on the configuration.
public protocol InstanceCapabilitiesDriver: Driver {
    /// This instance's `flywheel.capabilities/1` JSON object; read once, when the instance is made.
    var instanceCapabilitiesJSON: String { get }
}

/// The `flywheel.instance/1` struct shared by every instance; each answers from its own box.
enum InstanceExtension {
    /// Written once here and only read after: the host reads it, never writes.
    nonisolated(unsafe) static let shared: UnsafeMutablePointer<flywheel_instance_extension_t> = {
        let pointer = UnsafeMutablePointer<flywheel_instance_extension_t>.allocate(capacity: 1)
        pointer.initialize(to: flywheel_instance_extension_t(
            struct_size: UInt32(MemoryLayout<flywheel_instance_extension_t>.size), reserved: 0,
            capabilities_json: { driver in
                UnsafePointer(InstanceBox.from(UnsafeMutablePointer(mutating: driver))?.capabilities)
            }))
        return pointer
    }()
}
