import Foundation

/// An error the server answered with: its HTTP status and the stable `code` of the body
/// `{"error": {"code", "message", "hint", "field"}}` (docs/api.md lists the codes).
public struct FlywheelAPIError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var message: String
    public var hint: String?
    public var field: String?
    /// The server's id for the request; its log lines carry it.
    public var requestID: String?
    /// Seconds to wait before trying again, for `RATE_LIMITED`.
    public var retryAfter: Int?

    public var description: String {
        var text = "\(message) (\(code))"
        if let hint { text += ". \(hint)" }
        return text
    }
}

/// A failure on the client's side of the API: a server that cannot be reached or that answered
/// something that is not the API, or missing credentials.
public struct FlywheelClientError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case invalidServer, notSignedIn, unreachable, unexpectedResponse, credentialsFile }
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
