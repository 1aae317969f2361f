import PluginABI

/// Names for the ABI's `flywheel_status_t` codes, for messages.
public enum PluginStatus {
    public static func name(of status: Int32) -> String {
        switch status {
        case FLYWHEEL_OK: "FLYWHEEL_OK"
        case FLYWHEEL_ERR_INVALID_ARGUMENT: "FLYWHEEL_ERR_INVALID_ARGUMENT"
        case FLYWHEEL_ERR_INVALID_CONFIG: "FLYWHEEL_ERR_INVALID_CONFIG"
        case FLYWHEEL_ERR_UNSUPPORTED: "FLYWHEEL_ERR_UNSUPPORTED"
        case FLYWHEEL_ERR_NOT_FOUND: "FLYWHEEL_ERR_NOT_FOUND"
        case FLYWHEEL_ERR_BUSY: "FLYWHEEL_ERR_BUSY"
        case FLYWHEEL_ERR_CLOSED: "FLYWHEEL_ERR_CLOSED"
        case FLYWHEEL_ERR_OUT_OF_MEMORY: "FLYWHEEL_ERR_OUT_OF_MEMORY"
        case FLYWHEEL_ERR_INTERNAL: "FLYWHEEL_ERR_INTERNAL"
        default: "unknown status \(status)"
        }
    }
}

/// A call into a driver that returned something other than `FLYWHEEL_OK`.
public struct DriverCallError: Error, Sendable, Equatable, CustomStringConvertible {
    public var driverID: String
    public var function: String
    public var status: Int32
    /// What the driver said through `set_error`, if anything.
    public var message: String?

    public var description: String {
        "\(driverID): \(function) returned \(PluginStatus.name(of: status))" + (message.map { ": \($0)" } ?? "")
    }
}
