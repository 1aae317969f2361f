import PluginABI

/// Something a driver handed to the host during a run, in the order it was handed over.
public enum DriverRunItem: Sendable {
    /// A `flywheel.event/1` document exactly as the driver emitted it (not yet validated).
    case event([UInt8])
    /// A request to run a command; answer it exactly once through the ``PendingCommand``.
    case command(PendingCommand)
    /// State the driver offered as the run's latest checkpoint.
    case checkpoint([UInt8])
}

/// A command request the host accepted and owes the driver one answer for.
public final class PendingCommand: @unchecked Sendable {
    /// The parsed `flywheel.command-request/1` document.
    public let request: CommandRequest
    private let callback: flywheel_command_callback_t
    private let userData: UnsafeMutableRawPointer?
    private let answered = ManagedAtomicFlag()

    init(request: CommandRequest, callback: flywheel_command_callback_t, userData: UnsafeMutableRawPointer?) {
        self.request = request
        self.callback = callback
        self.userData = userData
    }

    /// Hands the driver its `flywheel.command-result/1` document. Later calls do nothing.
    public func complete(resultJSON: String) {
        guard answered.setOnce() else { return }
        let length = resultJSON.utf8.count
        resultJSON.withCString { callback(userData, FLYWHEEL_OK, $0, length) }
    }

    /// Tells the driver the run ended before the command finished. Later calls do nothing.
    public func close() {
        guard answered.setOnce() else { return }
        callback(userData, FLYWHEEL_ERR_CLOSED, nil, 0)
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
