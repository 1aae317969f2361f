/// One word of a simple command, after quote removal.
struct ShellWord: Sendable, Equatable {
    /// Quotes removed and escapes applied; parameter and command expansions kept as written
    /// (`$TMPDIR/build`, `$(date)`), because the guard never expands them.
    var text: String
    /// Some part of the word was quoted.
    var quoted: Bool
    /// The word contains an expansion (`$…` or backticks) whose value is unknown.
    var hasExpansion: Bool
    /// An unquoted `*`, `?` or `[`: the shell may replace the word with file names.
    var hasGlob = false
    /// An unquoted `{…,…}` or `{a..b}`: the shell expands it into several words.
    var hasBraces = false
    /// For a word that is exactly one command or process substitution: what it would print.
    var output: SubstitutionOutput?
    /// The word is a process substitution (`<(…)`, `>(…)`): a file name the shell makes up.
    var isProcessSubstitution = false

    init(text: String, quoted: Bool, hasExpansion: Bool) {
        self.text = text
        self.quoted = quoted
        self.hasExpansion = hasExpansion
    }

    /// The variable a word consists of (`$X`, `${X}`, `"$X"`), if that is all it is.
    var variableName: Substring? {
        guard hasExpansion, text.hasPrefix("$") else { return nil }
        var name = text.dropFirst()
        if name.hasPrefix("{") {
            guard name.hasSuffix("}") else { return nil }
            name = name.dropFirst().dropLast()
        }
        guard let first = name.utf8.first, ShellParser.isNameStart(first),
              name.utf8.allSatisfy({ ShellParser.isNameStart($0) || (48...57).contains($0) }) else { return nil }
        return name
    }

    /// Whether the word's value is only known when the command runs: an expansion, a glob or a
    /// substitution's output.
    var isDynamic: Bool { hasExpansion || hasGlob }
}

/// What a command or process substitution prints, as far as the guard can tell.
enum SubstitutionOutput: Sendable, Equatable {
    /// `$(echo rm -rf /)`, `<(printf …)`, `$(cat <<EOF … EOF)`: the text it prints.
    case known(String)
    /// Anything else (`$(curl …)`): the command, for the reason.
    case unknown(String)
}

/// One simple command found in a command line: `git reset --hard` in `cd x && git reset --hard`.
struct ShellCommand: Sendable {
    var words: [ShellWord]
    /// The command's own text in the command line, for showing what matched.
    var source: String
    /// A heredoc body or here-string fed to the command's standard input.
    var stdinText: String?
    /// Files named by redirections (`> out.txt`, `< in`).
    var redirectTargets: [String]
    /// The index (in the same parse) of the command whose output is piped into this one.
    var pipedFrom: Int?
    /// How deeply nested in substitutions or inline scripts the command sits.
    var depth: Int
    /// Standard input comes from a process substitution (`sh < <(curl …)`): what it prints.
    var stdinSubstitution: SubstitutionOutput?
}

/// The result of reading a command line.
struct ShellParse: Sendable {
    var commands: [ShellCommand]
    /// The input nested deeper or held more commands than the guard reasons about.
    var tooComplex: Bool
}
