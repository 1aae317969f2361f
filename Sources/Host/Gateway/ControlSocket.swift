import Foundation

/// The owning process's control channel: a Unix socket in the data directory (mode 0600, so only
/// the gateway's own user reaches it) taking one JSON request per line and answering one JSON line.
/// Other processes on the same data directory send session and approval changes through it.
public enum ControlSocket {
    public static func path(in dataDirectory: URL) -> String {
        dataDirectory.appendingPathComponent("control.sock").path
    }
}

/// A request to the owning process.
enum ControlRequest: Codable, Sendable, Equatable {
    case create(agentID: String, task: String)
    case cancel(sessionID: String)
    case pause(sessionID: String)
    case resume(sessionID: String)
    case approve(id: String, by: String)
    case deny(id: String, by: String)
}

/// The owner's answer: the session or decision after the request, or a typed error.
struct ControlResponse: Codable, Sendable {
    var session: SessionRecord?
    var decision: CommandDecisionRecord?
    var error: ControlFailure?
}

/// An error carried across the socket, turned back into the same typed error on the other side.
struct ControlFailure: Codable, Sendable, Equatable {
    var code: String
    var message: String
    var id: String?
    var from: String?
    var to: String?
    var status: String?
    var decidedBy: String?
    var driverID: String?

    init(_ error: any Error) {
        message = "\(error)"
        switch error {
        case let error as SessionNotFound: code = "SESSION_NOT_FOUND"; id = error.sessionID
        case let error as IllegalSessionTransition:
            code = "ILLEGAL_TRANSITION"; id = error.sessionID; from = error.from.rawValue; to = error.to.rawValue
        case let error as PauseUnsupported: code = "PAUSE_UNSUPPORTED"; id = error.sessionID; driverID = error.driverID
        case let error as AgentNotFound: code = "AGENT_NOT_FOUND"; id = error.agent
        case let error as HeldCommandNotFound: code = "APPROVAL_NOT_FOUND"; id = error.id
        case let error as HeldCommandAlreadyDecided:
            code = "APPROVAL_ALREADY_DECIDED"; id = error.id; status = error.status.rawValue; decidedBy = error.decidedBy
        case let error as InvalidRequest: code = "INVALID_REQUEST"; id = error.field; message = error.reason
        case let error as ControlUnavailable: code = "UNAVAILABLE"; message = error.reason
        default: code = "INTERNAL"
        }
    }

    var error: any Error {
        switch code {
        case "SESSION_NOT_FOUND": return SessionNotFound(sessionID: id ?? "?")
        case "ILLEGAL_TRANSITION":
            if let from = from.flatMap(SessionState.init(rawValue:)), let to = to.flatMap(SessionState.init(rawValue:)) {
                return IllegalSessionTransition(sessionID: id, from: from, to: to)
            }
        case "PAUSE_UNSUPPORTED": return PauseUnsupported(sessionID: id ?? "?", driverID: driverID ?? "?")
        case "AGENT_NOT_FOUND": return AgentNotFound(agent: id ?? "?")
        case "APPROVAL_NOT_FOUND": return HeldCommandNotFound(id: id ?? "?")
        case "APPROVAL_ALREADY_DECIDED":
            if let status = status.flatMap(CommandDecisionRecord.Status.init(rawValue:)) {
                return HeldCommandAlreadyDecided(id: id ?? "?", status: status, decidedBy: decidedBy)
            }
        case "INVALID_REQUEST": return InvalidRequest(field: id ?? "request", reason: message)
        case "UNAVAILABLE": return ControlUnavailable(reason: message)
        default: break
        }
        return ControlUnavailable(reason: "the owning process failed: \(message)")
    }
}

/// The process that owns the data directory could not be reached, or failed. (HTTP: 503.)
public struct ControlUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// Carries out control requests in the owning process, through its services.
struct ControlRequestHandler: Sendable {
    let gateway: Gateway

    func handle(_ request: ControlRequest) async -> ControlResponse {
        do {
            switch request {
            case .create(let agentID, let task): return ControlResponse(session: try await gateway.sessions.create(agentID: agentID, task: task))
            case .cancel(let id): return ControlResponse(session: try await gateway.sessions.cancel(id))
            case .pause(let id): return ControlResponse(session: try await gateway.sessions.pause(id))
            case .resume(let id): return ControlResponse(session: try await gateway.sessions.resume(id))
            case .approve(let id, let by): return ControlResponse(decision: try await gateway.approvals.approve(id, by: by))
            case .deny(let id, let by): return ControlResponse(decision: try await gateway.approvals.deny(id, by: by))
            }
        } catch {
            return ControlResponse(error: ControlFailure(error))
        }
    }
}

enum ControlCoding {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }
}
