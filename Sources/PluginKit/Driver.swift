import Foundation

/// A driver written in Swift. ``PluginExport`` turns a conforming type into the C entry the host loads.
///
/// The host serialises `execute`, `cancel` and `shutdown` per instance and expects them to return
/// promptly: do the work on your own task or thread and report through the ``DriverRun``.
public protocol Driver: AnyObject, Sendable {
    /// Static facts the host shows and checks.
    static var info: DriverInfo { get }

    /// Creates an instance from its configuration; throw ``DriverFailure/invalidConfig(_:)`` to refuse it.
    init(configuration: DriverConfiguration, host: DriverHost) throws(DriverFailure)

    /// Starts a run. Exactly one terminal event (`completed`, `failed`, `cancelled`) must follow.
    func execute(task: DriverTask, run: DriverRun) throws(DriverFailure)

    /// Asks a run to stop; end it promptly with a `cancelled` event. Throw ``DriverFailure/notFound``
    /// for a run that is unknown or already ended.
    func cancel(runID: UInt64) throws(DriverFailure)

    /// Ends the instance: stop what runs and wait for it. No run may emit after this returns.
    func shutdown()
}

/// What a driver says about itself in its descriptor.
public struct DriverInfo: Sendable {
    public var id: String
    public var name: String
    public var version: String
    public var vendor: String?
    public var summary: String?
    /// A `flywheel.capabilities/1` JSON object.
    public var capabilitiesJSON: String

    public init(id: String, name: String, version: String, vendor: String? = nil, summary: String? = nil,
                capabilitiesJSON: String = "{}") {
        self.id = id
        self.name = name
        self.version = version
        self.vendor = vendor
        self.summary = summary
        self.capabilitiesJSON = capabilitiesJSON
    }
}

/// A failure a driver reports to the host: an ABI status code and a reason.
public struct DriverFailure: Error, Sendable {
    public var status: Int32
    public var message: String

    public init(status: Int32, message: String) {
        self.status = status
        self.message = message
    }

    public static func invalidConfig(_ message: String) -> DriverFailure { .init(status: 2, message: message) }
    public static func invalidArgument(_ message: String) -> DriverFailure { .init(status: 1, message: message) }
    public static let notFound = DriverFailure(status: 4, message: "unknown or ended run")
    public static func busy(_ message: String) -> DriverFailure { .init(status: 5, message: message) }
}
