import Foundation
import TOMLKit

extension GatewayConfiguration {
    /// Reads `flywheel.toml`. Relative paths in it are relative to the file's folder. The `[policy]`
    /// table belongs to the command policy and is read by its own loader.
    public static func load(contentsOf file: URL) throws(ConfigurationError) -> GatewayConfiguration {
        let reader = try TOMLReader.open(file)
        var configuration = GatewayConfiguration(file: file)
        let base = file.deletingLastPathComponent()
        try reader.allowKeys(["data_directory", "plugins_directory", "limits", "accounts", "retention", "sandbox", "server", "policy"])
        if let path = try reader.string("data_directory") { configuration.dataDirectory = resolve(path, against: base) }
        if let path = try reader.string("plugins_directory") { configuration.pluginsDirectory = resolve(path, against: base) }
        if let limits = try reader.table("limits") {
            try limits.allowKeys([
                "max_concurrent_sessions", "max_concurrent_sessions_per_agent", "command_timeout_seconds",
                "max_command_timeout_seconds", "command_output_limit_bytes", "approval_timeout_seconds", "cancel_grace_seconds", "max_concurrent_commands", "max_concurrent_commands_per_session",
            ])
            var value = configuration.limits
            if let number = try limits.positiveInt("max_concurrent_sessions") { value.maxConcurrentSessions = number }
            if let number = try limits.positiveInt("max_concurrent_sessions_per_agent") { value.maxConcurrentSessionsPerAgent = number }
            if let number = try limits.positiveNumber("command_timeout_seconds") { value.commandTimeoutSeconds = number }
            if let number = try limits.positiveNumber("max_command_timeout_seconds") { value.maxCommandTimeoutSeconds = number }
            if let number = try limits.positiveInt("command_output_limit_bytes") { value.commandOutputLimitBytes = number }
            if let number = try limits.positiveNumber("approval_timeout_seconds") { value.approvalTimeoutSeconds = number }
            if let number = try limits.positiveNumber("cancel_grace_seconds") { value.cancelGraceSeconds = number }
            if let number = try limits.positiveInt("max_concurrent_commands") { value.maxConcurrentCommands = number }
            if let number = try limits.positiveInt("max_concurrent_commands_per_session") { value.maxConcurrentCommandsPerSession = number }
            if value.commandTimeoutSeconds > value.maxCommandTimeoutSeconds {
                throw limits.error("command_timeout_seconds", "must not exceed max_command_timeout_seconds")
            }
            configuration.limits = value
        }
        if let accounts = try reader.table("accounts") {
            try accounts.allowKeys(["selection", "providers"])
            if let providers = try accounts.table("providers") {
                for name in providers.table.keys.sorted() {
                    guard AccountService.isName(name) else {
                        throw providers.error(name, "a provider name is 1-64 lower-case letters, digits, '-' or '_'")
                    }
                    guard let provider = try providers.table(name) else { continue }
                    try provider.allowKeys(["format", "base_url"])
                    let known = ProviderEndpoint.builtIn[name]
                    let format: ProviderEndpoint.Format
                    if let text = try provider.string("format") {
                        guard let value = ProviderEndpoint.Format(rawValue: text) else {
                            throw provider.error("format", "unknown format '\(text)' (use anthropic or openai)")
                        }
                        format = value
                    } else if let known {
                        format = known.format
                    } else {
                        throw provider.error("format", "is required for a provider the gateway does not know (anthropic or openai)")
                    }
                    let base: String
                    if let text = try provider.string("base_url") {
                        guard ProviderEndpoint.isBaseURL(text) else {
                            throw provider.error("base_url", "must be an http or https URL without a user or password, a query or a fragment")
                        }
                        base = text
                    } else if let known, known.format == format {
                        base = known.baseURL
                    } else {
                        throw provider.error("base_url", "is required for this provider")
                    }
                    configuration.accountProviders[name] = ProviderEndpoint(format: format, baseURL: base)
                }
            }
            if let selection = try accounts.string("selection") {
                guard let mode = AccountSelectionMode(rawValue: selection) else {
                    throw accounts.error("selection", "unknown selection '\(selection)' (use round_robin or least_recently_used)")
                }
                configuration.accountSelection = mode
            }
        }
        if let retention = try reader.table("retention") {
            try retention.allowKeys(["ended_session_history_days"])
            configuration.historyRetentionDays = try retention.positiveNumber("ended_session_history_days")
        }
        if let sandbox = try reader.table("sandbox") {
            try sandbox.allowKeys(["mode", "network"])
            if let mode = try sandbox.string("mode") {
                guard let value = SandboxSettings.Mode(rawValue: mode) else {
                    throw sandbox.error("mode", "unknown mode '\(mode)' (use auto, required or off)")
                }
                configuration.sandbox.mode = value
            }
            if let network = try sandbox.bool("network") { configuration.sandbox.network = network }
        }
        if let server = try reader.table("server") {
            try server.allowKeys(["host", "port", "access_token_seconds", "refresh_token_seconds", "refresh_reuse_grace_seconds", "max_body_bytes", "password_cost",
                                  "rate_limit_per_second", "rate_limit_burst", "client_rate_limit_per_second", "client_rate_limit_burst",
                                  "login_attempts_per_minute", "trusted_proxies", "secure_cookies"])
            if let host = try server.string("host") {
                guard !host.isEmpty else { throw server.error("host", "must not be empty") }
                configuration.server.host = host
            }
            if let port = try server.positiveInt("port") {
                guard port <= 65535 else { throw server.error("port", "must be 1-65535") }
                configuration.server.port = port
            }
            let tenYears = 3650.0 * 86_400
            if let seconds = try server.positiveNumber("access_token_seconds") {
                guard seconds <= 86_400 else { throw server.error("access_token_seconds", "must be at most 86400 (a day): access tokens are short-lived") }
                configuration.server.accessTokenSeconds = seconds
            }
            if let seconds = try server.positiveNumber("refresh_token_seconds") {
                guard seconds <= tenYears else { throw server.error("refresh_token_seconds", "must be at most ten years") }
                configuration.server.refreshTokenSeconds = seconds
            }
            if let seconds = try server.nonNegativeNumber("refresh_reuse_grace_seconds") {
                guard seconds <= 300 else { throw server.error("refresh_reuse_grace_seconds", "must be at most 300: past it a stolen token's use goes unnoticed too long") }
                configuration.server.refreshReuseGraceSeconds = seconds
            }
            if let bytes = try server.positiveInt("max_body_bytes") { configuration.server.maxBodyBytes = bytes }
            if let rate = try server.positiveNumber("rate_limit_per_second") { configuration.server.rateLimitPerSecond = rate }
            if let burst = try server.positiveNumber("rate_limit_burst") { configuration.server.rateLimitBurst = burst }
            if let rate = try server.positiveNumber("client_rate_limit_per_second") { configuration.server.clientRateLimitPerSecond = rate }
            if let burst = try server.positiveNumber("client_rate_limit_burst") { configuration.server.clientRateLimitBurst = burst }
            if let attempts = try server.positiveNumber("login_attempts_per_minute") { configuration.server.loginAttemptsPerMinute = attempts }
            for (text, line) in try server.stringArray("trusted_proxies") {
                guard let range = IPRange(text) else {
                    let reason = "'\(text)' is not an IP address or CIDR range (10.0.0.0/8, ::1)"
                    throw line.map { ConfigurationError(file: file.path, line: $0, reason: "server.trusted_proxies: \(reason)") }
                        ?? server.error("trusted_proxies", reason)
                }
                configuration.server.trustedProxies.append(range)
            }
            if let secure = try server.bool("secure_cookies") { configuration.server.secureCookies = secure }
            if let cost = try server.positiveInt("password_cost") {
                guard (4...31).contains(cost) else { throw server.error("password_cost", "must be 4-31") }
                configuration.server.passwordCost = cost
            }
        }
        return configuration
    }

    static func resolve(_ path: String, against base: URL) -> URL {
        path.isAbsolutePath ? URL(fileURLWithPath: path) : base.appendingPathComponent(path).standardizedFileURL
    }
}
