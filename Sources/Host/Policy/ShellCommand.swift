/// One word of a simple command, after quote removal.
struct ShellWord: Sendable, Equatable {
    /// Quotes removed and escapes applied; parameter and command expansions kept as written
    /// (`$TMPDIR/build`, `$(date)`), because the guard never expands them.
    var text: String
    /// Some part of the word was quoted.
    var quoted: Bool
    /// The word contains an expansion (`$…` or backticks) whose value is unknown.
    var hasExpansion: Bool
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
}

/// The result of reading a command line.
struct ShellParse: Sendable {
    var commands: [ShellCommand]
    /// The input nested deeper or held more commands than the guard reasons about.
    var tooComplex: Bool
}
