import Foundation
import Logging
import PluginABI

/// The `flywheel_host_t` one plugin sees: logging attributed to the plugin, `set_error`, and host
/// extensions. It lives as long as the plugin (plugins are never unloaded).
final class PluginHostTable: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<flywheel_host_t>
    private let logger: Logger
    private let nameCString: UnsafeMutablePointer<CChar>
    private let versionCString: UnsafeMutablePointer<CChar>

    init(pluginFile: String, logger: Logger) {
        var logger = logger
        logger[metadataKey: "flywheel.plugin.file"] = .string(pluginFile)
        self.logger = logger
        self.nameCString = strdup("flywheel")
        self.versionCString = strdup(FlywheelVersion.current)
        self.pointer = .allocate(capacity: 1)
        pointer.initialize(to: flywheel_host_t(
            struct_size: UInt32(MemoryLayout<flywheel_host_t>.size),
            abi_version: HostABI.version,
            host_name: UnsafePointer(nameCString),
            host_version: UnsafePointer(versionCString),
            host_data: nil,
            log: PluginHostTable.logThunk,
            set_error: PluginHostTable.setErrorThunk,
            get_extension: PluginHostTable.getExtensionThunk))
        pointer.pointee.host_data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        pointer.deinitialize(count: 1)
        pointer.deallocate()
        free(nameCString)
        free(versionCString)
    }

    func log(level: Int32, message: String) {
        let swiftLevel: Logger.Level =
            switch level {
            case FLYWHEEL_LOG_DEBUG: .debug
            case FLYWHEEL_LOG_INFO: .info
            case FLYWHEEL_LOG_WARNING: .warning
            default: .error
            }
        logger.log(level: swiftLevel, "\(message)")
    }

    private static func table(_ host: UnsafePointer<flywheel_host_t>?) -> PluginHostTable? {
        guard let data = host?.pointee.host_data else { return nil }
        return Unmanaged<PluginHostTable>.fromOpaque(data).takeUnretainedValue()
    }

    private static func text(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String? {
        guard let pointer, length >= 0 else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    private static let logThunk: @convention(c) (UnsafePointer<flywheel_host_t>?, Int32, UnsafePointer<CChar>?, Int) -> Void = {
        host, level, message, length in
        guard let table = table(host), let text = text(message, length) else { return }
        table.log(level: level, message: text)
    }

    private static let setErrorThunk: @convention(c) (UnsafePointer<flywheel_host_t>?, UnsafePointer<CChar>?, Int) -> Void = {
        _, message, length in
        guard let text = text(message, length) else { return }
        DriverErrorSlot.set(text)
    }

    private static let getExtensionThunk: @convention(c) (UnsafePointer<flywheel_host_t>?, UnsafePointer<CChar>?) -> UnsafeRawPointer? = {
        _, id in
        guard let id else { return nil }
        switch String(cString: id) {
        case FLYWHEEL_HOST_EXT_CHECKPOINT: return UnsafeRawPointer(HostExtensions.checkpoint)
        default: return nil
        }
    }
}

/// Host extensions, allocated once for the process.
enum HostExtensions {
    nonisolated(unsafe) static let checkpoint: UnsafeMutablePointer<flywheel_host_checkpoint_extension_t> = {
        let pointer = UnsafeMutablePointer<flywheel_host_checkpoint_extension_t>.allocate(capacity: 1)
        pointer.initialize(to: flywheel_host_checkpoint_extension_t(
            struct_size: UInt32(MemoryLayout<flywheel_host_checkpoint_extension_t>.size),
            reserved: 0,
            offer: { runHost, state, length in
                guard let run = DriverRun.from(runHost) else { return FLYWHEEL_ERR_INVALID_ARGUMENT }
                guard let state else { return FLYWHEEL_ERR_INVALID_ARGUMENT }
                return run.offerCheckpoint(UnsafeRawBufferPointer(start: state, count: length))
            }))
        return pointer
    }()
}
