import Foundation

/// What the policy says about a command.
public enum PolicyVerdict: String, Sendable, Codable, CaseIterable {
    case allow, deny, warn, log, ask

    /// How strongly the verdict restricts: the strictest part of a compound command decides.
    var strictness: Int {
        switch self {
        case .allow: 0
        case .log: 1
        case .warn: 2
        case .ask: 3
        case .deny: 4
        }
    }

    /// Whether the command may run without an operator's approval.
    public var permitsRunning: Bool { self == .allow || self == .warn || self == .log }
}

/// How dangerous a rule's match is. Critical and high deny, medium warns, low logs, unless an
/// operator sets another mode.
public enum PolicySeverity: String, Sendable, Codable, Comparable, CaseIterable {
    case low, medium, high, critical

    private var rank: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .high: 2
        case .critical: 3
        }
    }

    public static func < (lhs: PolicySeverity, rhs: PolicySeverity) -> Bool { lhs.rank < rhs.rank }

    /// The verdict a match of this severity gets when no override applies.
    public var defaultMode: PolicyMode {
        switch self {
        case .critical, .high: .deny
        case .medium: .warn
        case .low: .log
        }
    }
}

/// What an operator can make a pack or rule do.
public enum PolicyMode: String, Sendable, Codable, CaseIterable {
    case deny, warn, log, ask, allow

    var verdict: PolicyVerdict {
        switch self {
        case .deny: .deny
        case .warn: .warn
        case .log: .log
        case .ask: .ask
        case .allow: .allow
        }
    }
}

/// One rule that matched one part of a command.
public struct PolicyMatch: Sendable, Codable, Equatable {
    public var verdict: PolicyVerdict
    public var ruleID: String
    public var packID: String
    public var severity: PolicySeverity
    public var reason: String
    /// The part of the command the rule matched.
    public var matched: String
    public var alternative: String?
    /// `pack` for a rule of a pack, `override` for an operator's block or allow rule, `limit` for
    /// input the guard refuses to reason about, `unresolved` for a part it could not resolve from
    /// the text (held with `ask`).
    public var source: String

    enum CodingKeys: String, CodingKey {
        case verdict = "decision", ruleID = "rule_id", packID = "pack_id", severity, reason, matched, alternative, source
    }
}

/// The policy's decision on a whole command line: the strictest of its parts, with every match.
public struct PolicyDecision: Sendable, Codable, Equatable {
    public var verdict: PolicyVerdict
    public var ruleID: String?
    public var packID: String?
    public var severity: PolicySeverity?
    public var reason: String?
    public var matched: String?
    public var alternative: String?
    public var source: String?
    /// Every rule that matched any part, strictest first (what `flywheel dcg explain` shows).
    public var matches: [PolicyMatch]

    public static let allow = PolicyDecision(verdict: .allow, matches: [])

    public init(verdict: PolicyVerdict, ruleID: String? = nil, packID: String? = nil, severity: PolicySeverity? = nil,
                reason: String? = nil, matched: String? = nil, alternative: String? = nil, source: String? = nil,
                matches: [PolicyMatch]) {
        self.verdict = verdict
        self.ruleID = ruleID
        self.packID = packID
        self.severity = severity
        self.reason = reason
        self.matched = matched
        self.alternative = alternative
        self.source = source
        self.matches = matches
    }

    /// The decision for a set of matches: the strictest decides; no match allows.
    init(matches: [PolicyMatch]) {
        guard !matches.isEmpty else {
            self = .allow
            return
        }
        let sorted = matches.count == 1 ? matches : matches.enumerated().sorted { lhs, rhs in
            if lhs.element.verdict.strictness != rhs.element.verdict.strictness {
                return lhs.element.verdict.strictness > rhs.element.verdict.strictness
            }
            if lhs.element.severity != rhs.element.severity { return lhs.element.severity > rhs.element.severity }
            return lhs.offset < rhs.offset
        }.map(\.element)
        guard let first = sorted.first else {
            self = .allow
            return
        }
        self.init(verdict: first.verdict, ruleID: first.ruleID, packID: first.packID, severity: first.severity,
                  reason: first.reason, matched: first.matched, alternative: first.alternative, source: first.source,
                  matches: sorted)
    }

    enum CodingKeys: String, CodingKey {
        case verdict = "decision", ruleID = "rule_id", packID = "pack_id", severity, reason, matched, alternative, source, matches
    }
}
