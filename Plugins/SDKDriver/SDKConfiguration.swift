import Foundation
import PluginKit

/// The SDK driver's configuration (the agent's config object, or `[config]` in plugins.d/sdk.toml).
/// Every key is documented in docs/sdk-driver.md; an unknown key is refused, naming it.
struct SDKConfiguration: Sendable {
    enum WireFormat: String, Sendable, CaseIterable {
        /// Anthropic's Messages API: `POST {base_url}/v1/messages`.
        case anthropic
        /// OpenAI's Chat Completions API and servers compatible with it: `POST {base_url}/chat/completions`.
        case openai
    }

    /// Dollars per million tokens of one model.
    struct Price: Sendable {
        var input: Double
        var output: Double
        var cacheRead: Double
        var cacheWrite: Double
    }

    var provider: WireFormat
    /// The account pool's provider name whose account a run leases (default: `provider`), so an
    /// OpenAI-compatible service can keep its accounts apart from OpenAI's.
    var accountProvider: String
    var model: String
    /// Without a trailing slash.
    var baseURL: String
    var maxTokens = 8192
    var systemPrompt: String?
    var connectTimeout = 10.0
    /// Longest silence while a response streams.
    var readTimeout = 120.0
    /// Longest a whole response may take.
    var requestTimeout = 900.0
    var maxSteps = 50
    var maxTotalTokens: Int?
    var budgetUSD: Double?
    var prices: [String: Price] = [:]
    var fileTools = false
    var maxFileBytes = 1 << 20
    var commandTimeout: Double?
    /// How much of a tool's output goes back to the model; the rest is cut from the middle.
    var maxToolOutputBytes = 64 << 10
    /// Retries of one step after a network error, a server error (5xx) or an overload (529).
    var maxRetries = 4
    /// The first retry's delay; each next one doubles, with jitter, up to `maxRetryDelay`.
    var retryDelay = 1.0
    var maxRetryDelay = 60.0
    var promptCaching = true
    var anthropicVersion = "2023-06-01"
    /// OpenAI format: the request member for `max_tokens` (`max_tokens` for servers that predate
    /// `max_completion_tokens`).
    var maxTokensField = "max_completion_tokens"

    static let keys: Set<String> = [
        "provider", "account_provider", "model", "base_url", "max_tokens", "system_prompt", "connect_timeout_seconds",
        "read_timeout_seconds", "request_timeout_seconds", "max_steps", "max_total_tokens", "budget_usd", "prices", "file_tools",
        "max_file_bytes", "command_timeout_seconds", "max_tool_output_bytes", "max_retries", "retry_delay_seconds",
        "max_retry_delay_seconds", "prompt_caching", "anthropic_version", "max_tokens_field",
    ]

    static let defaultBaseURL: [WireFormat: String] = [.anthropic: "https://api.anthropic.com", .openai: "https://api.openai.com/v1"]

    init(json: String) throws(DriverFailure) {
        // api_key is read only to refuse it with the real reason.
        let config = try ConfigReader(json: json, keys: Self.keys.union(["api_key"]))
        if config.object["api_key"] != nil {
            throw .invalidConfig("api_key does not belong in the configuration: the key comes from the account the gateway leases for each run (flywheel accounts add)")
        }
        let providerName = try config.string("provider") ?? "anthropic"
        guard let provider = WireFormat(rawValue: providerName) else {
            throw .invalidConfig("provider '\(providerName)' is not supported (use one of: \(WireFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.provider = provider
        accountProvider = try config.string("account_provider") ?? provider.rawValue
        guard !accountProvider.isEmpty else { throw .invalidConfig("account_provider must not be empty") }
        guard let model = try config.string("model"), !model.isEmpty else {
            throw .invalidConfig("model is required: the provider's model id, such as claude-sonnet-4-5 or gpt-4.1")
        }
        self.model = model
        var base = try config.string("base_url") ?? Self.defaultBaseURL[provider]!
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http", url.host != nil,
              url.query == nil, url.fragment == nil else {
            throw .invalidConfig("base_url must be an http or https URL without a query, not '\(base)'")
        }
        baseURL = base
        maxTokens = try config.integer("max_tokens", in: 1...1_000_000) ?? maxTokens
        systemPrompt = try config.string("system_prompt")
        if let systemPrompt, systemPrompt.allSatisfy(\.isWhitespace) {
            throw .invalidConfig("system_prompt must not be empty (leave it out for the default)")
        }
        connectTimeout = try config.seconds("connect_timeout_seconds") ?? connectTimeout
        readTimeout = try config.seconds("read_timeout_seconds") ?? readTimeout
        requestTimeout = try config.seconds("request_timeout_seconds") ?? requestTimeout
        maxSteps = try config.integer("max_steps", in: 1...10_000) ?? maxSteps
        maxTotalTokens = try config.integer("max_total_tokens", in: 1...1_000_000_000)
        if let budget = config.value("budget_usd") {
            guard case .number(let dollars) = budget, dollars.isFinite, dollars > 0 else { throw .invalidConfig("budget_usd must be a positive number of dollars") }
            budgetUSD = dollars
        }
        prices = try Self.prices(config)
        if budgetUSD != nil, prices[model] == nil {
            throw .invalidConfig("budget_usd needs the price of \(model): add prices.\"\(model)\" = { input = …, output = … } (dollars per million tokens)")
        }
        fileTools = try config.bool("file_tools") ?? fileTools
        maxFileBytes = try config.integer("max_file_bytes", in: 1...(256 << 20)) ?? maxFileBytes
        commandTimeout = try config.seconds("command_timeout_seconds")
        maxToolOutputBytes = try config.integer("max_tool_output_bytes", in: 256...(16 << 20)) ?? maxToolOutputBytes
        maxRetries = try config.integer("max_retries", in: 0...20) ?? maxRetries
        retryDelay = try config.seconds("retry_delay_seconds") ?? retryDelay
        maxRetryDelay = try config.seconds("max_retry_delay_seconds") ?? maxRetryDelay
        promptCaching = try config.bool("prompt_caching") ?? promptCaching
        anthropicVersion = try config.string("anthropic_version") ?? anthropicVersion
        maxTokensField = try config.string("max_tokens_field") ?? maxTokensField
        guard ["max_completion_tokens", "max_tokens"].contains(maxTokensField) else {
            throw .invalidConfig("max_tokens_field must be max_completion_tokens or max_tokens, not '\(maxTokensField)'")
        }
    }

    private static func prices(_ config: ConfigReader) throws(DriverFailure) -> [String: Price] {
        guard let value = config.value("prices") else { return [:] }
        guard case .object(let models) = value else { throw .invalidConfig("prices must be a table of models") }
        var result: [String: Price] = [:]
        for (model, entry) in models {
            guard case .object(let fields) = entry else { throw .invalidConfig("prices.\(model) must be a table: { input = …, output = … }") }
            var numbers: [String: Double] = [:]
            for (name, field) in fields {
                guard ["input", "output", "cache_read", "cache_write"].contains(name) else {
                    throw .invalidConfig("prices.\(model).\(name) is unknown (known: input, output, cache_read, cache_write)")
                }
                guard case .number(let number) = field, number.isFinite, number >= 0 else {
                    throw .invalidConfig("prices.\(model).\(name) must be a number of dollars per million tokens")
                }
                numbers[name] = number
            }
            guard let input = numbers["input"], let output = numbers["output"] else {
                throw .invalidConfig("prices.\(model) needs input and output (dollars per million tokens)")
            }
            // Without their own prices, cache reads cost a tenth of input and cache writes 1.25 times it.
            result[model] = Price(input: input, output: output, cacheRead: numbers["cache_read"] ?? input / 10,
                                  cacheWrite: numbers["cache_write"] ?? input * 1.25)
        }
        return result
    }

    /// The instance's `flywheel.capabilities/1` object: the account its runs need.
    var capabilitiesJSON: String {
        let data = (try? JSONSerialization.data(withJSONObject: ["account_provider": accountProvider], options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// The system prompt, with `{workspace}` replaced.
    func system(workspace: String) -> String {
        let template = systemPrompt ?? """
            You are a software engineering agent working in the folder {workspace}. Use the tools to inspect \
            and change it; commands run there through the gateway's command policy, which may refuse \
            destructive ones. When the task is done, reply with a short summary of what you did.
            """
        return template.replacingOccurrences(of: "{workspace}", with: workspace)
    }
}
