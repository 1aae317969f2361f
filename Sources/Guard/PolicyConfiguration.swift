import Foundation

/// Operators' policy settings: which packs run, modes per pack or rule, and allow and block rules.
public struct PolicyConfiguration: Sendable {
    /// Enabled pack ids.
    public var enabledPacks: Set<String>
    /// Mode overrides by pack id or rule id (`core.git`, `core.git:stash-drop`); a rule's own entry wins.
    public var modes: [String: PolicyMode]
    public var allowRules: [PolicyOverride]
    public var blockRules: [PolicyOverride]

    public static let `default` = PolicyConfiguration(
        enabledPacks: Set(PolicyPackCatalog.all.filter(\.enabledByDefault).map(\.id)), modes: [:], allowRules: [], blockRules: [])

    public init(enabledPacks: Set<String>, modes: [String: PolicyMode] = [:], allowRules: [PolicyOverride] = [],
                blockRules: [PolicyOverride] = []) {
        self.enabledPacks = enabledPacks
        self.modes = modes
        self.allowRules = allowRules
        self.blockRules = blockRules
    }

    /// The defaults with extra packs enabled (tests and tools).
    public static func withPacks(_ extra: [String]) -> PolicyConfiguration {
        var configuration = PolicyConfiguration.default
        configuration.enabledPacks.formUnion(extra)
        return configuration
    }
}

/// An operator's allow or block rule for commands: an exact command, a prefix, or a regular
/// expression, with a reason and an optional expiry. It applies to one simple command at a time, so
/// an allow rule never excuses another part of a compound command.
public struct PolicyOverride: Sendable {
    public enum Matcher: Sendable {
        case exact(String)
        case prefix(String)
        case regex(String, CompiledPattern)
    }

    public var id: String
    public var matcher: Matcher
    public var reason: String
    public var expires: Date?
    /// For block rules: how severe the block is (high by default, so it denies).
    public var severity: PolicySeverity

    public init(id: String, matcher: Matcher, reason: String, expires: Date? = nil, severity: PolicySeverity = .high) {
        self.id = id
        self.matcher = matcher
        self.reason = reason
        self.expires = expires
        self.severity = severity
    }

    /// Regular expressions only see this much of a command, so a pattern cannot take unbounded time.
    static let regexInputLimit = 4096

    func matches(_ candidates: [String], now: Date) -> Bool {
        if let expires, expires <= now { return false }
        return candidates.contains { candidate in
            switch matcher {
            case .exact(let text): candidate == text
            case .prefix(let text): candidate.hasPrefix(text)
            case .regex(_, let pattern): pattern.matches(String(candidate.prefix(Self.regexInputLimit)))
            }
        }
    }
}

/// A compiled regular expression, shareable across threads (NSRegularExpression is immutable).
public final class CompiledPattern: @unchecked Sendable {
    let expression: NSRegularExpression

    public init(_ pattern: String) throws {
        expression = try NSRegularExpression(pattern: pattern)
    }

    func matches(_ text: String) -> Bool {
        expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
