/// A destructive pattern: which invocations it matches, how bad that is, and what to do instead.
struct PolicyRule: Sendable {
    var name: String
    /// For git's rules, the subcommands the rule is about (its `matches` checks them too): the
    /// others skip it without asking.
    var subcommands: Set<String>?
    var severity: PolicySeverity
    var reason: String
    var alternative: String?
    var matches: @Sendable (CommandInvocation) -> Bool
}

/// A destructive call in inline code (`shutil.rmtree(` in `python -c …`).
struct CodeRule: Sendable {
    var name: String
    var severity: PolicySeverity
    var reason: String
    var alternative: String?
    /// Any of these substrings in the code is a match.
    var needles: [String]
}

/// A set of rules about one tool or concern, enabled or disabled as a whole.
struct PolicyPack: Sendable {
    var id: String
    var summary: String
    var enabledByDefault: Bool
    /// The program names the pack's rules look at.
    var commands: Set<String>
    /// Words whose presence means the pack may have something to say (the prefilter's keywords);
    /// `commands` are always included.
    var extraKeywords: Set<String> = []
    /// Rules that look at every invocation whatever its program (redirections to devices, say).
    var anyCommand = false
    /// Invocations these match are exempt from this pack's rules (and only this pack's).
    var safe: [@Sendable (CommandInvocation) -> Bool] = []
    var rules: [PolicyRule] = []
    /// For the inline-code packs: the language whose code they read.
    var language: ScriptLanguage?
    var codeRules: [CodeRule] = []

    func ruleID(_ name: String) -> String { "\(id):\(name)" }

    var keywords: Set<String> { commands.union(extraKeywords) }
}

/// A pack as operators see it in `flywheel dcg packs` and the docs.
public struct PolicyPackInfo: Sendable, Codable, Equatable {
    public struct Rule: Sendable, Codable, Equatable {
        public var id: String
        public var severity: PolicySeverity
        public var reason: String
    }

    public var id: String
    public var summary: String
    public var enabledByDefault: Bool
    public var commands: [String]
    public var rules: [Rule]

    enum CodingKeys: String, CodingKey {
        case id, summary, commands, rules
        case enabledByDefault = "enabled_by_default"
    }

    init(_ pack: PolicyPack) {
        id = pack.id
        summary = pack.summary
        enabledByDefault = pack.enabledByDefault
        commands = pack.commands.sorted()
        rules = pack.rules.map { Rule(id: pack.ruleID($0.name), severity: $0.severity, reason: $0.reason) }
            + pack.codeRules.map { Rule(id: pack.ruleID($0.name), severity: $0.severity, reason: $0.reason) }
    }
}

/// Small matching helpers shared by the packs.
enum Match {
    /// `git`'s subcommand after its global options.
    static func gitSubcommand(_ invocation: CommandInvocation) -> (name: String, rest: ArraySlice<String>)? {
        invocation.gitSubcommand
    }

    static let gitGlobalOptions: Set<String> = ["-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path", "--config-env"]

    /// The first `count` operands (non-option words), lower-cased: `docker system prune` → ["system", "prune"].
    static func verbs(_ invocation: CommandInvocation, _ count: Int, skipping: Set<String> = []) -> [String] {
        var result: [String] = []
        var skipNext = false
        for arg in invocation.args {
            if skipNext { skipNext = false; continue }
            if arg.startsWithDash {
                if skipping.contains(arg) { skipNext = true }
                continue
            }
            result.append(arg.lowercased())
            if result.count == count { break }
        }
        return result
    }

    static func has(_ invocation: CommandInvocation, _ options: String...) -> Bool {
        invocation.args.contains { arg in
            guard arg.startsWithDash else { return false }
            return options.contains { option in
                // The option itself, or `--option=value`.
                arg == option || (option.hasPrefix("--") && arg.hasPrefix(option)
                    && arg.utf8.dropFirst(option.utf8.count).first == UInt8(ascii: "="))
            }
        }
    }

    /// Short flag `letter` in any single-dash cluster (`-fd` has f and d).
    static func hasShort(_ invocation: CommandInvocation, _ letter: Character) -> Bool {
        invocation.hasFlag(short: letter)
    }

    /// The SQL a database client would run: `-c`/`-e` values, trailing statements and stdin.
    static func sqlText(_ invocation: CommandInvocation, flags: Set<String>) -> String {
        var parts: [String] = []
        var takeNext = false
        for arg in invocation.args {
            if takeNext { parts.append(arg); takeNext = false; continue }
            if flags.contains(arg) { takeNext = true; continue }
            if let equals = arg.firstIndex(of: "="), flags.contains(String(arg[..<equals])) {
                parts.append(String(arg[arg.index(after: equals)...]))
                continue
            }
            if arg.contains(Character(" ")) { parts.append(arg) }
        }
        if let stdin = invocation.stdinText { parts.append(stdin) }
        return parts.joined(separator: ";\n")
    }
}
