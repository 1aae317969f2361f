/// No session has this id. (HTTP: 404 `SESSION_NOT_FOUND`.)
public struct SessionNotFound: Error, Sendable, Equatable, CustomStringConvertible {
    public var sessionID: String
    public var description: String { "session \(sessionID) not found" }
}

/// The session's driver cannot save checkpoints, so it cannot be paused. (HTTP: 409 `PAUSE_UNSUPPORTED`.)
public struct PauseUnsupported: Error, Sendable, Equatable, CustomStringConvertible {
    public var sessionID: String
    public var driverID: String
    public var description: String { "session \(sessionID) cannot be paused: driver \(driverID) cannot save its state" }
}

/// No agent has this id or name. (HTTP: 404 `AGENT_NOT_FOUND`.)
public struct AgentNotFound: Error, Sendable, Equatable, CustomStringConvertible {
    public var agent: String
    public var description: String { "agent \(agent) not found" }
}

/// An agent's driver is not loaded. (HTTP: 422 `DRIVER_NOT_LOADED`.)
public struct DriverNotLoaded: Error, Sendable, Equatable, CustomStringConvertible {
    public var driverID: String
    public var loaded: [String]
    public var description: String {
        "driver '\(driverID)' is not loaded (loaded: \(loaded.isEmpty ? "none" : loaded.joined(separator: ", ")))"
    }
}

/// An agent's workspace is a well-formed path the gateway will not hand to an agent: a system or
/// top-level folder, or one that holds or lies in the gateway's own files. (HTTP: 422 `WORKSPACE_NOT_ALLOWED`.)
public struct WorkspaceNotAllowed: Error, Sendable, Equatable, CustomStringConvertible {
    public var workspace: String
    public var reason: String
    public var description: String { "workspace \(workspace) \(reason)" }
}

/// The driver refused an agent's configuration when an instance was created from it. (HTTP: 422 `AGENT_CONFIG_INVALID`.)
public struct AgentConfigurationRejected: Error, Sendable, Equatable, CustomStringConvertible {
    public var driverID: String
    public var reason: String
    public var description: String { "driver \(driverID) refused the configuration: \(reason)" }
}

/// No held command has this id. (HTTP: 404 `APPROVAL_NOT_FOUND`.)
public struct HeldCommandNotFound: Error, Sendable, Equatable, CustomStringConvertible {
    public var id: String
    public var description: String { "no held command \(id)" }
}

/// The command was already answered, expired or cancelled. (HTTP: 409 `APPROVAL_ALREADY_DECIDED`.)
public struct HeldCommandAlreadyDecided: Error, Sendable, Equatable, CustomStringConvertible {
    public var id: String
    public var status: CommandDecisionRecord.Status
    public var decidedBy: String?
    public var description: String {
        "command \(id) is not waiting for approval: it is \(status.rawValue)" + (decidedBy.map { " (by \($0))" } ?? "")
    }
}
