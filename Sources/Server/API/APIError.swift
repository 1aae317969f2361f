import Foundation
import Host
import HTTPTypes
import Hummingbird
import NIOCore

/// Every error the API answers with: `{"error": {"code", "message", "hint", "field"}}` and a status.
/// `code` is stable and meant for programs; `message` is for people and may change.
public struct APIError: Error, Sendable, Equatable, HTTPResponseError {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var hint: String?
    /// The request field at fault, for 400s about one field.
    public var field: String?
    /// For a text that does not read (a policy), the line of it at fault.
    public var line: Int?
    /// Extra headers (`WWW-Authenticate`, `Retry-After`).
    public var headers: [(HTTPField.Name, String)] = []

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, hint: String? = nil, field: String? = nil, line: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint
        self.field = field
        self.line = line
    }

    public static func == (lhs: APIError, rhs: APIError) -> Bool {
        lhs.status == rhs.status && lhs.code == rhs.code && lhs.message == rhs.message && lhs.hint == rhs.hint && lhs.field == rhs.field && lhs.line == rhs.line
    }

    struct Body: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
            var hint: String?
            var field: String?
            var line: Int?
        }
        var error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = try APIJSON.encoder.encode(Body(error: .init(code: code, message: message, hint: hint, field: field, line: line)))
        var fields = HTTPFields()
        fields[.contentType] = "application/json; charset=utf-8"
        for (name, value) in headers { fields[name] = value }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension APIError {
    /// The API error for anything a route throws: the host's typed errors keep their meaning; an
    /// error nobody expected is a 500 that shows no internals (the log has them, by request id).
    init(_ error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as InvalidRequest:
            self.init(.badRequest, "INVALID_FIELD", error.description, field: error.field)
        case let error as SessionNotFound:
            self.init(.notFound, "SESSION_NOT_FOUND", error.description, hint: "List sessions with GET /api/sessions")
        case let error as AgentNotFound:
            self.init(.notFound, "AGENT_NOT_FOUND", error.description, hint: "List agents with GET /api/agents")
        case let error as UserNotFound:
            self.init(.notFound, "USER_NOT_FOUND", error.description)
        case let error as APIKeyNotFound:
            self.init(.notFound, "API_KEY_NOT_FOUND", error.description)
        case let error as APIKeyRejected:
            self = .unauthenticated(error.description, code: "INVALID_API_KEY")
        case let error as HeldCommandNotFound:
            self.init(.notFound, "APPROVAL_NOT_FOUND", error.description, hint: "List held commands with GET /api/dcg/pending")
        case let error as IllegalSessionTransition:
            self.init(.conflict, "ILLEGAL_TRANSITION", error.description,
                      hint: "The session is \(error.from.rawValue); it cannot become \(error.to.rawValue) from there")
        case let error as PauseUnsupported:
            self.init(.conflict, "PAUSE_UNSUPPORTED", error.description)
        case let error as HeldCommandAlreadyDecided:
            self.init(.conflict, "APPROVAL_ALREADY_DECIDED", error.description)
        case let error as LastAdmin:
            self.init(.conflict, "LAST_ADMIN", error.description)
        case let error as AccountNotFound:
            self.init(.notFound, "ACCOUNT_NOT_FOUND", error.description, hint: "List accounts with GET /api/accounts")
        case let error as ProviderNotConfigured:
            self.init(.unprocessableContent, "PROVIDER_NOT_CONFIGURED", error.description,
                      hint: "[accounts.providers.\(error.provider)] in flywheel.toml says where its API is (format, base_url)")
        case let error as AccountExists:
            self.init(.conflict, "ACCOUNT_EXISTS", error.description)
        case let error as EmailTaken:
            self.init(.conflict, "EMAIL_TAKEN", error.description)
        case let error as DriverNotLoaded:
            self.init(.unprocessableContent, "DRIVER_NOT_LOADED", error.description, hint: "GET /api/plugins lists the loaded drivers", field: "driverId")
        case let error as WorkspaceNotAllowed:
            self.init(.unprocessableContent, "WORKSPACE_NOT_ALLOWED", error.description,
                      hint: "leave workspace out for a folder of the gateway's workspaces folder", field: "workspace")
        case let error as AgentConfigurationRejected:
            self.init(.unprocessableContent, "AGENT_CONFIG_INVALID", error.description, field: "config")
        case let error as InvalidCredentials:
            self.init(.unauthorized, "INVALID_CREDENTIALS", error.description)
        case let error as RefreshTokenRejected:
            self.init(.unauthorized, error.reason == .reused ? "REFRESH_TOKEN_REUSED" : "INVALID_REFRESH_TOKEN", error.description,
                      hint: "POST /auth/login for a new sign-in")
        case let error as PolicyRejected:
            self.init(.unprocessableContent, "INVALID_POLICY", error.description, hint: "flywheel dcg packs lists the packs and rule ids",
                      field: "toml", line: error.line)
        case let error as PolicyChanged:
            self.init(.conflict, "POLICY_CHANGED", error.description, hint: "GET /api/dcg/config, then change what it returns")
        case let error as PolicyNotChangeable:
            self.init(.conflict, "NOT_OWNER", error.description)
        case let error as PluginDirectoryError:
            self.init(.internalServerError, "PLUGIN_DIRECTORY_UNREADABLE", error.description, hint: "Check the plugins directory's permissions")
        case let error as StoreError where error.kind == .invalidCursor:
            self.init(.badRequest, "INVALID_FIELD", error.message, field: "cursor")
        case let error as StoreError where error.kind == .readOnly:
            self.init(.serviceUnavailable, "READ_ONLY", "the gateway's database cannot be written here")
        case let error as StoreError where error.kind == .conflict:
            self.init(.conflict, "CONFLICT", "the change conflicts with stored data")
        case let error as HTTPError:
            self.init(httpError: error)
        case is NIOTooManyBytesError:
            self.init(.contentTooLarge, "BODY_TOO_LARGE", "the request body is larger than the gateway accepts")
        default:
            self.init(.internalServerError, "INTERNAL", "the gateway failed to answer; the log has details under this request's id")
        }
    }

    /// Errors Hummingbird itself raises: no route, wrong method, a body over the limit.
    init(httpError error: HTTPError) {
        switch error.status {
        case .notFound: self.init(.notFound, "NOT_FOUND", "no such route", hint: "GET /openapi.json lists the routes")
        case .methodNotAllowed: self.init(.methodNotAllowed, "METHOD_NOT_ALLOWED", "the route does not take this method")
        case .contentTooLarge: self.init(.contentTooLarge, "BODY_TOO_LARGE", "the request body is larger than the gateway accepts")
        case .badRequest: self.init(.badRequest, "BAD_REQUEST", error.body ?? "the request is malformed")
        default: self.init(error.status, "HTTP_\(error.status.code)", error.body ?? error.status.reasonPhrase)
        }
    }

    static func unauthenticated(_ message: String, code: String = "UNAUTHENTICATED") -> APIError {
        var error = APIError(.unauthorized, code, message, hint: "Send Authorization: Bearer <token> (POST /auth/login gives one)")
        error.headers = [(.wwwAuthenticate, "Bearer realm=\"flywheel\"")]
        return error
    }

    static func forbidden(role: UserRecord.Role, needs: UserRecord.Role) -> APIError {
        APIError(.forbidden, "FORBIDDEN", "this needs the \(needs.rawValue) role; you are \(role.rawValue)")
    }
}
