import Foundation

/// A `flywheel.event/1` event a driver emits.
public enum DriverEvent: Sendable {
    case status(String)
    case message(role: String, text: String)
    case thinking(String)
    case toolCall(id: String, name: String, inputJSON: String)
    case toolResult(id: String, output: String, isError: Bool)
    case usage(inputTokens: Int, outputTokens: Int)
    case rateLimited(provider: String, retryAfterSeconds: Double)
    case completed(summary: String)
    case failed(error: String, retryable: Bool)
    case cancelled

    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .cancelled: true
        default: false
        }
    }

    /// The event as JSON text.
    public var json: String {
        switch self {
        case .status(let message): Self.object("status", ["message": message])
        case .message(let role, let text): Self.object("message", ["role": role, "text": text])
        case .thinking(let text): Self.object("thinking", ["text": text])
        case .toolCall(let id, let name, let input):
            Self.object("tool_call", ["id": id, "name": name, "input": Self.parsed(input)])
        case .toolResult(let id, let output, let isError):
            Self.object("tool_result", ["id": id, "output": output, "is_error": isError])
        case .usage(let input, let output): Self.object("usage", ["input_tokens": input, "output_tokens": output])
        case .rateLimited(let provider, let seconds):
            Self.object("rate_limited", ["provider": provider, "retry_after_seconds": seconds])
        case .completed(let summary): Self.object("completed", ["summary": summary])
        case .failed(let error, let retryable): Self.object("failed", ["error": error, "retryable": retryable])
        case .cancelled: Self.object("cancelled", [:])
        }
    }

    private static func parsed(_ json: String) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])) ?? [String: Any]()
    }

    private static func object(_ type: String, _ fields: [String: Any]) -> String {
        var object = fields
        object["type"] = type
        // Only strings, numbers, booleans and parsed JSON go in, so serialisation cannot fail.
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data(#"{"type":"failed","error":"event encoding failed"}"#.utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
