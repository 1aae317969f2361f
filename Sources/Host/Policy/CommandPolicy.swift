import Foundation

/// The Destructive Command Guard: decides whether a shell command line may run.
///
/// Each simple command in the line (after splitting compound commands, looking into substitutions,
/// `bash -c` scripts, heredocs and inline interpreter code) is judged on its own by the enabled
/// packs; the strictest verdict of any part decides, so a harmless part never excuses another.
public struct CommandPolicy: Sendable {
    public let configuration: PolicyConfiguration
    let packs: [PolicyPack]
    let packsByCommand: [String: [PolicyPack]]
    let anyCommandPacks: [PolicyPack]
    let codePacks: [ScriptLanguage: PolicyPack]
    let keywords: Set<String>

    /// Commands longer than this are denied unread.
    public static let maxInputBytes = 1 << 20

    public init(configuration: PolicyConfiguration = .default) {
        self.configuration = configuration
        packs = PolicyPackCatalog.all.filter { configuration.enabledPacks.contains($0.id) }
        var byCommand: [String: [PolicyPack]] = [:]
        for pack in packs where !pack.anyCommand {
            for command in pack.commands { byCommand[command, default: []].append(pack) }
        }
        packsByCommand = byCommand
        anyCommandPacks = packs.filter(\.anyCommand)
        codePacks = Dictionary(packs.compactMap { pack in pack.language.map { ($0, pack) } }, uniquingKeysWith: { first, _ in first })
        var keywords = PolicyPackCatalog.wrapperKeywords
        for pack in packs { keywords.formUnion(pack.keywords) }
        self.keywords = keywords
    }

    /// Every pack the guard knows, enabled or not.
    public static var availablePacks: [PolicyPackInfo] { PolicyPackCatalog.all.map(PolicyPackInfo.init) }

    /// Decides on one command line.
    public func evaluate(_ command: String, now: Date = Date()) -> PolicyDecision {
        if command.utf8.contains(0) {
            return PolicyDecision(matches: [limit("nul-byte", "The command contains a NUL byte, which a shell cannot be given faithfully", command)])
        }
        if command.utf8.count > Self.maxInputBytes {
            return PolicyDecision(matches: [limit("input-too-large", "The command is longer than \(Self.maxInputBytes) bytes", String(command.prefix(80)))])
        }
        var matches: [PolicyMatch] = []
        // Block rules also see the whole line (`curl … | sh`): being stricter than per-part matching
        // can only deny more. Allow rules never do: they excuse one part at a time.
        if let block = configuration.blockRules.first(where: { $0.matches([command.trimmingShellSpace], now: now) }) {
            matches.append(blockMatch(block, matched: command.trimmingShellSpace))
        }
        guard configuration.blockRules.isEmpty ? mightMatter(command) : true else { return .allow }
        evaluateScript(command, depth: 0, now: now, into: &matches)
        return PolicyDecision(matches: matches)
    }

    /// Decides on raw bytes: invalid UTF-8 is replaced (U+FFFD) before judging, which never turns a
    /// harmful command into a harmless one because no rule matches on the replaced bytes alone.
    public func evaluate(bytes: [UInt8], now: Date = Date()) -> PolicyDecision {
        evaluate(String(decoding: bytes, as: UTF8.self), now: now)
    }

    // MARK: Prefilter

    /// False only when the command cannot match anything: no quoting or expansion that could hide a
    /// word, and no word that names a command an enabled pack or a wrapper cares about.
    func mightMatter(_ command: String) -> Bool {
        var word: [UInt8] = []
        word.reserveCapacity(32)
        for byte in command.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"), UInt8(ascii: "$"), UInt8(ascii: "`"):
                return true
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "+"):
                word.append(byte)
            default:
                if !word.isEmpty {
                    if keywords.contains(String(decoding: word, as: UTF8.self)) { return true }
                    word.removeAll(keepingCapacity: true)
                }
            }
        }
        return !word.isEmpty && keywords.contains(String(decoding: word, as: UTF8.self))
    }

    // MARK: Judging

    private func evaluateScript(_ script: String, depth: Int, now: Date, into matches: inout [PolicyMatch]) {
        guard depth <= ShellParser.maxDepth else {
            matches.append(limit("too-complex", "The command nests scripts deeper than the guard reads", String(script.prefix(80))))
            return
        }
        let parse = ShellParser.parse(script, depth: depth)
        if parse.tooComplex {
            matches.append(limit("too-complex", "The command nests or repeats more than the guard reads", String(script.prefix(80))))
        }
        for var command in parse.commands {
            if command.stdinText == nil, let source = command.pipedFrom, let input = Self.echoedText(parse.commands[source]) {
                // `echo "rm -rf /" | sh`: what echo prints becomes the next command's input.
                command.stdinText = input
            }
            judge(command, depth: command.depth, now: now, into: &matches)
        }
    }

    private func judge(_ command: ShellCommand, depth: Int, now: Date, into matches: inout [PolicyMatch]) {
        let normalized = CommandNormalizer.normalize(command)
        let hasOverrides = !configuration.blockRules.isEmpty || !configuration.allowRules.isEmpty
        let candidates = hasOverrides ? [command.source] + normalized.invocations.map { ([$0.name] + $0.args).joined(separator: " ") } : []
        if hasOverrides, let block = configuration.blockRules.first(where: { $0.matches(candidates, now: now) }) {
            matches.append(blockMatch(block, matched: command.source))
            return
        }
        if hasOverrides, let allow = configuration.allowRules.first(where: { $0.matches(candidates, now: now) }) {
            matches.append(PolicyMatch(verdict: .allow, ruleID: "override:\(allow.id)", packID: "override", severity: .low,
                                       reason: allow.reason, matched: command.source, alternative: nil, source: "override"))
            return
        }
        for invocation in normalized.invocations {
            for pack in (packsByCommand[invocation.name] ?? []) + anyCommandPacks {
                if pack.safe.contains(where: { $0(invocation) }) { continue }
                for rule in pack.rules where rule.matches(invocation) {
                    let id = pack.ruleID(rule.name)
                    matches.append(match(id: id, pack: pack.id, severity: rule.severity, reason: rule.reason,
                                         matched: invocation.source, alternative: rule.alternative))
                }
            }
        }
        for script in normalized.shellScripts {
            evaluateScript(script, depth: depth + 1, now: now, into: &matches)
        }
        for (language, code) in normalized.code {
            if let pack = codePacks[language] {
                for rule in pack.codeRules where rule.needles.contains(where: code.contains) {
                    matches.append(match(id: pack.ruleID(rule.name), pack: pack.id, severity: rule.severity, reason: rule.reason,
                                         matched: command.source, alternative: rule.alternative))
                }
            }
            for script in InlineScriptScanner.shellCalls(in: code, language: language) {
                evaluateScript(script, depth: depth + 1, now: now, into: &matches)
            }
        }
    }

    private func match(id: String, pack: String, severity: PolicySeverity, reason: String, matched: String, alternative: String?) -> PolicyMatch {
        let mode = configuration.modes[id] ?? configuration.modes[pack] ?? severity.defaultMode
        return PolicyMatch(verdict: mode.verdict, ruleID: id, packID: pack, severity: severity, reason: reason,
                           matched: matched, alternative: alternative, source: "pack")
    }

    private func blockMatch(_ block: PolicyOverride, matched: String) -> PolicyMatch {
        PolicyMatch(verdict: block.severity.defaultMode.verdict, ruleID: "override:\(block.id)", packID: "override",
                    severity: block.severity, reason: block.reason, matched: matched, alternative: nil, source: "override")
    }

    private func limit(_ name: String, _ reason: String, _ matched: String) -> PolicyMatch {
        PolicyMatch(verdict: .deny, ruleID: "dcg:\(name)", packID: "dcg", severity: .critical, reason: reason, matched: matched,
                    alternative: "Split the command into simpler commands", source: "limit")
    }

    /// The text `echo`/`printf` would print, for commands piped into a shell.
    private static func echoedText(_ command: ShellCommand) -> String? {
        guard let first = command.words.first, first.text == "echo" || first.text == "printf" else { return nil }
        let words = command.words.dropFirst().drop { $0.text.hasPrefix("-") && !$0.quoted }
        return words.map(\.text).joined(separator: " ")
    }
}
