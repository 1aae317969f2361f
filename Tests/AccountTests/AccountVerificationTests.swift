import Crypto
import Foundation
import Host
import HostTestSupport
import Testing

/// Checking an account's key with its provider, against a local server that answers as the
/// providers document (`GET /v1/models` for Anthropic, `GET /models` for OpenAI).
@Suite("account verification")
struct AccountVerificationTests {
    static let anthropicModels = #"{"data":[{"type":"model","id":"claude-sonnet-4-5","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"}],"has_more":true,"first_id":"claude-sonnet-4-5","last_id":"claude-sonnet-4-5"}"#
    static let openAIModels = #"{"object":"list","data":[{"id":"gpt-4.1","object":"model","created":1686935002,"owned_by":"openai"}]}"#

    static func answer(_ status: Int, _ body: String, headers: [[String]] = []) -> [String: Any] {
        ["status": status, "headers": [["content-type", "application/json"]] + headers, "chunks": [body]]
    }

    struct Fixture {
        let test: TestStore
        let service: AccountService
        let provider: FakeProvider

        init(_ answers: [[String: Any]]) async throws {
            test = try TestStore()
            provider = try await FakeProvider(answers)
            let pool = AccountPool(store: test.store, cipher: CredentialCipher(key: SymmetricKey(size: .bits256)))
            service = AccountService(store: test.store, pool: pool, verifier: AccountVerifier(endpoints: [
                "anthropic": ProviderEndpoint(format: .anthropic, baseURL: provider.baseURL + "/"),
                "openai": ProviderEndpoint(format: .openai, baseURL: provider.baseURL + "/v1"),
            ]))
        }

        func add(_ provider: String, _ label: String, key: String = "sk-test-0123456789") async throws -> AccountRecord {
            try await service.add(provider: provider, label: label, credentialsJSON: #"{"api_key":"\#(key)"}"#)
        }

        func remove() {
            provider.stop()
            test.directory.remove()
        }
    }

    @Test("an accepted key: the request is the documented one, and an invalid account comes back into rotation")
    func accepted() async throws {
        let fixture = try await Fixture([Self.answer(200, Self.anthropicModels), Self.answer(200, Self.openAIModels)])
        defer { fixture.remove() }
        let claude = try await fixture.add("anthropic", "team")
        try await fixture.service.pool.takeOutOfRotation(accountID: claude.id, status: .invalid, reason: "the provider refused the key")
        let found = try await fixture.service.verify(claude.id)
        #expect(found.outcome == .verified)
        #expect(found.account.status == .verified && found.account.statusReason == nil)
        let first = try fixture.provider.requests()[0]
        #expect(first["method"] as? String == "GET")
        #expect(first["path"] as? String == "/v1/models?limit=1")
        let headers = try fixture.provider.headers(0)
        #expect(headers["x-api-key"] == "sk-test-0123456789")
        #expect(headers["anthropic-version"] == "2023-06-01")
        #expect(headers["authorization"] == nil)

        let gpt = try await fixture.add("openai", "team")
        #expect(try await fixture.service.verify(gpt.id).outcome == .verified)
        #expect(try fixture.provider.requests()[1]["path"] as? String == "/v1/models")
        #expect(try fixture.provider.headers(1)["authorization"] == "Bearer sk-test-0123456789")
        #expect(try fixture.provider.headers(1)["x-api-key"] == nil)
    }

    @Test("a refused key makes the account invalid, with the provider's words and never the key")
    func refused() async throws {
        let echo = #"{"error":{"message":"Incorrect API key provided: sk-test-0123456789. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#
        let fixture = try await Fixture([
            Self.answer(401, #"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#),
            Self.answer(401, echo),
        ])
        defer { fixture.remove() }
        let claude = try await fixture.add("anthropic", "team")
        let found = try await fixture.service.verify(claude.id)
        #expect(found.outcome == .invalid)
        #expect(found.message.contains("invalid x-api-key"))
        #expect(found.account.status == .invalid)
        #expect(found.account.statusReason?.contains("authentication_error") == true)
        // The pool no longer hands it out.
        #expect(try await fixture.service.pool.lease(provider: "anthropic") == nil)

        let gpt = try await fixture.add("openai", "team")
        let echoed = try await fixture.service.verify(gpt.id)
        #expect(echoed.outcome == .invalid)
        #expect(echoed.message.contains("Incorrect API key provided"))
        #expect(!echoed.message.contains("sk-test-0123456789") && echoed.account.statusReason?.contains("sk-test-0123456789") == false)
    }

    @Test("out of credit disables, a rate limit cools down until the provider's time, a provider failure changes nothing")
    func otherAnswers() async throws {
        let fixture = try await Fixture([
            Self.answer(429, #"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#),
            Self.answer(429, #"{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your rate limit"}}"#,
                        headers: [["retry-after", "30"]]),
            Self.answer(529, #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
            Self.answer(401, "<html>proxy login</html>"),
        ])
        defer { fixture.remove() }
        let gpt = try await fixture.add("openai", "team")
        let broke = try await fixture.service.verify(gpt.id)
        #expect(broke.outcome == .outOfCredit)
        #expect(broke.account.status == .disabled && broke.account.statusReason?.contains("quota") == true)

        let claude = try await fixture.add("anthropic", "team")
        let before = Date()
        let limited = try await fixture.service.verify(claude.id)
        #expect(limited.outcome == .rateLimited)
        #expect(limited.account.status == .cooldown)
        let until = try #require(limited.account.cooldownUntil)
        #expect(until >= before.addingTimeInterval(29) && until <= Date().addingTimeInterval(31))

        // Overloaded: nothing learnt of the key; the cooldown stays as it was.
        let overloaded = try await fixture.service.verify(claude.id)
        #expect(overloaded.outcome == .inconclusive)
        #expect(overloaded.message.contains("Overloaded"))
        #expect(overloaded.account.status == .cooldown && overloaded.account.cooldownUntil == until)

        // A 401 that does not speak of the key (a proxy in front, a wrong base_url) is not the key's fault.
        let other = try await fixture.add("anthropic", "other")
        let proxy = try await fixture.service.verify(other.id)
        #expect(proxy.outcome == .inconclusive)
        #expect(proxy.account.status == .verified)
    }

    @Test("an account an operator disabled stays disabled whatever the provider says; a cooling one keeps its cooldown")
    func operatorStateKept() async throws {
        let fixture = try await Fixture([Self.answer(200, Self.anthropicModels), Self.answer(200, Self.anthropicModels)])
        defer { fixture.remove() }
        let claude = try await fixture.add("anthropic", "team")
        _ = try await fixture.service.setEnabled(claude.id, false)
        let found = try await fixture.service.verify(claude.id)
        #expect(found.outcome == .verified)
        #expect(found.account.status == .disabled)
        #expect(found.message.contains("stays disabled until an operator enables it"))

        let second = try await fixture.add("anthropic", "second")
        let until = Date().addingTimeInterval(600)
        try await fixture.service.pool.coolDown(accountID: second.id, until: until)
        let cooling = try await fixture.service.verify(second.id)
        #expect(cooling.outcome == .verified)
        #expect(cooling.account.status == .cooldown)
        #expect(cooling.message.contains("cooldown"))
    }

    @Test("no api_key, an unreachable provider, a provider the gateway does not know: each said plainly")
    func cannotAsk() async throws {
        let fixture = try await Fixture([])
        defer { fixture.remove() }
        let bare = try await fixture.service.add(provider: "anthropic", label: "bare", credentialsJSON: #"{"token":"x"}"#)
        let missing = try await fixture.service.verify(bare.id)
        #expect(missing.outcome == .invalid && missing.message.contains("no api_key"))
        #expect(try fixture.provider.requests().isEmpty, "nothing is sent without a key")

        // A port nothing listens on: the connection is refused at once.
        let closed = try LoopbackListener()
        closed.close()
        let test = try TestStore()
        defer { test.directory.remove() }
        let pool = AccountPool(store: test.store, cipher: CredentialCipher(key: SymmetricKey(size: .bits256)))
        let service = AccountService(store: test.store, pool: pool, verifier: AccountVerifier(endpoints: [
            "local": ProviderEndpoint(format: .openai, baseURL: "http://127.0.0.1:\(closed.port)/v1"),
        ]))
        let local = try await service.add(provider: "local", label: "a", credentialsJSON: #"{"api_key":"sk-local-secret"}"#)
        let unreachable = try await service.verify(local.id)
        #expect(unreachable.outcome == .inconclusive)
        #expect(unreachable.message.hasPrefix("could not ask 127.0.0.1"))
        #expect(unreachable.account.status == .verified)

        let stranger = try await service.add(provider: "mistral", label: "a", credentialsJSON: #"{"api_key":"k"}"#)
        let error = await #expect(throws: ProviderNotConfigured.self) { try await service.verify(stranger.id) }
        #expect(error?.description.contains("[accounts.providers.mistral]") == true)
        await #expect(throws: AccountNotFound.self) { try await service.verify("nope") }
    }

    @Test("the key never shows: not cut in two by an excerpt, not JSON-escaped, not through the HTTP client's errors; a key with a line end is refused unsent")
    func keyNeverShows() async throws {
        let key = "sk-test/abcdefghijklmnopqrstuvwxyz0123456789"
        let escaped = key.replacingOccurrences(of: "/", with: "\\/")
        let fixture = try await Fixture([
            Self.answer(401, String(repeating: "x", count: 280) + " key " + key + " was refused"),
            Self.answer(403, #"{"error":{"message":"key \#(escaped) may not list models","type":"permission_error"}}"#),
            ["status": 200, "headers": [["content-type", "application/json"]], "chunks": [String(repeating: " ", count: 200_000) + Self.openAIModels]],
        ])
        defer { fixture.remove() }
        let one = try await fixture.add("openai", "one", key: key)
        for _ in 0..<2 {
            let found = try await fixture.service.verify(one.id)
            #expect(found.outcome == .inconclusive)
            #expect(!found.message.contains("sk-test"), "\(found.message)")
            #expect(found.message.contains("[redacted]") || found.message.contains("…"), "\(found.message)")
        }
        // A models list far over the error-body limit: the status says it all.
        #expect(try await fixture.service.verify(one.id).outcome == .verified)

        let pasted = try await fixture.service.add(provider: "openai", label: "pasted", credentialsJSON: #"{"api_key":"sk-pasted-1234\r"}"#)
        let refused = try await fixture.service.verify(pasted.id)
        #expect(refused.outcome == .invalid && refused.message.contains("line end"))
        #expect(!refused.message.contains("sk-pasted"))
        #expect(try fixture.provider.requests().count == 3, "the pasted key was never sent")
    }

    @Test("a rate limit keeps what others set: an invalid account stays invalid, a longer cooldown stays, the wait is at most a day; a 429 without the provider's body is not the provider's")
    func rateLimitKeepsState() async throws {
        let limited = #"{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your rate limit"}}"#
        let fixture = try await Fixture([
            Self.answer(429, limited, headers: [["retry-after", "30"]]),
            Self.answer(429, limited, headers: [["retry-after", "30"]]),
            Self.answer(429, limited, headers: [["retry-after", "1e10"]]),
            Self.answer(429, "<html>slow down</html>"),
        ])
        defer { fixture.remove() }
        let invalid = try await fixture.add("anthropic", "invalid")
        try await fixture.service.pool.takeOutOfRotation(accountID: invalid.id, status: .invalid, reason: "the provider refused the key")
        let stays = try await fixture.service.verify(invalid.id)
        #expect(stays.outcome == .rateLimited && stays.account.status == .invalid)
        #expect(stays.message.contains("stays invalid"))

        let cooling = try await fixture.add("anthropic", "cooling")
        let hour = Date().addingTimeInterval(3600)
        try await fixture.service.pool.coolDown(accountID: cooling.id, until: hour)
        let kept = try await fixture.service.verify(cooling.id)
        #expect(kept.account.status == .cooldown)
        #expect(abs((kept.account.cooldownUntil ?? .distantPast).timeIntervalSince(hour)) < 0.01, "the hour stays; 30 s does not cut it short")

        let fresh = try await fixture.add("anthropic", "fresh")
        let capped = try await fixture.service.verify(fresh.id)
        #expect(capped.account.status == .cooldown)
        #expect((capped.account.cooldownUntil ?? .distantFuture) <= Date().addingTimeInterval(86_400), "at most a day")

        let other = try await fixture.add("anthropic", "other")
        let proxy = try await fixture.service.verify(other.id)
        #expect(proxy.outcome == .inconclusive && proxy.account.status == .verified)
    }

    @Test("an account changed while its check was out keeps the change: the outcome is not recorded over it")
    func changedDuringTheCheck() async throws {
        let fixture = try await Fixture([
            ["status": 401, "headers": [["content-type", "application/json"]],
             "chunks": [#"{"type":"error","error":{"type":"authentication_error","#, #""message":"invalid x-api-key"}}"#], "chunk_delay_ms": 1500],
        ])
        defer { fixture.remove() }
        let claude = try await fixture.add("anthropic", "team")
        let service = fixture.service
        let checking = Task { try await service.verify(claude.id) }
        for _ in 0..<500 where try fixture.provider.requests().isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        _ = try await service.setEnabled(claude.id, false)
        let found = try await checking.value
        #expect(found.outcome == .invalid)
        #expect(found.account.status == .disabled && found.account.statusReason == "disabled by an operator")
        #expect(found.message.contains("changed during the check"), "\(found.message)")
    }

    @Test("a provider the gateway does not place is refused before the credentials are opened")
    func providerBeforeCredentials() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        let sealing = AccountPool(store: test.store, cipher: CredentialCipher(key: SymmetricKey(size: .bits256)))
        let account = try await sealing.add(provider: "mistral", label: "a", credentialsJSON: #"{"api_key":"k-123456"}"#)
        struct NoKey: Error {}
        let keyless = AccountPool(store: test.store, loadCipher: { throw NoKey() })
        let service = AccountService(store: test.store, pool: keyless, verifier: AccountVerifier())
        await #expect(throws: ProviderNotConfigured.self) { try await service.verify(account.id) }
    }

    @Test("[accounts.providers.NAME] in flywheel.toml: built-in providers moved, new ones added, mistakes named with their line")
    func configuration() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let good = try GatewayConfiguration.load(contentsOf: folder.write("good.toml", """
            [accounts.providers.anthropic]
            base_url = "https://llm-proxy.internal/anthropic/"

            [accounts.providers.openrouter]
            format = "openai"
            base_url = "https://openrouter.ai/api/v1"
            """))
        #expect(good.accountProviders["anthropic"] == ProviderEndpoint(format: .anthropic, baseURL: "https://llm-proxy.internal/anthropic"))
        #expect(good.accountProviders["openrouter"] == ProviderEndpoint(format: .openai, baseURL: "https://openrouter.ai/api/v1"))
        #expect(good.accountProviders["openai"] == ProviderEndpoint.builtIn["openai"], "the built-ins stay")
        #expect(try GatewayConfiguration.load(contentsOf: folder.write("empty.toml", "")).accountProviders == ProviderEndpoint.builtIn)

        let cases: [(String, String)] = [
            ("[accounts.providers.groq]\nbase_url = \"https://api.groq.com/openai/v1\"", "accounts.providers.groq.format: is required"),
            ("[accounts.providers.groq]\nformat = \"gemini\"\nbase_url = \"https://x\"", "unknown format 'gemini'"),
            ("[accounts.providers.groq]\nformat = \"openai\"", "accounts.providers.groq.base_url: is required"),
            ("[accounts.providers.groq]\nformat = \"openai\"\nbase_url = \"ftp://x\"", "must be an http or https URL"),
            ("[accounts.providers.groq]\nformat = \"openai\"\nbase_url = \"https://user:secret@x/v1\"", "without a user or password"),
            ("[accounts.providers.anthropic]\nformat = \"openai\"", "base_url: is required"),
            ("[accounts.providers.Groq]\nformat = \"openai\"\nbase_url = \"https://x\"", "a provider name is"),
            ("[accounts.providers.groq]\nformat = \"openai\"\nbase_url = \"https://x\"\nkey = \"k\"", "unknown key"),
            ("[accounts]\nproviders = 3", "accounts.providers: must be a table"),
        ]
        for (index, (text, expected)) in cases.enumerated() {
            let error = #expect(throws: ConfigurationError.self) { try GatewayConfiguration.load(contentsOf: folder.write("bad\(index).toml", text)) }
            #expect(error?.description.contains(expected) == true, "\(text): \(error?.description ?? "no error")")
        }
    }
}
