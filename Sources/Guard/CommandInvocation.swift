/// A simple command with its wrappers removed: the program that would actually run and its arguments.
struct CommandInvocation: Sendable {
    /// What the invocation is made of, worked out once and shared: every pack and rule is handed
    /// the invocation, and copying one reference costs far less than copying each field.
    private final class Parts: Sendable {
        let name: String
        let arguments: [ShellWord]
        let stdinText: String?
        let redirectTargets: [String]
        let source: String
        let args: [String]
        let operands: [ShellWord]
        let removeFlags: RemoveFlags
        let gitSubcommand: (name: String, rest: ArraySlice<String>)?

        init(name: String, arguments: [ShellWord], stdinText: String?, redirectTargets: [String], source: String) {
            self.name = name
            self.arguments = arguments
            self.stdinText = stdinText
            self.redirectTargets = redirectTargets
            self.source = source
            let args = arguments.map(\.text)
            self.args = args
            if !arguments.contains(where: { $0.text.startsWithDash }) {
                // No option at all (`git status`): the operands are the arguments, shared.
                self.operands = arguments
            } else {
                var operands: [ShellWord] = []
                var afterDashes = false
                for word in arguments {
                    if afterDashes { operands.append(word); continue }
                    if word.text == "--" { afterDashes = true; continue }
                    if word.text.startsWithDash, word.text.utf8.count > 1 { continue }
                    operands.append(word)
                }
                self.operands = operands
            }
            // Every git rule asks for the subcommand: worked out once.
            gitSubcommand = name == "git" ? CommandInvocation.subcommand(of: args, skipping: Match.gitGlobalOptions) : nil
            removeFlags = name == "rm" ? RemoveFlags(args: args) : RemoveFlags()
        }
    }

    private let parts: Parts

    /// The program's base name (`/usr/bin/git` → `git`); empty when the name is only known at run time.
    var name: String { parts.name }
    var arguments: [ShellWord] { parts.arguments }
    var stdinText: String? { parts.stdinText }
    var redirectTargets: [String] { parts.redirectTargets }
    /// The simple command's text in the command line.
    var source: String { parts.source }
    /// The arguments' texts, computed once: every rule looks at them.
    var args: [String] { parts.args }
    /// Arguments that are not options (everything after `--` counts as an operand).
    var operands: [ShellWord] { parts.operands }
    /// Whether a path inside a temporary directory may be exempt from deletion rules: not when the
    /// same line may make a symbolic link, which can turn such a path into any other.
    var temporaryExemptions = true
    /// Whether `$TMPDIR` may be read as a temporary directory: not when the line may set it.
    var trustsTMPDIR = true

    init(name: String, arguments: [ShellWord], stdinText: String?, redirectTargets: [String], source: String) {
        parts = Parts(name: name, arguments: arguments, stdinText: stdinText, redirectTargets: redirectTargets, source: source)
    }

    /// For `rm`, how it was asked to delete (every rm rule asks): worked out once.
    var removeFlags: RemoveFlags { parts.removeFlags }

    /// For `git`, the subcommand after the global options, and the arguments after it.
    var gitSubcommand: (name: String, rest: ArraySlice<String>)? { parts.gitSubcommand }

    /// The first argument that is not an option (skipping the values of `optionsWithValues`), and
    /// the arguments after it.
    static func subcommand(of all: [String], skipping optionsWithValues: Set<String>) -> (name: String, rest: ArraySlice<String>)? {
        var index = 0
        while index < all.count {
            let arg = all[index]
            if arg.startsWithDash {
                index += optionsWithValues.contains(arg) ? 2 : 1
                continue
            }
            return (arg, all[(index + 1)...])
        }
        return nil
    }

    /// Whether a short flag letter appears in any `-xyz` cluster, or a long option is present.
    func hasFlag(short: Character? = nil, long: [String] = [], in arguments: ArraySlice<String>? = nil) -> Bool {
        for arg in arguments ?? args[...] {
            if arg == "--" { return false }
            if arg.hasPrefix("--") {
                let name = arg.split(separator: "=", maxSplits: 1).first.map(String.init) ?? arg
                if long.contains(name) { return true }
            } else if arg.startsWithDash, arg.utf8.count > 1, let short, arg.dropFirst().allSatisfy(\.isLetter), arg.dropFirst().contains(short) {
                return true
            }
        }
        return false
    }
}

extension StringProtocol {
    /// Whether the first byte is `-`: how programs tell an option from an operand (byte-wise, so a
    /// combining mark after the dash does not hide the option). Far cheaper than `hasPrefix("-")`.
    var startsWithDash: Bool { utf8.first == UInt8(ascii: "-") }
}
