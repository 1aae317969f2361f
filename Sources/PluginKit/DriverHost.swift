import PluginABI

/// The host's services for the whole plugin: logging.
public struct DriverHost: @unchecked Sendable {
    let pointer: UnsafePointer<flywheel_host_t>

    public enum LogLevel: Int32, Sendable { case debug = 0, info = 1, warning = 2, error = 3 }

    /// The host's ABI version, as (major, minor).
    public var abiVersion: (major: UInt32, minor: UInt32) {
        (pointer.pointee.abi_version.major, pointer.pointee.abi_version.minor)
    }

    /// Whether the host answers decision-only command requests (ABI 1.1): a 1.0 host would run them.
    public var supportsDecisionOnlyCommands: Bool { abiVersion.major == 1 && abiVersion.minor >= 1 }

    /// Writes a line to the host's log. Never log credentials.
    public func log(_ level: LogLevel, _ message: String) {
        guard let log = pointer.pointee.log else { return }
        let length = message.utf8.count
        message.withCString { log(pointer, level.rawValue, $0, length) }
    }

    func setError(_ message: String) {
        guard let setError = pointer.pointee.set_error else { return }
        let length = message.utf8.count
        message.withCString { setError(pointer, $0, length) }
    }
}
