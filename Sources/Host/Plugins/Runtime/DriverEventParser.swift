import Foundation

/// A driver event that passed the `flywheel.event/1` checks.
public struct ParsedDriverEvent: Sendable, Equatable {
    public var type: String
    /// The event exactly as the driver sent it (a JSON object).
    public var json: String
    public var isTerminal: Bool { DriverEventParser.terminalTypes.contains(type) }
}

/// Why an emitted event was not accepted.
public struct DriverEventProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
}

/// Checks events against the `flywheel.event/1` schema documented in `driver.h`.
public enum DriverEventParser {
    public static let terminalTypes: Set<String> = ["completed", "failed", "cancelled"]

    /// Required members per known type, with the JSON kind each must have.
    private static let required: [String: [(String, Kind)]] = [
        "status": [("message", .string)],
        "message": [("role", .string), ("text", .string)],
        "thinking": [("text", .string)],
        "tool_call": [("id", .string), ("name", .string)],
        "tool_result": [("id", .string)],
        "usage": [],
        "rate_limited": [("provider", .string)],
        "account_unusable": [("provider", .string), ("status", .string), ("reason", .string)],
        "completed": [],
        "failed": [("error", .string)],
        "cancelled": [],
    ]

    private enum Kind { case string }

    public static func parse(_ bytes: [UInt8]) throws(DriverEventProblem) -> ParsedDriverEvent {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw DriverEventProblem(description: "the event is not valid UTF-8")
        }
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
                throw DriverEventProblem(description: "the event is not a JSON object")
            }
            object = parsed
        } catch let problem as DriverEventProblem {
            throw problem
        } catch {
            throw DriverEventProblem(description: "the event is not valid JSON: \(String(text.prefix(120)))")
        }
        guard let type = object["type"] as? String, !type.isEmpty else {
            throw DriverEventProblem(description: "the event has no string 'type'")
        }
        if type.hasPrefix("host.") {
            throw DriverEventProblem(description: "event type '\(type)' is reserved for the host")
        }
        for (member, _) in required[type] ?? [] where !(object[member] is String) {
            throw DriverEventProblem(description: "a '\(type)' event needs a string '\(member)'")
        }
        if type == "rate_limited", object["retry_after_seconds"] == nil, object["reset_at"] == nil {
            throw DriverEventProblem(description: "a 'rate_limited' event needs 'retry_after_seconds' or 'reset_at'")
        }
        if type == "account_unusable", !["invalid", "disabled"].contains(object["status"] as? String ?? "") {
            throw DriverEventProblem(description: "an 'account_unusable' event's status must be \"invalid\" or \"disabled\"")
        }
        return ParsedDriverEvent(type: type, json: text)
    }
}
