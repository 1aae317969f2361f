import Foundation

/// The Destructive Command Guard: decides whether a shell command line may run.
///
/// Each simple command in the line (after splitting compound commands, looking into substitutions,
/// `bash -c` scripts, heredocs and inline interpreter code) is judged on its own by the enabled
/// packs; the strictest verdict of any part decides, so a harmless part never excuses another.
///
/// It fails closed: where what would run cannot be known from the text (a program named by a
/// variable, a script read from the network, code that hides its calls), the decision is `ask`
/// when the rest of the command would be destructive, with a reason that names what could not be
/// resolved; input too large, too deep or too slow to read is denied.
public struct CommandPolicy: Sendable {
    public var configuration: PolicyConfiguration { tables.configuration }
    var packs: [PolicyPack] { tables.packs }
    var packsByCommand: [String: [CompiledPack]] { tables.packsByCommand }
    var anyCommandPacks: [CompiledPack] { tables.anyCommandPacks }
    var codePacks: [ScriptLanguage: PolicyPack] { tables.codePacks }
    var keywords: Set<String> { tables.keywords }
    /// The keywords' FNV-1a hashes, for the prefilter.
    var keywordHashes: Set<UInt64> { tables.keywordHashes }
    var normalizer: CommandNormalizer { tables.normalizer }
    /// Programs a command word known only at run time is tried as.
    var candidatePrograms: [String] { tables.candidatePrograms }

    /// Whether `$TMPDIR` names a temporary directory where the commands run. True in the gateway,
    /// whose executor sets it for every command; the hook sets it from its own environment, which
    /// the agent's commands share (unset, `$TMPDIR/etc` is `/etc`).
    public var trustsTMPDIR = true

    /// What the policy is made of, worked out once. Behind one reference, so that copying the
    /// policy (each closure and partial application of its methods does) costs one retain.
    private let tables: Tables

    private final class Tables: Sendable {
        let configuration: PolicyConfiguration
        let packs: [PolicyPack]
        let packsByCommand: [String: [CompiledPack]]
        let anyCommandPacks: [CompiledPack]
        let codePacks: [ScriptLanguage: PolicyPack]
        let keywords: Set<String>
        let keywordHashes: Set<UInt64>
        let normalizer: CommandNormalizer
        let candidatePrograms: [String]

        init(configuration: PolicyConfiguration) {
            self.configuration = configuration
            packs = PolicyPackCatalog.all.filter { configuration.enabledPacks.contains($0.id) }
            var byCommand: [String: [CompiledPack]] = [:]
            for pack in packs where !pack.anyCommand {
                let compiled = CompiledPack(pack)
                for command in pack.commands { byCommand[command, default: []].append(compiled) }
            }
            packsByCommand = byCommand
            anyCommandPacks = packs.filter(\.anyCommand).map(CompiledPack.init)
            codePacks = Dictionary(packs.compactMap { pack in pack.language.map { ($0, pack) } }, uniquingKeysWith: { first, _ in first })
            var keywords = PolicyPackCatalog.wrapperKeywords.union(EnvironmentRules.names)
            for pack in packs { keywords.formUnion(pack.keywords) }
            self.keywords = keywords
            keywordHashes = Set(keywords.map(CommandPolicy.fnv))
            let packPrograms = Set(packs.flatMap(\.commands))
            normalizer = CommandNormalizer(packPrograms: packPrograms, everyInvocation: !anyCommandPacks.isEmpty
                || !configuration.blockRules.isEmpty || !configuration.allowRules.isEmpty)
            candidatePrograms = packPrograms.union(CommandNormalizer.shells.names).union(CommandNormalizer.interpreterNames.names)
                .union(CommandNormalizer.wrapperNames.subtracting(CommandNormalizer.dataOnly).names).sorted()
        }
    }

    /// Commands longer than this are denied unread.
    public static let maxInputBytes = 1 << 20
    /// How long one decision may take before the command is refused as too complex.
    public static let defaultTimeBudget: Duration = .milliseconds(100)

    public init(configuration: PolicyConfiguration = .default) {
        tables = Tables(configuration: configuration)
    }

    /// Every pack the guard knows, enabled or not.
    public static var availablePacks: [PolicyPackInfo] { PolicyPackCatalog.all.map(PolicyPackInfo.init) }

    /// Decides on one command line. `environment` is what the command's requester adds to its
    /// environment (a driver's `env`); variables in it that change what runs are refused.
    /// `workspace` is where the command runs, when known. `now` decides whether operator rules have
    /// expired (the current time when not given).
    public func evaluate(_ command: String, environment: [String: String] = [:], workspace: String? = nil, now: Date? = nil,
                         budget: Duration = CommandPolicy.defaultTimeBudget) -> PolicyDecision {
        // Only operator rules look at the time: without them the clock is not read.
        let now = now ?? (configuration.blockRules.isEmpty && configuration.allowRules.isEmpty ? .distantPast : Date())
        if command.utf8.count > Self.maxInputBytes {
            return PolicyDecision(matches: [limit("input-too-large", "The command is longer than \(Self.maxInputBytes) bytes", String(command.prefix(80)))])
        }
        let bytes = ByteScan(command)
        if bytes.hasNUL {
            return PolicyDecision(matches: [limit("nul-byte", "The command contains a NUL byte, which a shell cannot be given faithfully", command)])
        }
        // Look-alikes (`rm —rf`, full-width letters) are read as what they look like. Full-width
        // quotes, `;`, `#` or `>` are letters to the shell, though: replaced alone they would invent
        // syntax (`rm -rf /tmp/＂ /etc ＂` is one quoted word once replaced, three words to bash).
        // So such a line is judged both as bash reads it and as it looks, and both decisions count.
        let deadline = ContinuousClock.now + budget
        let found = judgeLine(command, environment: environment, workspace: workspace, now: now, deadline: deadline)
        let lookAlike = bytes.hasNonASCII ? LookAlikes.normalized(command) : command
        let alsoFound = lookAlike == command ? [] : judgeLine(lookAlike, environment: [:], workspace: workspace, now: now, deadline: deadline)
        if found.count <= 1, alsoFound.isEmpty { return PolicyDecision(matches: found) }
        var matches: [PolicyMatch] = []
        for match in found + alsoFound where !matches.contains(match) {
            matches.append(match)
        }
        return PolicyDecision(matches: matches)
    }

    /// The matches for one reading of a whole line.
    private func judgeLine(_ text: String, environment: [String: String], workspace: String?, now: Date,
                           deadline: ContinuousClock.Instant) -> [PolicyMatch] {
        let matters = mightMatter(text)
        // Most commands name nothing the guard knows: they are allowed before anything is set up.
        if environment.isEmpty, configuration.blockRules.isEmpty, !matters { return [] }
        var state = Evaluation(deadline: deadline, trustsTMPDIR: trustsTMPDIR, workspace: workspace)
        for (name, value) in environment.isEmpty ? [] : environment.sorted(by: { $0.key < $1.key }) {
            switch EnvironmentRules.check(name, value, workspace: workspace) {
            case .fine: break
            case .script, .unsafe:
                state.matches.append(PolicyMatch(
                    verdict: .deny, ruleID: "dcg:unsafe-environment", packID: "dcg", severity: .critical,
                    reason: "The request sets \(name), which changes what programs run or where; the host refuses it",
                    matched: "\(name)=\(value)", alternative: "Set the variable in the agent's [env], where an operator controls it", source: "limit"))
            }
        }
        // Block rules also see the whole line (`curl … | sh`): being stricter than per-part matching
        // can only deny more. Allow rules never do: they excuse one part at a time.
        if let block = configuration.blockRules.first(where: { $0.matches([text.trimmingShellSpace], now: now) }) {
            state.matches.append(blockMatch(block, matched: text.trimmingShellSpace))
        }
        guard configuration.blockRules.isEmpty ? matters : true else { return state.matches }
        state.text = text
        evaluateScript(text, depth: 0, now: now, state: &state)
        if state.expired {
            state.matches.append(limit("too-slow", "The command took longer than the guard's time budget to read", String(text.prefix(80))))
        }
        return state.matches
    }

    /// Decides on raw bytes: invalid UTF-8 is replaced (U+FFFD) before judging, which never turns a
    /// harmful command into a harmless one because no rule matches on the replaced bytes alone.
    public func evaluate(bytes: [UInt8], now: Date? = nil) -> PolicyDecision {
        evaluate(String(decoding: bytes, as: UTF8.self), now: now)
    }

    // MARK: Prefilter

    /// False only when the command cannot match anything: no quoting, expansion, glob, brace or
    /// non-ASCII character that could hide a word, and no word that names a command an enabled
    /// pack, a wrapper or an environment rule cares about.
    func mightMatter(_ command: String) -> Bool {
        var command = command
        return command.withUTF8 { mightMatter($0) }
    }

    private func mightMatter(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        // Tokens are hashed as they are read (FNV-1a), so no string is made for a word that names
        // nothing the guard knows; a hash that matches is confirmed against the keyword itself.
        var hash = Self.fnvOffset
        var length = 0
        var tokenStart = 0
        for index in utf8.indices {
            let byte = utf8[index]
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"), UInt8(ascii: "$"), UInt8(ascii: "`"), UInt8(ascii: "*"),
                UInt8(ascii: "?"), UInt8(ascii: "["), UInt8(ascii: "{"), 0x80...0xFF:
                return true
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "+"):
                if length == 0 { tokenStart = index }
                length += 1
                hash = (hash ^ UInt64(byte)) &* Self.fnvPrime
            default:
                if length > 0, tokenMatters(UnsafeBufferPointer(rebasing: utf8[tokenStart..<index]), hash: hash) { return true }
                length = 0
                hash = Self.fnvOffset
            }
        }
        return length > 0 && tokenMatters(UnsafeBufferPointer(rebasing: utf8[tokenStart...]), hash: hash)
    }

    private func tokenMatters(_ token: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Bool {
        if token.count > 3, token.starts(with: "LD_".utf8) || token.starts(with: "GIT_".utf8) { return true }
        return keywordHashes.contains(hash) && keywords.contains(String(decoding: token, as: UTF8.self))
    }

    static let fnvOffset: UInt64 = 0xcbf29ce484222325
    static let fnvPrime: UInt64 = 0x100000001b3

    static func fnv(_ text: String) -> UInt64 {
        var hash = fnvOffset
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* fnvPrime }
        return hash
    }

    /// Whether the line names `TMPDIR` other than to read it (`$TMPDIR`, `${TMPDIR…}`).
    static func mayRebindTMPDIR(_ text: String) -> Bool {
        var text = text
        return text.withUTF8(mayRebindTMPDIR)
    }

    private static func mayRebindTMPDIR(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let name = "TMPDIR".utf8
        var index = 0
        while index + name.count <= bytes.count {
            if bytes[index] == UInt8(ascii: "T"), bytes[index..<index + name.count].elementsEqual(name) {
                let read = (index >= 1 && bytes[index - 1] == UInt8(ascii: "$"))
                    || (index >= 2 && bytes[index - 1] == UInt8(ascii: "{") && bytes[index - 2] == UInt8(ascii: "$"))
                let after = index + name.count < bytes.count ? bytes[index + name.count] : 0
                // `${TMPDIR:=/}` and `${TMPDIR=/}` assign when it is unset.
                let assigns = after == UInt8(ascii: "=") || (after == UInt8(ascii: ":") && index + name.count + 1 < bytes.count
                    && bytes[index + name.count + 1] == UInt8(ascii: "="))
                if !read || assigns { return true }
                index += name.count
            } else {
                index += 1
            }
        }
        return false
    }

    /// Whether the line may make a symbolic link (`ln -s`, `cp -s`, `mount --bind`), judged
    /// loosely from its words: it only turns temporary-path exemptions off.
    static func mayCreateLinks(_ text: String) -> Bool {
        var text = text
        return text.withUTF8(mayCreateLinks)
    }

    private static func mayCreateLinks(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var sawLinker = false, sawSymbolic = false
        var start = 0
        func check(_ word: Slice<UnsafeBufferPointer<UInt8>>) {
            guard let first = word.first else { return }
            if first == UInt8(ascii: "-") {
                // -s, -sf, --symbolic, --symbolic-link, --bind, --rbind
                if word.count > 1, word[word.startIndex + 1] != UInt8(ascii: "-") {
                    if word.contains(UInt8(ascii: "s")) { sawSymbolic = true }
                } else if word.starts(with: Self.symbolicOption) || word.starts(with: Self.bindOption) || word.starts(with: Self.rbindOption) {
                    sawSymbolic = true
                }
                return
            }
            // Only words ending in ln, cp or mount can name the programs.
            guard let last = word.last, last == UInt8(ascii: "n") || last == UInt8(ascii: "p") || last == UInt8(ascii: "t") else { return }
            let name = word.lastIndex(of: UInt8(ascii: "/")).map { word[($0 + 1)...] } ?? word
            if name.elementsEqual(Self.ln) || name.elementsEqual(Self.cp) {
                sawLinker = true
            } else if name.elementsEqual(Self.mount) {
                sawLinker = true
                sawSymbolic = true
            }
        }
        for (index, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: ";"), UInt8(ascii: "&"), UInt8(ascii: "|"),
                UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "'"), UInt8(ascii: "\""):
                check(bytes[start..<index])
                start = index + 1
            default:
                break
            }
        }
        check(bytes[start...])
        return sawLinker && sawSymbolic
    }

    private static let ln = Array("ln".utf8), cp = Array("cp".utf8), mount = Array("mount".utf8)
    private static let symbolicOption = Array("--symbolic".utf8), bindOption = Array("--bind".utf8), rbindOption = Array("--rbind".utf8)

    // MARK: Judging

    /// What one decision has found so far, and what it knows.
    struct Evaluation {
        var matches: [PolicyMatch] = []
        let deadline: ContinuousClock.Instant
        var expired = false
        /// Scripts already judged: a script reached twice (a substitution inside `bash -c "…"` is
        /// both parsed in place and read again as the script) is judged once, which keeps nesting
        /// linear instead of doubling per level.
        var judgedScripts: Set<String> = []
        /// Variables set earlier in the line, and their values when known.
        var variables: [String: SubstitutionOutput] = [:]
        /// The whole line, for questions about it asked only when a rule needs the answer.
        var text = ""
        private var linksChecked: Bool?
        /// Inside a trial of what a run-time program could be: programs known only at run time
        /// within it are not tried in turn, which would multiply the work per level.
        var inTrial = false

        /// Where the commands run, when known: `PATH` entries inside it are fine.
        var workspace: String?

        init(deadline: ContinuousClock.Instant, trustsTMPDIR: Bool = true, workspace: String? = nil) {
            self.deadline = deadline
            self.workspace = workspace
            if !trustsTMPDIR { tmpdirChecked = false }
        }

        /// Whether temporary-path exemptions hold: not in a line that may make a symbolic link,
        /// which can turn a temporary path into any other. Worked out once, when first needed.
        mutating func temporaryExemptions() -> Bool {
            if let linksChecked { return !linksChecked }
            let links = CommandPolicy.mayCreateLinks(text)
            linksChecked = links
            return !links
        }

        /// Whether `$TMPDIR` names the temporary directory it did when the line began: not in a line
        /// that may set it (`TMPDIR=/ …`, `export TMPDIR`, `for TMPDIR in …`, `read TMPDIR`), that
        /// is, one that names it other than as `$TMPDIR` or `${TMPDIR…}`.
        mutating func trustsTMPDIR() -> Bool {
            if let tmpdirChecked { return tmpdirChecked }
            let trusted = !CommandPolicy.mayRebindTMPDIR(text)
            tmpdirChecked = trusted
            return trusted
        }
        private var tmpdirChecked: Bool?

        /// Checks run up to this many steps between looks at the clock.
        private var stepsSinceClock = 0

        mutating func timedOut() -> Bool {
            guard !expired else { return true }
            stepsSinceClock += 1
            // The clock costs more than a step: look at it every few steps, and at the first.
            guard stepsSinceClock == 1 || stepsSinceClock % 8 == 0 else { return false }
            if ContinuousClock.now > deadline { expired = true }
            return expired
        }
    }

    private func evaluateScript(_ script: String, depth: Int, now: Date, state: inout Evaluation) {
        guard depth <= ShellParser.maxDepth else {
            state.matches.append(limit("too-complex", "The command nests scripts deeper than the guard reads", String(script.prefix(80))))
            return
        }
        guard depth == 0 || state.judgedScripts.insert(script).inserted else { return }
        guard !state.timedOut() else { return }
        let parse = ShellParser.parse(script, depth: depth)
        if parse.tooComplex {
            state.matches.append(limit("too-complex", "The command nests or repeats more than the guard reads", String(script.prefix(80))))
        }
        for var command in parse.commands {
            if state.timedOut() { return }
            if command.stdinText == nil, command.stdinSubstitution == nil, let source = command.pipedFrom {
                // `echo "rm -rf /" | sh`: what the previous command prints becomes this one's input.
                let previous = parse.commands[source]
                if let printed = ShellParser.printedText(previous) {
                    command.stdinText = printed
                } else {
                    command.stdinSubstitution = .unknown(previous.source)
                }
            }
            remember(command, state: &state)
            judge(command, depth: command.depth, now: now, state: &state)
        }
    }

    /// Notes the variables a command sets (`X=rm`, `export X="$(curl …)"`) for the commands after it.
    private func remember(_ command: ShellCommand, state: inout Evaluation) {
        var words = command.words[...]
        if let first = words.first, CommandNormalizer.assignment(first) == nil {
            guard CommandNormalizer.declarations.contains(first.text) else { return }
            words = words.dropFirst().drop { $0.text.startsWithDash }
        }
        for word in words {
            guard let (name, value) = CommandNormalizer.assignment(word) else { continue }
            if !word.isDynamic {
                state.variables[name] = .known(value)
                continue
            }
            // X=$(…): the substitution's output, known or not; anything else (X=$HOME/bin) is left
            // to the environment, which the guard does not know.
            let top = ShellParser.parse(value).commands.filter { $0.depth == 0 }
            if let only = top.first, top.count == 1, only.words.count == 1, let output = only.words[0].output {
                state.variables[name] = output
            } else if value.hasPrefix("$("), value.hasSuffix(")") || value.hasPrefix("`") {
                state.variables[name] = .unknown(value)
            } else {
                state.variables[name] = nil
            }
        }
    }

    private func judge(_ command: ShellCommand, depth: Int, now: Date, state: inout Evaluation) {
        let normalized = normalizer.normalize(command)
        let hasOverrides = !configuration.blockRules.isEmpty || !configuration.allowRules.isEmpty
        let candidates = hasOverrides ? [command.source] + normalized.invocations.map { ([$0.name] + $0.args).joined(separator: " ") } : []
        if hasOverrides, let block = configuration.blockRules.first(where: { $0.matches(candidates, now: now) }) {
            state.matches.append(blockMatch(block, matched: command.source))
            return
        }
        if hasOverrides, let allow = configuration.allowRules.first(where: { $0.matches(candidates, now: now) }) {
            state.matches.append(PolicyMatch(verdict: .allow, ruleID: "override:\(allow.id)", packID: "override", severity: .low,
                                             reason: allow.reason, matched: command.source, alternative: nil, source: "override"))
            return
        }
        let anyProgram = !normalized.dynamicInvocations.isEmpty || !normalized.shellScripts.isEmpty || !normalized.code.isEmpty
        // `X=…` alone, or given to `export` (declare, typeset, local, readonly), sets X for every
        // command after it in the line, and in a shell that lives on (an agent's Bash tool) for later
        // lines too: judged whatever runs next. TMPDIR is left to the temporary-path rules.
        var assignments: [(name: String, value: String)] = []
        if !normalized.assignments.isEmpty {
            let programs = normalized.invocations.map(\.name) + normalized.otherPrograms
            let setsOnly = programs.isEmpty && !anyProgram
            assignments = normalized.assignments.filter {
                (setsOnly && $0.name != "TMPDIR") || anyProgram || EnvironmentRules.matters($0.name, to: programs)
            }
        }
        let commandWords = command.words.drop { CommandNormalizer.assignment($0) != nil }
        if let first = commandWords.first, CommandNormalizer.declarations.contains(first.text) {
            assignments += commandWords.dropFirst().compactMap(CommandNormalizer.assignment).filter { $0.name != "TMPDIR" }
        }
        for (name, value) in assignments {
            switch EnvironmentRules.check(name, value, workspace: state.workspace) {
            case .fine:
                break
            case .script(let script):
                evaluateScript(script, depth: depth + 1, now: now, state: &state)
            case .unsafe(let reason):
                state.matches.append(unresolved("environment", "\(reason); the guard cannot see what that makes run", matched: command.source))
            }
        }
        for var invocation in normalized.invocations {
            if invocation.name == "rm" || invocation.name == "find" {
                invocation.temporaryExemptions = state.temporaryExemptions()
                invocation.trustsTMPDIR = state.trustsTMPDIR()
            }
            matches(for: invocation, into: &state.matches)
        }
        for script in normalized.shellScripts {
            evaluateScript(script, depth: depth + 1, now: now, state: &state)
        }
        for (language, code) in normalized.code {
            let reading = InlineCode(code, language: language)
            if let pack = codePacks[language] {
                for rule in pack.codeRules where rule.needles.contains(where: reading.outsideLiterals.containsBytes) {
                    state.matches.append(match(id: pack.ruleID(rule.name), pack: pack.id, severity: rule.severity, reason: rule.reason,
                                               matched: command.source, alternative: rule.alternative))
                }
                if let hidden = reading.hiddenCalls {
                    state.matches.append(unresolved("hidden-call", "In \(language.rawValue) code, \(hidden)", matched: command.source))
                }
            }
            for script in reading.shellCalls {
                evaluateScript(script, depth: depth + 1, now: now, state: &state)
            }
        }
        for reason in normalized.unknownScripts {
            state.matches.append(unresolved("unknown-script", "The content cannot be known before it runs: \(reason)", matched: command.source))
        }
        for (program, script) in normalized.possibleScripts {
            let found = scratch(&state) { evaluateScript(script, depth: depth + 1, now: now, state: &$0) }
            if let worst = found.first {
                state.matches.append(unresolved("possible-command", "\(program) may run '\(script)' as a command: \(worst.reason)",
                                                matched: command.source))
            }
        }
        for dynamic in normalized.dynamicInvocations {
            judgeDynamic(dynamic, command: command, depth: depth, now: now, state: &state)
        }
    }

    /// A program known only at run time: resolved from the line when it can be (`X=rm; $X …`,
    /// `$(echo rm) …`); otherwise `ask` when its arguments would be destructive for a program the
    /// guard knows, or when it runs whatever another command prints.
    private func judgeDynamic(_ dynamic: DynamicInvocation, command: ShellCommand, depth: Int, now: Date, state: inout Evaluation) {
        let word = dynamic.word
        var value = word.output
        if value == nil, let name = word.variableName { value = state.variables[String(name)] }
        switch value {
        case .known(let text):
            // Unquoted, the value is split into words; quoted, it is one.
            let words = word.quoted ? [ShellWord(text: text, quoted: true, hasExpansion: false)]
                : text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map { ShellWord(text: String($0), quoted: false, hasExpansion: false) }
            guard !words.isEmpty, depth < ShellParser.maxDepth else { return }
            var resolved = command
            resolved.words = words + dynamic.arguments
            judge(resolved, depth: depth + 1, now: now, state: &state)
        case .unknown(let source):
            state.matches.append(unresolved("dynamic-command", "The program is whatever \(source) produces when the command runs, which cannot be known",
                                            matched: dynamic.source))
        case nil:
            guard !dynamic.arguments.isEmpty, !state.inTrial else { return }
            let pattern = CommandNormalizer.baseName(word.text)
            for program in candidatePrograms {
                if word.hasGlob, !word.hasExpansion, fnmatch(pattern, program, 0) != 0 { continue }
                var trial = command
                trial.words = [ShellWord(text: program, quoted: false, hasExpansion: false)] + dynamic.arguments
                let found = scratch(&state) { judge(trial, depth: depth + 1, now: now, state: &$0) }
                if let worst = found.first {
                    state.matches.append(unresolved(
                        "dynamic-command",
                        "The program (\(word.text)) is only known at run time, and run as \(program) these arguments would be destructive: \(worst.reason)",
                        matched: dynamic.source))
                    return
                }
            }
        }
    }

    /// Runs `body` on a copy of the evaluation and returns what pack rules found there that would
    /// stop or hold the command, strictest first; the copy's time counts against the budget.
    private func scratch(_ state: inout Evaluation, _ body: (inout Evaluation) -> Void) -> [PolicyMatch] {
        var trial = Evaluation(deadline: state.deadline)
        trial.variables = state.variables
        trial.text = state.text
        trial.inTrial = true
        body(&trial)
        if trial.expired { state.expired = true }
        // Only what a pack's rule found counts: a trial proves destruction, not doubt.
        return PolicyDecision(matches: trial.matches.filter { !$0.verdict.permitsRunning && $0.source == "pack" }).matches
    }

    private func matches(for invocation: CommandInvocation, into found: inout [PolicyMatch]) {
        let subcommand = invocation.gitSubcommand?.name ?? ""
        func judge(by pack: CompiledPack) {
            if pack.safe.contains(where: { $0(invocation) }) { return }
            for rule in pack.rules where rule.subcommands?.contains(subcommand) ?? true {
                guard rule.matches(invocation) else { continue }
                found.append(match(id: rule.id, pack: pack.id, severity: rule.severity, reason: rule.reason,
                                   matched: invocation.source, alternative: rule.alternative))
            }
        }
        if let packs = packsByCommand[invocation.name] { packs.forEach(judge) }
        anyCommandPacks.forEach(judge)
    }

    private func match(id: String, pack: String, severity: PolicySeverity, reason: String, matched: String, alternative: String?) -> PolicyMatch {
        let modes = configuration.modes
        let mode = modes.isEmpty ? severity.defaultMode : modes[id] ?? modes[pack] ?? severity.defaultMode
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

    /// Something the guard could not resolve from the text: held for an operator (`ask`), unless the
    /// operator set another mode for the rule.
    private func unresolved(_ name: String, _ reason: String, matched: String) -> PolicyMatch {
        let id = "dcg:\(name)"
        let mode = configuration.modes[id] ?? .ask
        return PolicyMatch(verdict: mode.verdict, ruleID: id, packID: "dcg", severity: .high, reason: reason, matched: matched,
                           alternative: "Write the command out literally so the guard can read it", source: "unresolved")
    }
}

/// A pack's rules as a check walks them: behind references, so that walking the rules of every
/// pack an invocation meets copies no strings or closures.
final class CompiledPack: Sendable {
    final class Rule: Sendable {
        let id: String
        let severity: PolicySeverity
        let reason: String
        let alternative: String?
        let matches: @Sendable (CommandInvocation) -> Bool
        let subcommands: NameSet?

        init(_ rule: PolicyRule, of pack: PolicyPack) {
            id = pack.ruleID(rule.name)
            subcommands = rule.subcommands.map(NameSet.init)
            severity = rule.severity
            reason = rule.reason
            alternative = rule.alternative
            matches = rule.matches
        }
    }

    let id: String
    let safe: [@Sendable (CommandInvocation) -> Bool]
    let rules: [Rule]

    init(_ pack: PolicyPack) {
        id = pack.id
        safe = pack.safe
        rules = pack.rules.map { Rule($0, of: pack) }
    }
}

/// What one pass over a command's bytes finds: a NUL, or any byte outside ASCII. Eight bytes at a
/// time, as most commands are short ASCII and every check starts here.
struct ByteScan {
    private(set) var hasNUL = false
    private(set) var hasNonASCII = false

    init(_ text: String) {
        var text = text
        (hasNUL, hasNonASCII) = text.withUTF8 { bytes -> (Bool, Bool) in
            var nul = false, high = false
            var index = 0
            let count = bytes.count
            if let base = bytes.baseAddress {
                let raw = UnsafeRawPointer(base)
                while index + 8 <= count, !(nul && high) {
                    let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    if word & 0x8080_8080_8080_8080 != 0 { high = true }
                    // A zero byte, by the classic test: (w - 0x01…) & ~w & 0x80…
                    if (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080 != 0 { nul = true }
                    index += 8
                }
            }
            while index < count {
                let byte = bytes[index]
                if byte == 0 { nul = true }
                if byte >= 0x80 { high = true }
                index += 1
            }
            return (nul, high)
        }
    }
}

/// Characters that look like ASCII option or letter characters (‐ – — −, full-width letters):
/// replaced by what they look like before matching, so `rm —rf` is read as `rm -rf`.
enum LookAlikes {
    static func normalized(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 >= 0x80 }) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x2010...0x2015, 0x2212, 0xFE58, 0xFE63, 0xFF0D:
                scalars.append("-")
            case 0xFF01...0xFF5E:
                scalars.append(Unicode.Scalar(scalar.value - 0xFEE0)!)
            case 0x3000:
                scalars.append(" ")
            default:
                scalars.append(scalar)
            }
        }
        return String(scalars)
    }
}

extension CommandPolicy {
    /// Checks run here, never on a thread of Swift's cooperative pool: a long check (up to its time
    /// budget) must not hold up other sessions' work.
    static let queue = DispatchQueue(label: "flywheel.policy", qos: .userInitiated, attributes: .concurrent)

    /// ``evaluate(_:environment:workspace:now:budget:)`` on the guard's own queue.
    public func decide(_ command: String, environment: [String: String] = [:], workspace: String? = nil) async -> PolicyDecision {
        await withCheckedContinuation { continuation in
            Self.queue.async {
                continuation.resume(returning: evaluate(command, environment: environment, workspace: workspace))
            }
        }
    }
}
