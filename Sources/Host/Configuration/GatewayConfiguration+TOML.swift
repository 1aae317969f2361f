import Foundation
import TOMLKit

extension GatewayConfiguration {
    /// Reads `flywheel.toml`. Relative paths in it are relative to the file's folder. The `[policy]`
    /// table belongs to the command policy and is read by its own loader.
    public static func load(contentsOf file: URL) throws(ConfigurationError) -> GatewayConfiguration {
        let reader = try TOMLReader.open(file)
        var configuration = GatewayConfiguration(file: file)
        let base = file.deletingLastPathComponent()
        try reader.allowKeys(["data_directory", "plugins_directory", "limits", "accounts", "retention", "sandbox", "policy"])
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
            try accounts.allowKeys(["selection"])
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
        return configuration
    }

    static func resolve(_ path: String, against base: URL) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path).standardizedFileURL
    }
}

/// Typed access to a TOML table that turns every mistake into a ``ConfigurationError`` with a line.
struct TOMLReader {
    let table: TOMLTable
    let text: String
    let file: URL
    var prefix = ""

    /// Reads and parses a TOML file.
    static func open(_ file: URL) throws(ConfigurationError) -> TOMLReader {
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw ConfigurationError(file: file.path, reason: "cannot read: \((error as NSError).localizedDescription)")
        }
        return try parse(text, file: file)
    }

    /// Parses TOML text; `file` names it in errors.
    static func parse(_ text: String, file: URL) throws(ConfigurationError) -> TOMLReader {
        do {
            return TOMLReader(table: try TOMLTable(string: text), text: text, file: file)
        } catch let error as TOMLParseError {
            throw ConfigurationError(file: file.path, line: error.source.begin.line, reason: error.description)
        } catch {
            throw ConfigurationError(file: file.path, reason: String(describing: error))
        }
    }

    func error(_ key: String, _ reason: String) -> ConfigurationError {
        ConfigurationError(file: file.path, line: TOMLLines.line(ofKey: key, in: text), reason: "\(prefix)\(key): \(reason)")
    }

    func allowKeys(_ keys: Set<String>) throws(ConfigurationError) {
        for key in table.keys.sorted() where !keys.contains(key) {
            throw error(key, "unknown key (expected one of: \(keys.sorted().joined(separator: ", ")))")
        }
    }

    func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = table[key] else { return nil }
        guard let text = value.string else { throw error(key, "must be a string") }
        return text
    }

    func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let flag = value.bool else { throw error(key, "must be true or false") }
        return flag
    }

    func positiveInt(_ key: String) throws(ConfigurationError) -> Int? {
        guard let value = table[key] else { return nil }
        guard let number = value.int, number > 0 else { throw error(key, "must be a positive integer") }
        return number
    }

    func positiveNumber(_ key: String) throws(ConfigurationError) -> Double? {
        guard let value = table[key] else { return nil }
        guard let number = value.double ?? value.int.map(Double.init), number > 0, number.isFinite else {
            throw error(key, "must be a positive number")
        }
        return number
    }

    func table(_ key: String) throws(ConfigurationError) -> TOMLReader? {
        guard let value = table[key] else { return nil }
        guard let nested = value.table else { throw error(key, "must be a table") }
        return TOMLReader(table: nested, text: text, file: file, prefix: "\(prefix)\(key).")
    }
}
