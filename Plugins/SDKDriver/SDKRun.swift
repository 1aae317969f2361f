import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PluginKit
import Synchronization

/// One run: the task as the first user message, then model calls and tool calls in turn until the
/// model ends its turn or a limit is reached. Every tool call is a command request to the host (or,
/// with `file_tools`, a confined file read or write), and its outcome goes back to the model.
final class SDKRun: Sendable {
    let configuration: SDKConfiguration
    let run: DriverRun
    let host: DriverHost
    let client: HTTPClient
    private let apiKey: String
    private let workspace: String
    private let files: WorkspaceFiles
    private let tools: [ToolDefinition]
    /// The conversation as of the last finished step (it ends with the user's turn): what a
    /// checkpoint saves.
    private let saved: Mutex<Conversation>
    /// Whether the step being asked has streamed text yet.
    private let streamedText = Atomic<Bool>(false)

    init(configuration: SDKConfiguration, run: DriverRun, host: DriverHost, client: HTTPClient, apiKey: String, workspace: String,
         conversation: Conversation) {
        self.configuration = configuration
        self.run = run
        self.host = host
        self.client = client
        self.apiKey = apiKey
        self.workspace = workspace
        self.files = WorkspaceFiles(workspace: workspace, maxBytes: configuration.maxFileBytes)
        self.tools = ToolDefinition.offered(fileTools: configuration.fileTools)
        self.saved = Mutex(conversation)
    }

    var checkpoint: [UInt8] { saved.withLock { $0.bytes } }

    // MARK: The loop

    func perform() async -> DriverEvent {
        switch await loop() {
        case .failed(let error, let retryable): .failed(error: redact(error), retryable: retryable)
        case let event: event
        }
    }

    private func loop() async -> DriverEvent {
        var conversation = saved.withLock { $0 }
        let system = configuration.system(workspace: workspace)
        while true {
            if Task.isCancelled { return .cancelled }
            let reply: ModelReply
            switch await step(conversation, system: system) {
            case .reply(let answer): reply = answer
            case .ended(let event): return event
            }
            conversation.totals.steps += 1
            account(reply, in: &conversation.totals)
            // The checkpoint keeps the last user turn until this step's tool results are in: a
            // resume then asks this step again rather than starting from half a step.
            conversation.messages.append(Conversation.Message(role: .assistant, blocks: reply.blocks))
            emit("x-sdk.turn", ["step": conversation.totals.steps, "stop_reason": reply.stopReason ?? NSNull(), "tool_calls": reply.toolCalls.count])

            if reply.toolCalls.isEmpty {
                switch reply.stopReason {
                case "max_tokens", "length":
                    return .failed(error: "the model's reply was cut off at max_tokens (\(configuration.maxTokens)) before it ended its turn", retryable: false)
                case "refusal", "content_filter":
                    return .failed(error: "the model refused to go on (stop reason \(reply.stopReason!))", retryable: false)
                default:
                    return .completed(summary: ToolOutcome.capped(conversation.lastReply, limit: 4000))
                }
            }
            if let limit = limitReached(conversation.totals) {
                return .failed(error: limit, retryable: false)
            }
            if Task.isCancelled { return .cancelled }
            // The calls are shown once the reply is whole: a retried step never leaves a call
            // without its result.
            for call in reply.toolCalls {
                emit("tool_call", ["id": call.id, "name": call.name, "input": WireJSON.object(call.input) ?? ["arguments": call.input]])
            }
            var results: [Conversation.Block] = []
            for call in reply.toolCalls {
                let outcome = await perform(call)
                if Task.isCancelled { return .cancelled }
                let output = ToolOutcome.capped(outcome.output, limit: configuration.maxToolOutputBytes)
                emit("tool_result", ["id": call.id, "output": output, "is_error": outcome.isError])
                results.append(.toolResult(id: call.id, output: output, isError: outcome.isError))
            }
            conversation.messages.append(Conversation.Message(role: .user, blocks: results))
            saved.withLock { $0 = conversation }
            run.offerCheckpoint(conversation.bytes)
        }
    }

    /// Adds a reply's usage to the totals, and says it as a `usage` event.
    private func account(_ reply: ModelReply, in totals: inout Conversation.Totals) {
        totals.inputTokens += reply.inputTokens
        totals.outputTokens += reply.outputTokens
        totals.cacheReadTokens += reply.cacheReadTokens
        totals.cacheWriteTokens += reply.cacheWriteTokens
        var usage: [String: Any] = [
            "input_tokens": reply.inputTokens, "output_tokens": reply.outputTokens,
            "cache_read_input_tokens": reply.cacheReadTokens, "cache_creation_input_tokens": reply.cacheWriteTokens,
            "model": configuration.model, "step": totals.steps,
        ]
        if let price = configuration.prices[configuration.model] {
            let cost = (Double(reply.inputTokens) * price.input + Double(reply.outputTokens) * price.output
                + Double(reply.cacheReadTokens) * price.cacheRead + Double(reply.cacheWriteTokens) * price.cacheWrite) / 1_000_000
            totals.costUSD += cost
            usage["cost_usd"] = cost
            usage["total_cost_usd"] = totals.costUSD
        }
        emit("usage", usage)
    }

    /// Why the run may not take another step, if it may not.
    private func limitReached(_ totals: Conversation.Totals) -> String? {
        if totals.steps >= configuration.maxSteps {
            return "step limit reached: \(totals.steps) model calls (max_steps = \(configuration.maxSteps)) and the model still wants tools"
        }
        if let limit = configuration.maxTotalTokens, totals.tokens >= limit {
            return "token limit reached: \(totals.tokens) tokens used (max_total_tokens = \(limit))"
        }
        if let budget = configuration.budgetUSD, totals.costUSD >= budget {
            return String(format: "spend budget reached: $%.4f spent (budget_usd = %.4f)", totals.costUSD, budget)
        }
        return nil
    }

    // MARK: One model call, with retries

    private enum StepResult {
        case reply(ModelReply)
        case ended(DriverEvent)
    }

    private enum StepError: Error {
        case http(ProviderFailure)
        case stream(StreamProblem)
        case network(String)
    }

    private func step(_ conversation: Conversation, system: String) async -> StepResult {
        var attempt = 0
        streamedText.store(false, ordering: .relaxed)
        while true {
            let problem: StepError
            do {
                return .reply(try await call(conversation, system: system))
            } catch let error as StepError {
                problem = error
            } catch {
                if Task.isCancelled { return .ended(.cancelled) }
                problem = .network(String(describing: error))
            }
            if Task.isCancelled { return .ended(.cancelled) }
            let reason: String
            var wait: Double?
            switch problem {
            case .network(let detail): reason = "network error: \(detail)"
            case .http(.rateLimited(let seconds, let message)) where seconds <= Self.shortRateLimit:
                // A limit that resets in a moment is waited out with the same account.
                reason = "rate limited for \(seconds) s: \(message)"
                wait = seconds
            case .http(let failure) where failure.retriesWithSameAccount: reason = Self.describe(failure)
            case .stream(.provider(let type, let message)) where type == "overloaded_error" || type == "api_error":
                reason = "the provider reported \(type) mid-stream: \(message)"
            default:
                return .ended(terminal(for: problem))
            }
            guard attempt < configuration.maxRetries else {
                if case .http(.rateLimited) = problem { return .ended(terminal(for: problem)) }  // Fails over after all.
                return .ended(.failed(error: "\(reason) (gave up after \(attempt + 1) attempts)", retryable: true))
            }
            // Exponential backoff with full jitter over its upper half.
            let ceiling = min(configuration.maxRetryDelay, configuration.retryDelay * pow(2, Double(attempt)))
            let delay = wait ?? ceiling * Double.random(in: 0.5...1.0)
            attempt += 1
            // Text this attempt already streamed is void: the step is asked again from the start.
            emit("x-sdk.retry", ["attempt": attempt, "delay_seconds": delay, "reason": reason, "discards_streamed_text": streamedText.load(ordering: .relaxed)])
            streamedText.store(false, ordering: .relaxed)
            do {
                try await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
            } catch {
                return .ended(.cancelled)
            }
        }
    }

    /// Rate limits that reset within this many seconds are waited out rather than failed over.
    static let shortRateLimit = 5.0

    private static func describe(_ failure: ProviderFailure) -> String {
        switch failure {
        case .rateLimited(_, let message): "rate limited: \(message)"
        case .overloaded(let message): "the provider is overloaded: \(message)"
        case .transient(_, let message): "server error: \(message)"
        case .accountInvalid(let message): "the account's key was refused: \(message)"
        case .accountExhausted(let message): "the account is out of credit or quota: \(message)"
        case .refused(_, let message): "the provider refused the request: \(message)"
        }
    }

    /// The terminal event for a problem that is not retried, after the events the host acts on.
    private func terminal(for problem: StepError) -> DriverEvent {
        switch problem {
        case .http(.rateLimited(let seconds, let message)):
            emit("rate_limited", ["provider": configuration.accountProvider, "retry_after_seconds": seconds])
            return .failed(error: "rate limited: \(message)", retryable: true)
        case .http(.accountInvalid(let message)):
            emit("account_unusable", ["provider": configuration.accountProvider, "status": "invalid", "reason": "the provider refused the key: \(message)"])
            return .failed(error: "the account's key was refused: \(message)", retryable: true)
        case .http(.accountExhausted(let message)):
            emit("account_unusable", ["provider": configuration.accountProvider, "status": "disabled", "reason": "out of credit or quota: \(message)"])
            return .failed(error: "the account is out of credit or quota: \(message)", retryable: true)
        case .http(let failure):
            return .failed(error: Self.describe(failure), retryable: false)
        case .stream(.malformed(let what, let excerpt)):
            emit("x-sdk.protocol_error", ["problem": what, "excerpt": excerpt])
            return .failed(error: "the provider's stream could not be read: \(what): \(excerpt)", retryable: false)
        case .stream(.provider(let type, let message)):
            return .failed(error: "the provider reported \(type) mid-stream: \(message)", retryable: false)
        case .network(let detail):
            return .failed(error: "network error: \(detail)", retryable: true)
        }
    }

    /// Sends the conversation and reads the streamed reply, emitting text as it arrives.
    private func call(_ conversation: Conversation, system: String) async throws -> ModelReply {
        let built: ProviderRequest
        var decoder: any ReplyDecoder
        switch configuration.provider {
        case .anthropic:
            built = AnthropicFormat.request(conversation, system: system, tools: tools, configuration: configuration, apiKey: apiKey)
            decoder = AnthropicFormat.Decoder()
        case .openai:
            built = OpenAIFormat.request(conversation, system: system, tools: tools, configuration: configuration, apiKey: apiKey)
            decoder = OpenAIFormat.Decoder()
        }
        var request = HTTPClientRequest(url: built.url)
        request.method = .POST
        for (name, value) in built.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: built.body))
        let response = try await client.execute(request, timeout: .milliseconds(Int64(configuration.requestTimeout * 1000)))
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: 1 << 20)
            throw StepError.http(ProviderFailure.classify(status: Int(response.status.code), headers: Array(response.headers),
                                                          body: String(buffer: body)))
        }
        var parser = ServerSentEventParser()
        for try await buffer in response.body {
            let events: [ServerSentEvent]
            do {
                events = try parser.feed(buffer.readableBytesView)
            } catch {
                throw StepError.stream(.malformed(error.description, excerpt: WireJSON.excerpt(String(buffer: buffer))))
            }
            var text = ""
            var thinking = ""
            for event in events where !decoder.isComplete {
                let outputs: [StreamOutput]
                do {
                    outputs = try decoder.consume(event)
                } catch {
                    throw StepError.stream(error)
                }
                for output in outputs {
                    switch output {
                    case .text(let part): text += part
                    case .thinking(let part): thinking += part
                    case .toolCall:
                        break  // Shown once the reply is whole (see perform()).
                    }
                }
            }
            // What one network read brought is one event of each kind: the stream, as it arrives.
            flush(&text, &thinking)
        }
        guard decoder.isComplete else {
            let marker = configuration.provider == .anthropic ? "message_stop" : "data: [DONE]"
            throw StepError.stream(.malformed("the stream ended before \(marker)", excerpt: parser.hasPartialEvent ? "(inside an event)" : "(between events)"))
        }
        return decoder.reply
    }

    private func flush(_ text: inout String, _ thinking: inout String) {
        if !thinking.isEmpty { emit("thinking", ["text": thinking]) }
        if !text.isEmpty {
            emit("message", ["role": "assistant", "text": text])
            streamedText.store(true, ordering: .relaxed)
        }
        text = ""
        thinking = ""
    }

    // MARK: Tools

    private func perform(_ call: ModelReply.ToolCall) async -> ToolOutcome {
        guard let input = WireJSON.object(call.input) else {
            return ToolOutcome(output: "The arguments of \(call.name) are not a JSON object: \(WireJSON.excerpt(call.input))", isError: true)
        }
        switch call.name {
        case ToolDefinition.bash.name:
            guard let command = input["command"] as? String, !command.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                return ToolOutcome(output: "bash needs a non-empty string command", isError: true)
            }
            var timeout = configuration.commandTimeout
            if let value = input["timeout_seconds"] {
                guard let number = value as? NSNumber, !(value is Bool), number.doubleValue > 0, number.doubleValue <= 86_400 else {
                    return ToolOutcome(output: "timeout_seconds must be a number of seconds above 0, at most 86400", isError: true)
                }
                timeout = number.doubleValue
            }
            guard let answer = await runCommand(command, timeout: timeout) else {
                return ToolOutcome(output: "The gateway did not run the command: the run is ending.", isError: true)
            }
            return .command(answer)
        case ToolDefinition.readFile.name where configuration.fileTools:
            guard let path = input["path"] as? String else { return ToolOutcome(output: "read_file needs a string path", isError: true) }
            do {
                return ToolOutcome(output: try files.read(absolute(path), line: (input["line"] as? NSNumber)?.intValue,
                                                          limit: (input["limit"] as? NSNumber)?.intValue), isError: false)
            } catch {
                return ToolOutcome(output: error.message, isError: true)
            }
        case ToolDefinition.writeFile.name where configuration.fileTools:
            guard let path = input["path"] as? String, let content = input["content"] as? String else {
                return ToolOutcome(output: "write_file needs a string path and a string content", isError: true)
            }
            do {
                let written = try files.write(absolute(path), content: content)
                return ToolOutcome(output: "wrote \(content.utf8.count) bytes to \(written)", isError: false)
            } catch {
                return ToolOutcome(output: error.message, isError: true)
            }
        default:
            return ToolOutcome(output: "There is no tool named \(call.name); the tools are: \(tools.map(\.name).joined(separator: ", ")).", isError: true)
        }
    }

    private func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : workspace + "/" + path
    }

    /// Asks the host to run `command` and waits for its result; nil when the run is cancelled
    /// meanwhile or the host no longer takes requests.
    private func runCommand(_ command: String, timeout: Double?) async -> CommandAnswer? {
        let once = ResumeOnce<CommandAnswer>()
        let run = self.run
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Cancelled already: the command is never sent.
                guard once.suspend(continuation) else { return }
                let accepted = run.requestCommand(command, timeoutSeconds: timeout) { result in
                    once.resume(result.map {
                        CommandAnswer(ran: $0.ran, ruleID: $0.ruleId, reason: $0.reason, exitCode: $0.exitCode, timedOut: $0.timedOut ?? false,
                                      stdout: $0.stdout ?? "", stderr: $0.stderr ?? "", truncated: $0.truncated ?? false)
                    })
                }
                if !accepted { once.resume(nil) }
            }
        } onCancel: {
            once.resume(nil)
        }
    }

    func emit(_ type: String, _ fields: [String: Any]) {
        run.emit(type, fields.mapValues { ($0 as? String).map(redact) ?? $0 })
    }

    /// `text` with the run's key cut out: a provider or a proxy may echo it in an error.
    func redact(_ text: String) -> String {
        text.contains(apiKey) ? text.replacingOccurrences(of: apiKey, with: "[redacted]") : text
    }
}

/// A continuation resumed exactly once, by whichever comes first: the value, or a cancel (nil).
/// Either may come before the task suspends.
final class ResumeOnce<T: Sendable>: Sendable {
    private enum Phase {
        case waiting
        case suspended(CheckedContinuation<T?, Never>)
        case finished(T?)
        case done
    }

    private let phase = Mutex(Phase.waiting)

    /// Parks `continuation`; false when the outcome (a cancel) came first and it was resumed at once.
    @discardableResult
    func suspend(_ continuation: CheckedContinuation<T?, Never>) -> Bool {
        let ready: T?? = phase.withLock { phase in
            if case .finished(let value) = phase {
                phase = .done
                return .some(value)
            }
            phase = .suspended(continuation)
            return nil
        }
        guard let ready else { return true }
        continuation.resume(returning: ready)
        return false
    }

    func resume(_ value: T?) {
        let waiting: CheckedContinuation<T?, Never>? = phase.withLock { phase in
            switch phase {
            case .waiting:
                phase = .finished(value)
                return nil
            case .suspended(let continuation):
                phase = .done
                return continuation
            case .finished, .done:
                return nil
            }
        }
        waiting?.resume(returning: value)
    }
}
