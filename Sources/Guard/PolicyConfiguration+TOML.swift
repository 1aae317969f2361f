import Foundation
import TOMLKit

extension PolicyConfiguration {
    /// Reads policy settings: the `[policy]` table of `flywheel.toml`, or the top level of `policy.toml`.
    ///
    /// ```toml
    /// enable = ["database.postgres"]        # packs to add to the defaults
    /// disable = ["core.git"]                # packs to turn off
    /// [modes]                               # deny | warn | log | ask | allow, per pack or per rule
    /// "core.git" = "ask"
    /// "core.git:stash-drop" = "deny"
    /// [[allow]]                             # exact, prefix or regex; reason required; expires optional
    /// prefix = "git reset --hard origin/"
    /// reason = "CI resets to upstream"
    /// expires = 2027-01-01T00:00:00Z
    /// [[block]]
    /// regex = "^curl .*\\| *sh"
    /// reason = "no piping downloads into a shell"
    /// ```
    /// Every mistake fails with the file, the line and the reason.
    public static func load(contentsOf file: URL) throws(ConfigurationError) -> PolicyConfiguration {
        try configuration(from: TOMLReader.open(file))
    }

    public static func parse(_ text: String, file: URL) throws(ConfigurationError) -> PolicyConfiguration {
        try configuration(from: TOMLReader.parse(text, file: file))
    }

    private static func configuration(from root: TOMLReader) throws(ConfigurationError) -> PolicyConfiguration {
        let text = root.text, file = root.file
        let isGatewayFile = file.lastPathComponent != "policy.toml"
        var reader = root
        if isGatewayFile {
            guard let policy = try reader.table("policy") else { return .default }
            reader = policy
        }
        try reader.allowKeys(["enable", "disable", "modes", "allow", "block"])
        var configuration = PolicyConfiguration.default
        for (key, insert) in [("enable", true), ("disable", false)] {
            for (id, line) in try reader.stringArray(key) {
                guard PolicyPackCatalog.byID[id] != nil else {
                    throw ConfigurationError(file: file.path, line: line ?? TOMLLines.line(ofKey: key, in: text),
                                             reason: "\(reader.prefix)\(key): unknown pack '\(id)' (known: \(PolicyPackCatalog.all.map(\.id).joined(separator: ", ")))")
                }
                if insert { configuration.enabledPacks.insert(id) } else { configuration.enabledPacks.remove(id) }
            }
        }
        if let modes = try reader.table("modes") {
            for key in modes.table.keys.sorted() {
                guard PolicyPackCatalog.byID[key] != nil || PolicyPackCatalog.ruleIDs.contains(key)
                    || PolicyPackCatalog.unresolvedRuleIDs.contains(key) else {
                    throw modes.error(key, "unknown pack or rule id")
                }
                guard let value = try modes.string(key) else { continue }
                guard let mode = PolicyMode(rawValue: value) else {
                    throw modes.error(key, "unknown mode '\(value)' (use \(PolicyMode.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                configuration.modes[key] = mode
            }
        }
        configuration.allowRules = try overrides(reader, key: "allow", allowsSeverity: false)
        configuration.blockRules = try overrides(reader, key: "block", allowsSeverity: true)
        return configuration
    }

    private static func overrides(_ reader: TOMLReader, key: String, allowsSeverity: Bool) throws(ConfigurationError) -> [PolicyOverride] {
        guard let value = reader.table[key] else { return [] }
        guard let array = value.array else { throw reader.error(key, "must be an array of tables ([[\(key)]])") }
        var result: [PolicyOverride] = []
        for (index, element) in array.enumerated() {
            let line = TOMLLines.lines(ofArrayTable: (reader.prefix + key), in: reader.text).dropFirst(index).first
            func fail(_ reason: String) -> ConfigurationError {
                ConfigurationError(file: reader.file.path, line: line, reason: "\(reader.prefix)\(key)[\(index)]: \(reason)")
            }
            guard let table = element.table else { throw fail("must be a table") }
            let entry = TOMLReader(table: table, text: reader.text, file: reader.file, prefix: "\(reader.prefix)\(key)[\(index)].")
            try entry.allowKeys(allowsSeverity ? ["exact", "prefix", "regex", "reason", "expires", "severity"] : ["exact", "prefix", "regex", "reason", "expires"])
            let given = try [("exact", entry.string("exact")), ("prefix", entry.string("prefix")), ("regex", entry.string("regex"))]
                .compactMap { name, value in value.map { (name, $0) } }
            guard given.count == 1, let (kind, pattern) = given.first, !pattern.isEmpty else {
                throw fail("needs exactly one of exact, prefix or regex, non-empty")
            }
            let matcher: PolicyOverride.Matcher
            switch kind {
            case "exact": matcher = .exact(pattern)
            case "prefix": matcher = .prefix(pattern)
            default:
                do {
                    matcher = .regex(pattern, try CompiledPattern(pattern))
                } catch {
                    throw fail("invalid regex '\(pattern)': \((error as NSError).localizedDescription)")
                }
            }
            guard let reason = try entry.string("reason"), !reason.isEmpty else { throw fail("needs a reason") }
            var expires: Date?
            if let raw = table["expires"] {
                guard let date = Self.date(raw) else { throw fail("expires must be a date or date-time (2027-01-31 or 2027-01-31T12:00:00Z)") }
                expires = date
            }
            var severity = PolicySeverity.high
            if let name = try entry.string("severity") {
                guard let parsed = PolicySeverity(rawValue: name) else {
                    throw fail("unknown severity '\(name)' (use low, medium, high, critical)")
                }
                severity = parsed
            }
            result.append(PolicyOverride(id: "\(key)[\(index)]", matcher: matcher, reason: reason, expires: expires, severity: severity))
        }
        return result
    }

    private static func date(_ value: any TOMLValueConvertible) -> Date? {
        if let dateTime = value.dateTime {
            var components = DateComponents(
                calendar: Calendar(identifier: .gregorian), timeZone: TimeZone(identifier: "UTC"),
                year: dateTime.date.year, month: dateTime.date.month, day: dateTime.date.day,
                hour: dateTime.time.hour, minute: dateTime.time.minute, second: dateTime.time.second)
            components.nanosecond = dateTime.time.nanoSecond
            guard let date = components.date else { return nil }
            return date.addingTimeInterval(-Double((dateTime.offset?.offset ?? 0) * 60))
        }
        if let day = value.date {
            return DateComponents(calendar: Calendar(identifier: .gregorian), timeZone: TimeZone(identifier: "UTC"),
                                  year: day.year, month: day.month, day: day.day).date
        }
        if let text = value.string {
            let formatter = ISO8601DateFormatter()
            if let date = formatter.date(from: text) { return date }
            formatter.formatOptions = [.withFullDate]
            return formatter.date(from: text)
        }
        return nil
    }
}

extension TOMLReader {
    /// A string array with each element's line, where it can be found.
    package func stringArray(_ key: String) throws(ConfigurationError) -> [(String, Int?)] {
        guard let value = table[key] else { return [] }
        guard let array = value.array else { throw error(key, "must be an array of strings") }
        var result: [(String, Int?)] = []
        for element in array {
            guard let text = element.string else { throw error(key, "must be an array of strings") }
            result.append((text, TOMLLines.line(ofString: text, in: self.text)))
        }
        return result
    }
}

extension PolicyConfiguration {
    /// The settings as the top level of a `policy.toml`, which ``parse(_:file:)`` reads back to the
    /// same settings: packs enabled or disabled against the defaults, modes, then allow and block rules.
    public var tomlText: String {
        let defaults = PolicyConfiguration.default.enabledPacks
        var lines: [String] = []
        func list(_ ids: Set<String>) -> String { "[" + ids.sorted().map(TOMLText.string).joined(separator: ", ") + "]" }
        let enable = enabledPacks.subtracting(defaults), disable = defaults.subtracting(enabledPacks)
        if !enable.isEmpty { lines.append("enable = \(list(enable))") }
        if !disable.isEmpty { lines.append("disable = \(list(disable))") }
        if !modes.isEmpty {
            lines.append("")
            lines.append("[modes]")
            for (id, mode) in modes.sorted(by: { $0.key < $1.key }) { lines.append("\(TOMLText.string(id)) = \(TOMLText.string(mode.rawValue))") }
        }
        for (key, rules) in [("allow", allowRules), ("block", blockRules)] {
            for rule in rules {
                lines.append("")
                lines.append("[[\(key)]]")
                switch rule.matcher {
                case .exact(let text): lines.append("exact = \(TOMLText.string(text))")
                case .prefix(let text): lines.append("prefix = \(TOMLText.string(text))")
                case .regex(let text, _): lines.append("regex = \(TOMLText.string(text))")
                }
                lines.append("reason = \(TOMLText.string(rule.reason))")
                if let expires = rule.expires { lines.append("expires = \(TOMLText.dateTime(expires))") }
                if key == "block", rule.severity != .high { lines.append("severity = \(TOMLText.string(rule.severity.rawValue))") }
            }
        }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }
}

/// TOML values written out.
enum TOMLText {
    /// A basic string: quotes, backslashes and control characters escaped.
    static func string(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: result += String(format: "\\u%04X", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// An offset date-time in UTC, to the second (`2027-01-31T12:00:00Z`).
    static func dateTime(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
