import Dispatch
import PluginABI

/// Something a driver handed to the host during a run, in the order it was handed over.
public enum DriverRunItem: Sendable {
    /// A `flywheel.event/1` document the host accepted, exactly as the driver emitted it.
    case event(ParsedDriverEvent)
    /// An event `emit` refused (and answered `FLYWHEEL_ERR_INVALID_ARGUMENT`), kept so the host can
    /// record why as a `host.driver_error` event.
    case refusedEvent(problem: String, excerpt: String)
    /// A request to run a command; answer it exactly once through the ``PendingCommand``.
    case command(PendingCommand)
    /// State the driver offered as the run's latest checkpoint.
    case checkpoint([UInt8])
}

/// A command request the host accepted and owes the driver one answer for.
///
/// The driver's callback runs on the run's callback thread (a serial queue of the host's), never on
/// the caller's thread: driver code must not run on Swift's cooperative pool. No callback arrives
/// once the instance's `destroy` has begun.
public final class PendingCommand: @unchecked Sendable {
    /// The parsed `flywheel.command-request/1` document.
    public let request: CommandRequest
    private let callback: flywheel_command_callback_t
    private let userData: UnsafeMutableRawPointer?
    private let answered = ManagedAtomicFlag()
    private let thread: DriverThread

    init(request: CommandRequest, callback: flywheel_command_callback_t, userData: UnsafeMutableRawPointer?, thread: DriverThread) {
        self.request = request
        self.callback = callback
        self.userData = userData
        self.thread = thread
    }

    /// Hands the driver its `flywheel.command-result/1` document. Later calls do nothing.
    public func complete(resultJSON: String) {
        guard answered.setOnce() else { return }
        Self.deliver(callback, userData, FLYWHEEL_OK, resultJSON, on: thread)
    }

    /// Tells the driver the run ended before the command finished. Later calls do nothing.
    public func close() {
        guard answered.setOnce() else { return }
        Self.deliver(callback, userData, FLYWHEEL_ERR_CLOSED, nil, on: thread)
    }

    private static func deliver(_ callback: flywheel_command_callback_t, _ userData: UnsafeMutableRawPointer?, _ status: Int32,
                                _ result: String?, on thread: DriverThread) {
        let context = UnsafeSendable(userData)
        let callback = UnsafeSendable(callback)
        thread.deliver {
            if let result {
                let length = result.utf8.count
                result.withCString { callback.value(context.value, status, $0, length) }
            } else {
                callback.value(context.value, status, nil, 0)
            }
        }
    }

    /// Marks a request the host did not accept, so it is never answered.
    func discardUnanswered() {
        _ = answered.setOnce()
    }

    deinit {
        // A request must never go unanswered, even if the host drops it by mistake.
        close()
    }
}

/// A value the host hands between threads that the C ABI makes the driver responsible for.
struct UnsafeSendable<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
