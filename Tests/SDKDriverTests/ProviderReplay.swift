import Foundation
import HostTestSupport

/// Streams as the providers document them, and the HTTP responses that carry them.
enum Replay {
    struct Call {
        var id: String
        var name: String
        /// The arguments as JSON text, streamed in fragments of `fragment` characters.
        var arguments: String
    }

    /// Anthropic Messages API streaming (`stream: true`): message_start, content blocks with their
    /// deltas, message_delta with the stop reason and usage, message_stop; a ping among them.
    static func anthropic(text: String? = nil, calls: [Call] = [], stop: String, input: Int = 30, output: Int = 12,
                          cacheRead: Int = 0, cacheWrite: Int = 0, fragment: Int = 9) -> String {
        var events: [(String, [String: Any])] = []
        events.append(("message_start", ["type": "message_start", "message": [
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5",
            "stop_reason": NSNull(), "stop_sequence": NSNull(),
            "usage": ["input_tokens": input, "output_tokens": 1, "cache_read_input_tokens": cacheRead, "cache_creation_input_tokens": cacheWrite],
        ] as [String: Any]]))
        var index = 0
        if let text {
            events.append(("content_block_start", ["type": "content_block_start", "index": index, "content_block": ["type": "text", "text": ""]]))
            events.append(("ping", ["type": "ping"]))
            for piece in pieces(text, 4) {
                events.append(("content_block_delta", ["type": "content_block_delta", "index": index, "delta": ["type": "text_delta", "text": piece]]))
            }
            events.append(("content_block_stop", ["type": "content_block_stop", "index": index]))
            index += 1
        }
        for call in calls {
            events.append(("content_block_start", ["type": "content_block_start", "index": index,
                                                   "content_block": ["type": "tool_use", "id": call.id, "name": call.name, "input": [String: Any]()]]))
            events.append(("content_block_delta", ["type": "content_block_delta", "index": index, "delta": ["type": "input_json_delta", "partial_json": ""]]))
            for piece in pieces(call.arguments, fragment) {
                events.append(("content_block_delta", ["type": "content_block_delta", "index": index,
                                                       "delta": ["type": "input_json_delta", "partial_json": piece]]))
            }
            events.append(("content_block_stop", ["type": "content_block_stop", "index": index]))
            index += 1
        }
        events.append(("message_delta", ["type": "message_delta", "delta": ["stop_reason": stop, "stop_sequence": NSNull()],
                                         "usage": ["output_tokens": output]]))
        events.append(("message_stop", ["type": "message_stop"]))
        return events.map { "event: \($0.0)\ndata: \(json($0.1))\n\n" }.joined()
    }

    /// An error event in the middle of an Anthropic stream, after message_start.
    static func anthropicStreamError(type: String, message: String) -> String {
        "event: message_start\ndata: " + json(["type": "message_start", "message": ["id": "msg_1", "type": "message", "role": "assistant",
                                                                                      "content": [], "usage": ["input_tokens": 5, "output_tokens": 1]] as [String: Any]])
            + "\n\nevent: error\ndata: " + json(["type": "error", "error": ["type": type, "message": message]]) + "\n\n"
    }

    /// OpenAI Chat Completions streaming: chunks whose `choices[0].delta` carries content or
    /// tool-call fragments (id and name in the first fragment of each call), a chunk with the
    /// finish reason, a usage chunk with no choices (stream_options.include_usage), then [DONE].
    static func openAI(text: String? = nil, calls: [Call] = [], finish: String, prompt: Int = 40, completion: Int = 15, cached: Int = 0,
                       lineEnd: String = "\n") -> String {
        var chunks: [[String: Any]] = []
        func chunk(_ delta: [String: Any], finish: String? = nil) -> [String: Any] {
            ["id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1_694_268_190, "model": "gpt-4.1",
             "choices": [["index": 0, "delta": delta, "logprobs": NSNull(), "finish_reason": finish ?? NSNull()] as [String: Any]]]
        }
        chunks.append(chunk(["role": "assistant", "content": ""]))
        if let text { for piece in pieces(text, 3) { chunks.append(chunk(["content": piece])) } }
        for (index, call) in calls.enumerated() {
            chunks.append(chunk(["tool_calls": [["index": index, "id": call.id, "type": "function", "function": ["name": call.name, "arguments": ""]]]]))
        }
        // Fragments of the calls interleaved, as parallel calls may stream.
        let fragments = calls.map { pieces($0.arguments, 7) }
        for step in 0..<(fragments.map(\.count).max() ?? 0) {
            for (index, parts) in fragments.enumerated() where step < parts.count {
                chunks.append(chunk(["tool_calls": [["index": index, "function": ["arguments": parts[step]]]]]))
            }
        }
        chunks.append(chunk([:], finish: finish))
        chunks.append(["id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1_694_268_190, "model": "gpt-4.1", "choices": [],
                       "usage": ["prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                                 "prompt_tokens_details": ["cached_tokens": cached]]])
        return chunks.map { "data: \(json($0))\(lineEnd)\(lineEnd)" }.joined() + "data: [DONE]\(lineEnd)\(lineEnd)"
    }

    /// A 200 response streaming `body` in chunks of `every` bytes (splitting lines, CRLFs and UTF-8
    /// sequences wherever they fall).
    static func stream(_ body: String, every: Int = 7, end: String = "complete", delayMilliseconds: Int = 0) -> [String: Any] {
        let bytes = Array(body.utf8)
        let chunks = stride(from: 0, to: bytes.count, by: every).map { Data(bytes[$0..<min($0 + every, bytes.count)]).base64EncodedString() }
        return ["status": 200, "headers": [["content-type", "text/event-stream"], ["cache-control", "no-cache"]], "chunks_b64": chunks,
                "end": end, "chunk_delay_ms": delayMilliseconds]
    }

    /// An error response with a JSON body.
    static func error(_ status: Int, _ body: [String: Any], headers: [[String]] = []) -> [String: Any] {
        ["status": status, "headers": [["content-type", "application/json"]] + headers, "chunks": [json(body)]]
    }

    static func anthropicError(_ status: Int, type: String, message: String, headers: [[String]] = []) -> [String: Any] {
        error(status, ["type": "error", "error": ["type": type, "message": message]], headers: headers)
    }

    static func json(_ object: Any) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }

    static func pieces(_ text: String, _ size: Int) -> [String] {
        var result: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            result.append(String(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        return result
    }
}
