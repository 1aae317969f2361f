import Foundation

/// What a streaming reply hands on as it arrives.
enum StreamOutput: Sendable, Equatable {
    case text(String)
    case thinking(String)
    case toolCall(ModelReply.ToolCall)
}

/// A reply stream that cannot be read, or that reported an error itself.
enum StreamProblem: Error, Sendable, Equatable {
    /// Data that is not what the wire format documents: what is wrong, and the offending part.
    case malformed(String, excerpt: String)
    /// An error the provider sent inside the stream (its type, such as `overloaded_error`).
    case provider(type: String, message: String)
}

/// Turns a provider's server-sent events into a ``ModelReply``.
protocol ReplyDecoder: Sendable {
    /// Reads one event; returns what should be shown at once.
    mutating func consume(_ event: ServerSentEvent) throws(StreamProblem) -> [StreamOutput]
    /// True once the stream's end marker arrived.
    var isComplete: Bool { get }
    var reply: ModelReply { get }
}

/// A request body and where it goes, for one wire format.
struct ProviderRequest: Sendable {
    var url: String
    var headers: [(String, String)]
    var body: [UInt8]
}

enum WireJSON {
    static func object(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    static func encode(_ value: Any) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: value, options: [.withoutEscapingSlashes])) ?? Data("{}".utf8))
    }

    /// At most 300 characters of `text`, for an error message.
    static func excerpt(_ text: String) -> String {
        text.count <= 300 ? text : String(text.prefix(300)) + "…"
    }

    static func int(_ value: Any?) -> Int { (value as? NSNumber)?.intValue ?? 0 }
}

// MARK: - Anthropic Messages API

enum AnthropicFormat {
    static func request(_ conversation: Conversation, system: String, tools: [ToolDefinition], configuration: SDKConfiguration,
                        apiKey: String) -> ProviderRequest {
        let cache: [String: Any] = ["type": "ephemeral"]
        var systemBlock: [String: Any] = ["type": "text", "text": system]
        let toolList: [[String: Any]] = tools.map { ["name": $0.name, "description": $0.description, "input_schema": $0.schemaObject] }
        // The cache's prefix runs tools, system, messages: a breakpoint on the system prompt caches
        // the tools with it, and one on the newest block caches the conversation so far, which the
        // next step reads back.
        if configuration.promptCaching { systemBlock["cache_control"] = cache }
        var messages: [[String: Any]] = conversation.messages.map { message in
            ["role": message.role.rawValue, "content": message.blocks.map { block -> [String: Any] in
                switch block {
                case .text(let text): return ["type": "text", "text": text]
                case .toolUse(let id, let name, let input):
                    return ["type": "tool_use", "id": id, "name": name, "input": WireJSON.object(input) ?? [String: Any]()]
                case .toolResult(let id, let output, let isError):
                    return ["type": "tool_result", "tool_use_id": id, "content": output, "is_error": isError]
                }
            }]
        }
        if configuration.promptCaching, var last = messages.last, var blocks = last["content"] as? [[String: Any]], !blocks.isEmpty {
            blocks[blocks.count - 1]["cache_control"] = cache
            last["content"] = blocks
            messages[messages.count - 1] = last
        }
        let body: [String: Any] = ["model": configuration.model, "max_tokens": configuration.maxTokens, "stream": true,
                                   "system": [systemBlock], "tools": toolList, "messages": messages]
        return ProviderRequest(url: configuration.baseURL + "/v1/messages",
                               headers: [("x-api-key", apiKey), ("anthropic-version", configuration.anthropicVersion),
                                         ("content-type", "application/json"), ("accept", "text/event-stream")],
                               body: WireJSON.encode(body))
    }

    /// The Messages API's stream: `message_start`, then per content block `content_block_start`,
    /// deltas and `content_block_stop`, then `message_delta` (stop reason, output tokens) and
    /// `message_stop`; `ping` any time, `error` any time.
    struct Decoder: ReplyDecoder {
        private(set) var reply = ModelReply()
        private(set) var isComplete = false
        private var started = false
        /// Open blocks by index: their kind and, for tool calls, the call so far.
        private var open: [Int: (kind: String, call: ModelReply.ToolCall?)] = [:]

        mutating func consume(_ event: ServerSentEvent) throws(StreamProblem) -> [StreamOutput] {
            guard let object = WireJSON.object(event.data) else {
                throw .malformed("an event's data is not a JSON object", excerpt: WireJSON.excerpt(event.data))
            }
            let type = event.event ?? object["type"] as? String ?? ""
            func malformed(_ what: String) -> StreamProblem { .malformed(what, excerpt: WireJSON.excerpt(event.data)) }
            switch type {
            case "ping":
                return []
            case "error":
                let error = object["error"] as? [String: Any]
                throw .provider(type: error?["type"] as? String ?? "error", message: error?["message"] as? String ?? WireJSON.excerpt(event.data))
            case "message_start":
                guard let message = object["message"] as? [String: Any] else { throw malformed("message_start has no message") }
                started = true
                let usage = message["usage"] as? [String: Any] ?? [:]
                reply.inputTokens = WireJSON.int(usage["input_tokens"])
                reply.outputTokens = WireJSON.int(usage["output_tokens"])
                reply.cacheReadTokens = WireJSON.int(usage["cache_read_input_tokens"])
                reply.cacheWriteTokens = WireJSON.int(usage["cache_creation_input_tokens"])
                return []
            default:
                guard started else { throw malformed("\(type) came before message_start") }
            }
            switch type {
            case "content_block_start":
                guard let index = object["index"] as? Int, let block = object["content_block"] as? [String: Any],
                      let kind = block["type"] as? String else { throw malformed("content_block_start needs an index and a content_block") }
                guard open[index] == nil else { throw malformed("content block \(index) started twice") }
                if kind == "tool_use" {
                    guard let id = block["id"] as? String, let name = block["name"] as? String else { throw malformed("a tool_use block needs an id and a name") }
                    open[index] = (kind, ModelReply.ToolCall(id: id, name: name, input: ""))
                    return []
                }
                open[index] = (kind, nil)
                if kind == "text", let text = block["text"] as? String, !text.isEmpty {
                    reply.text += text
                    return [.text(text)]
                }
                return []
            case "content_block_delta":
                guard let index = object["index"] as? Int, let delta = object["delta"] as? [String: Any],
                      let kind = delta["type"] as? String else { throw malformed("content_block_delta needs an index and a delta") }
                guard var block = open[index] else { throw malformed("a delta for content block \(index), which is not open") }
                switch kind {
                case "text_delta":
                    guard let text = delta["text"] as? String else { throw malformed("a text_delta without text") }
                    reply.text += text
                    return [.text(text)]
                case "input_json_delta":
                    guard let part = delta["partial_json"] as? String, block.call != nil else { throw malformed("an input_json_delta outside a tool_use block") }
                    block.call!.input += part
                    open[index] = block
                    return []
                case "thinking_delta":
                    return (delta["thinking"] as? String).map { [.thinking($0)] } ?? []
                default:
                    return []  // signature_delta, citations_delta and newer kinds carry nothing to show.
                }
            case "content_block_stop":
                guard let index = object["index"] as? Int, let block = open.removeValue(forKey: index) else {
                    throw malformed("content_block_stop for a block that is not open")
                }
                guard var call = block.call else { return [] }
                if call.input.trimmingCharacters(in: .whitespaces).isEmpty { call.input = "{}" }
                reply.toolCalls.append(call)
                return [.toolCall(call)]
            case "message_delta":
                if let delta = object["delta"] as? [String: Any], let reason = delta["stop_reason"] as? String { reply.stopReason = reason }
                if let usage = object["usage"] as? [String: Any] {
                    // Cumulative counts: the last message_delta holds the totals.
                    if usage["output_tokens"] != nil { reply.outputTokens = WireJSON.int(usage["output_tokens"]) }
                    if usage["input_tokens"] != nil { reply.inputTokens = WireJSON.int(usage["input_tokens"]) }
                    if usage["cache_read_input_tokens"] != nil { reply.cacheReadTokens = WireJSON.int(usage["cache_read_input_tokens"]) }
                    if usage["cache_creation_input_tokens"] != nil { reply.cacheWriteTokens = WireJSON.int(usage["cache_creation_input_tokens"]) }
                }
                return []
            case "message_stop":
                guard open.isEmpty else { throw malformed("message_stop while content blocks are still open") }
                isComplete = true
                return []
            default:
                return []  // Event types newer than this driver are ignored, as the API's versioning asks.
            }
        }
    }
}

// MARK: - OpenAI Chat Completions API

enum OpenAIFormat {
    static func request(_ conversation: Conversation, system: String, tools: [ToolDefinition], configuration: SDKConfiguration,
                        apiKey: String) -> ProviderRequest {
        var messages: [[String: Any]] = [["role": "system", "content": system]]
        for message in conversation.messages {
            switch message.role {
            case .assistant:
                var entry: [String: Any] = ["role": "assistant"]
                let text = message.blocks.compactMap { if case .text(let text) = $0 { text } else { nil } }.joined()
                entry["content"] = text.isEmpty ? NSNull() : text
                let calls: [[String: Any]] = message.blocks.compactMap {
                    guard case .toolUse(let id, let name, let input) = $0 else { return nil }
                    return ["id": id, "type": "function", "function": ["name": name, "arguments": input]]
                }
                if !calls.isEmpty { entry["tool_calls"] = calls }
                messages.append(entry)
            case .user:
                for block in message.blocks {
                    switch block {
                    case .text(let text): messages.append(["role": "user", "content": text])
                    case .toolResult(let id, let output, let isError):
                        // Chat Completions has no error flag on a tool message: the text says it.
                        messages.append(["role": "tool", "tool_call_id": id, "content": isError ? "Error: " + output : output])
                    case .toolUse: break
                    }
                }
            }
        }
        let toolList: [[String: Any]] = tools.map {
            ["type": "function", "function": ["name": $0.name, "description": $0.description, "parameters": $0.schemaObject]]
        }
        let body: [String: Any] = ["model": configuration.model, configuration.maxTokensField: configuration.maxTokens, "stream": true,
                                   "stream_options": ["include_usage": true], "messages": messages, "tools": toolList]
        return ProviderRequest(url: configuration.baseURL + "/chat/completions",
                               headers: [("authorization", "Bearer " + apiKey), ("content-type", "application/json"),
                                         ("accept", "text/event-stream")],
                               body: WireJSON.encode(body))
    }

    /// Chat Completions chunks: `choices[0].delta` with `content` and `tool_calls` fragments (by
    /// index; the first fragment of a call has its id and name), `finish_reason` on the last
    /// choice chunk, a usage chunk with no choices, then `data: [DONE]`.
    struct Decoder: ReplyDecoder {
        private(set) var reply = ModelReply()
        private(set) var isComplete = false
        private var calls: [Int: ModelReply.ToolCall] = [:]

        mutating func consume(_ event: ServerSentEvent) throws(StreamProblem) -> [StreamOutput] {
            if event.data.trimmingCharacters(in: .whitespaces) == "[DONE]" {
                reply.toolCalls = calls.keys.sorted().map { calls[$0]! }.map { call in
                    var call = call
                    if call.input.trimmingCharacters(in: .whitespaces).isEmpty { call.input = "{}" }
                    return call
                }
                isComplete = true
                return reply.toolCalls.map { .toolCall($0) }
            }
            guard let object = WireJSON.object(event.data) else {
                throw .malformed("a chunk is not a JSON object", excerpt: WireJSON.excerpt(event.data))
            }
            func malformed(_ what: String) -> StreamProblem { .malformed(what, excerpt: WireJSON.excerpt(event.data)) }
            if let error = object["error"] as? [String: Any] {
                throw .provider(type: error["code"] as? String ?? error["type"] as? String ?? "error",
                                message: error["message"] as? String ?? WireJSON.excerpt(event.data))
            }
            if let usage = object["usage"] as? [String: Any] {
                let cached = WireJSON.int((usage["prompt_tokens_details"] as? [String: Any])?["cached_tokens"])
                // prompt_tokens includes the cached ones; they are counted apart, as Anthropic does.
                reply.inputTokens = WireJSON.int(usage["prompt_tokens"]) - cached
                reply.cacheReadTokens = cached
                reply.outputTokens = WireJSON.int(usage["completion_tokens"])
            }
            guard let choices = object["choices"] as? [[String: Any]] else {
                if object["usage"] != nil { return [] }
                throw malformed("a chunk with neither choices nor usage")
            }
            var outputs: [StreamOutput] = []
            for choice in choices where WireJSON.int(choice["index"]) == 0 {
                if let reason = choice["finish_reason"] as? String { reply.stopReason = reason }
                guard let delta = choice["delta"] as? [String: Any] else { continue }
                if let text = delta["content"] as? String, !text.isEmpty {
                    reply.text += text
                    outputs.append(.text(text))
                }
                if let reasoning = delta["reasoning_content"] as? String, !reasoning.isEmpty { outputs.append(.thinking(reasoning)) }
                for fragment in delta["tool_calls"] as? [[String: Any]] ?? [] {
                    guard let index = fragment["index"] as? Int else { throw malformed("a tool_calls fragment without an index") }
                    let function = fragment["function"] as? [String: Any] ?? [:]
                    if calls[index] == nil {
                        guard let id = fragment["id"] as? String, let name = function["name"] as? String else {
                            throw malformed("the first fragment of tool call \(index) has no id or no function name")
                        }
                        calls[index] = ModelReply.ToolCall(id: id, name: name, input: "")
                    }
                    if let arguments = function["arguments"] as? String { calls[index]!.input += arguments }
                }
            }
            return outputs
        }
    }
}
