/// What an LLM provider's error answer says of the key and its account, in the providers' own
/// documented words. Shared by the host (checking a key) and the SDK driver (runs), so both read an
/// answer the same way.
public enum ProviderErrorReading {
    /// Error types or codes that mean no credit or quota is left: OpenAI's `insufficient_quota`,
    /// Anthropic's `billing_error`, and `billing_not_active`.
    public static let quotaWords: Set<String> = ["insufficient_quota", "billing_error", "billing_not_active"]
    /// Message words that mean the same where no type says it (Anthropic's out-of-credit answer is
    /// an `invalid_request_error`).
    public static let quotaPhrases = ["credit balance is too low", "exceeded your current quota", "spend limit", "spending limit"]

    /// Whether an answer says the account has no credit or quota left. `limitResets`: the headers
    /// say when a limit resets, which makes a 429 a rate limit whatever its words ("exceeded your
    /// current quota" per minute, say).
    public static func isOutOfCredit(status: Int, type: String, code: String, message: String, limitResets: Bool) -> Bool {
        if status == 402 || quotaWords.contains(type) || quotaWords.contains(code) { return true }
        guard [400, 403, 429].contains(status), !(status == 429 && limitResets) else { return false }
        let words = message.lowercased()
        return quotaPhrases.contains(where: words.contains)
    }

    /// Whether a 401 is about the key: one from something that is not the provider (a proxy, a
    /// wrong base URL) names no key and says nothing of it.
    public static func namesTheKey(type: String, code: String, message: String) -> Bool {
        type == "authentication_error" || code == "invalid_api_key" || message.lowercased().contains("api key")
    }

    /// Whether a header (its name lower-cased) says when a rate limit resets.
    public static func isResetHeader(_ name: String) -> Bool {
        name == "retry-after" || name == "retry-after-ms" || name.hasPrefix("x-ratelimit-reset-")
            || (name.hasPrefix("anthropic-ratelimit-") && name.hasSuffix("-reset"))
    }
}
