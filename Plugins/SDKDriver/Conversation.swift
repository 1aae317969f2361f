import Foundation

/// The conversation of one run, in a form both wire formats are built from. It is also the run's
/// checkpoint: saved after every finished step, so a session resumes after a restart with the
/// model seeing everything it saw before.
struct Conversation: Codable, Sendable, Equatable {
    enum Block: Codable, Sendable, Equatable {
        case text(String)
        /// `input` is the tool call's arguments as JSON text (an object).
        case toolUse(id: String, name: String, input: String)
        case toolResult(id: String, output: String, isError: Bool)
    }

    struct Message: Codable, Sendable, Equatable {
        enum Role: String, Codable, Sendable { case user, assistant }
        var role: Role
        var blocks: [Block]
    }

    /// What a run has used so far, against its limits.
    struct Totals: Codable, Sendable, Equatable {
        var steps = 0
        var inputTokens = 0
        var outputTokens = 0
        var cacheReadTokens = 0
        var cacheWriteTokens = 0
        var costUSD = 0.0

        var tokens: Int { inputTokens + outputTokens + cacheReadTokens + cacheWriteTokens }
    }

    static let version = 1
    var version = Conversation.version
    var messages: [Message]
    var totals = Totals()

    init(task: String) {
        messages = [Message(role: .user, blocks: [.text(task)])]
    }

    init(checkpoint bytes: [UInt8]) throws {
        let decoded = try JSONDecoder().decode(Conversation.self, from: Data(bytes))
        guard decoded.version == Self.version else {
            throw CheckpointError(description: "the checkpoint is of version \(decoded.version); this driver reads version \(Self.version)")
        }
        guard decoded.messages.last?.role == .user else {
            throw CheckpointError(description: "the checkpoint does not end with the user's turn")
        }
        self = decoded
    }

    struct CheckpointError: Error, CustomStringConvertible { var description: String }

    var bytes: [UInt8] {
        Array((try? JSONEncoder().encode(self)) ?? Data())
    }

    /// The text of the model's last reply.
    var lastReply: String {
        guard let message = messages.last(where: { $0.role == .assistant }) else { return "" }
        return message.blocks.compactMap { if case .text(let text) = $0 { text } else { nil } }.joined()
    }
}

/// One reply of the model, as its stream assembled it.
struct ModelReply: Sendable {
    struct ToolCall: Sendable, Equatable {
        var id: String
        var name: String
        /// The arguments as the model streamed them: JSON text, not yet checked.
        var input: String
    }

    var text = ""
    var toolCalls: [ToolCall] = []
    /// The provider's own word: `end_turn`, `tool_use`, `max_tokens`, `stop`, `tool_calls`, `length`, ...
    var stopReason: String?
    var inputTokens = 0
    var outputTokens = 0
    var cacheReadTokens = 0
    var cacheWriteTokens = 0

    /// Ordered as the model wrote them: the text first, then the calls.
    var blocks: [Conversation.Block] {
        // A text block of whitespace only is refused by the Messages API when sent back.
        (text.allSatisfy(\.isWhitespace) ? [] : [.text(text)]) + toolCalls.map { .toolUse(id: $0.id, name: $0.name, input: $0.input) }
    }
}
