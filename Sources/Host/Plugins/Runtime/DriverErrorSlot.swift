import Foundation

/// The per-thread slot behind `flywheel_host_t.set_error`.
///
/// The host clears it before each call into a driver and reads it after a failed call; the driver sets
/// it on the same thread just before returning, so no locking is needed.
enum DriverErrorSlot {
    private static let key = "flywheel.driver.error"

    static func clear() {
        Thread.current.threadDictionary.removeObject(forKey: key)
    }

    static func set(_ message: String) {
        Thread.current.threadDictionary[key] = message
    }

    /// Returns and clears the message set on this thread since the last `clear()`.
    static func take() -> String? {
        let message = Thread.current.threadDictionary[key] as? String
        clear()
        return message
    }
}
