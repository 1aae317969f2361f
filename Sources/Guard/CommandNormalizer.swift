/// Finds what a simple command really runs: removes wrappers (`sudo`, `env`, `timeout`, `xargs`, …),
/// recognises programs that take a command the way wrappers do (`strace rm …`, `flock f rm …`),
/// finds scripts handed to shells and interpreters however they arrive (`-c`, stdin, heredocs,
/// process substitutions, `source`), and notes what cannot be known before the command runs.
struct CommandNormalizer: Sendable {
    static let shells: NameSet = ["sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "yash", "busybox", "fish", "tcsh", "csh"]
    /// Look-ups that name a program without running it.
    static let dataOnly: NameSet = ["which", "whereis", "type", "hash", "man", "help", "whatis", "apropos", "info", "tldr"]
    /// Programs whose arguments are data: text to print, search, send or store, never a command.
    static let dataPrograms: NameSet = [
        "echo", "printf", "grep", "egrep", "fgrep", "rg", "ag", "ack", "jq", "yq", "cat", "tee", "less", "more", "head", "tail",
        "wc", "sort", "uniq", "diff", "cmp", "comm", "cut", "tr", "column", "fold", "fmt", "nl", "rev", "base64", "md5sum",
        "sha1sum", "sha256sum", "sha512sum", "xxd", "od", "hexdump", "strings", "file", "stat", "ls", "tree", "du", "df",
        "basename", "dirname", "realpath", "readlink", "touch", "mkdir", "cp", "mv", "ln", "test", "[", "expr", "logger",
        "notify-send", "gh", "glab", "curl", "wget", "http", "mail", "cd", "pushd", "popd", "true", "false", "exit", "return",
        "sleep", "wait", "date", "whoami", "id", "uname", "hostname", "pwd", "read", "set", "shopt", "unset", "alias",
        "unalias", "local", "declare", "typeset", "export", "readonly", "let", "shift", "getopts", "jobs", "fg", "bg", "disown",
        "tput", "stty", "clear", "seq", "yes", "sed",
    ]
    /// Builtins whose `NAME=value` arguments assign variables.
    static let declarations: NameSet = ["export", "declare", "typeset", "local", "readonly"]

    /// Every program name that makes a word worth following as a command: what the enabled packs
    /// look at, shells, interpreters and wrappers.
    let programs: NameSet
    /// Programs the enabled packs know: their arguments are theirs to judge.
    let packPrograms: NameSet

    /// Whether every program needs an invocation (some pack looks at any program, or operator
    /// rules match whole invocations); otherwise only the programs packs know get one.
    let everyInvocation: Bool

    init(packPrograms: Set<String>, everyInvocation: Bool = true) {
        self.packPrograms = NameSet(packPrograms)
        self.everyInvocation = everyInvocation
        programs = NameSet(packPrograms).union(Self.shells).union(Self.wrapperNames).union(Self.interpreterNames)
    }

    func normalize(_ command: ShellCommand) -> NormalizedCommand {
        var result = NormalizedCommand()
        normalize(words: command.words[...], command: command, into: &result, budget: 16)
        return result
    }

    private func normalize(words input: ArraySlice<ShellWord>, command: ShellCommand, into result: inout NormalizedCommand, budget: Int) {
        guard budget > 0 else {
            result.unknownScripts.append("the command nests wrappers deeper than the guard reads")
            return
        }
        var words = Self.expandingBraces(input)
        while true {
            while let first = words.first, let assignment = Self.assignment(first) {
                result.assignments.append(assignment)
                words = words.dropFirst()
            }
            guard let first = words.first else { return }
            let rest = words.dropFirst()
            guard let name = Self.programName(first) else {
                result.dynamicInvocations.append(DynamicInvocation(word: first, arguments: Array(rest), source: command.source))
                return
            }
            // Most commands are plain programs: one set lookup spares them the wrapper checks below.
            guard Self.wrapperNames.contains(name) || Self.language(of: name) != nil || Self.shells.contains(name) else {
                appendInvocation(name: name, rest: rest, command: command, into: &result, budget: budget)
                return
            }
            switch name {
            case "sudo", "doas", "pkexec":
                words = Self.skipOptions(rest, withValue: [
                    "-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "--user", "--group", "--chdir", "--host", "--prompt",
                    "--role", "--type", "--other-user", "--close-from",
                ])
            case "env":
                var remaining = rest
                while let word = remaining.first, word.text.startsWithDash || Self.assignment(word) != nil {
                    let text = word.text
                    remaining = remaining.dropFirst()
                    if let assignment = Self.assignment(word) {
                        result.assignments.append(assignment)
                        continue
                    }
                    if text == "--" { break }
                    if text == "-S" || text == "--split-string" {
                        if let script = remaining.first {
                            result.shellScripts.append(([script.text] + remaining.dropFirst().map(\.text)).joined(separator: " "))
                        }
                        return
                    }
                    // -S'…' and --split-string=…: the value attached.
                    if text.hasPrefix("--split-string=") || (text.hasPrefix("-S") && !text.hasPrefix("--")) {
                        let value = text.hasPrefix("-S") ? text.dropFirst(2) : text.dropFirst("--split-string=".count)
                        result.shellScripts.append(([String(value)] + remaining.map(\.text)).joined(separator: " "))
                        return
                    }
                    if ["-u", "--unset", "-C", "--chdir"].contains(text) { remaining = remaining.dropFirst() }
                }
                words = remaining
            case "command":
                if let option = rest.first?.text, option == "-v" || option == "-V" { return }
                words = Self.skipOptions(rest, withValue: [])
            case "builtin", "nohup", "unbuffer", "nocache", "setsid", "caffeinate":
                words = Self.skipOptions(rest, withValue: [])
            case "exec":
                words = Self.skipOptions(rest, withValue: ["-a"])
            case "time":
                words = Self.skipOptions(rest, withValue: ["-f", "-o", "--format", "--output"])
            case "nice":
                words = Self.skipOptions(rest, withValue: ["-n", "--adjustment"])
            case "ionice":
                words = Self.skipOptions(rest, withValue: ["-c", "-n", "-p", "-P", "-u", "--class", "--classdata"])
            case "stdbuf":
                words = Self.skipOptions(rest, withValue: ["-i", "-o", "-e", "--input", "--output", "--error"])
            case "chrt", "taskset":
                words = Self.skipOptions(rest, withValue: []).dropFirst()
            case "timeout":
                // options, then the duration, then the command
                words = Self.skipOptions(rest, withValue: ["-s", "-k", "--signal", "--kill-after"]).dropFirst()
            case "xargs":
                // Long options with an optional value (--replace, --eof) never take the next word.
                words = Self.skipOptions(rest, withValue: [
                    "-I", "-L", "-n", "-P", "-s", "-d", "-E", "-a", "--max-args", "--max-procs", "--max-chars", "--delimiter",
                    "--arg-file", "--process-slot-var",
                ])
            case "watch":
                let remaining = Self.skipOptions(rest, withValue: ["-n", "--interval", "-q", "--equexit", "-d", "--differences"])
                result.shellScripts.append(remaining.map(\.text).joined(separator: " "))
                return
            case "eval":
                result.shellScripts.append(rest.map(\.text).joined(separator: " "))
                return
            case "trap":
                // trap 'commands' SIGNAL…: the first operand runs as shell when the signal comes.
                if let action = Self.skipOptions(rest, withValue: []).first, action.text != "-" { result.shellScripts.append(action.text) }
                return
            case "su", "runuser", "script", "flock", "sg":
                if let script = Self.commandOption(rest) {
                    result.shellScripts.append(script)
                    return
                }
                if name == "su" { return }
                if name == "runuser" {
                    words = Self.skipOptions(rest, withValue: ["-u", "-g", "-G", "--user", "--group", "--supp-group", "-w", "--whitelist-environment"])
                    if rest.contains(where: { $0.text == "-u" || $0.text.hasPrefix("--user") }) { continue }
                    return
                }
                // flock FILE cmd…, sg GROUP cmd…, script FILE: what follows is a command.
                words = Self.skipOptions(rest, withValue: ["-E", "-w", "--timeout", "--conflict-exit-code", "-T", "-t", "-I", "-O"]).dropFirst()
                if name == "sg", let script = words.first, words.count == 1 {
                    result.shellScripts.append(script.text)
                    return
                }
            case "at", "batch":
                // at reads the commands to run later from standard input (or a file with -f).
                if !rest.contains(where: { ["-f", "-l", "-r", "-d", "-c"].contains($0.text) }) {
                    readStdin(as: nil, command: command, reader: name, into: &result)
                }
                return
            case "source", ".":
                if let file = rest.first { scriptFile(file, command: command, reader: name, into: &result) }
                return
            case "ssh":
                let remaining = Self.skipOptions(rest, withValue: [
                    "-p", "-i", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-W", "-b", "-c", "-E", "-e", "-m", "-O", "-Q", "-S", "-w",
                    "-B", "-I",
                ])
                let remote = remaining.dropFirst()
                if !remote.isEmpty { result.shellScripts.append(remote.map(\.text).joined(separator: " ")) }
                return
            case _ where Self.shells.contains(name):
                shellScript(name: name, rest: rest, command: command, into: &result)
                return
            case _ where Self.language(of: name) != nil:
                inlineCode(Self.language(of: name)!, name: name, rest: rest, command: command, into: &result)
                return
            case _ where Self.dataOnly.contains(name):
                return
            default:
                appendInvocation(name: name, rest: rest, command: command, into: &result, budget: budget)
                return
            }
        }
    }

    /// Every name the switch above treats specially.
    static let wrapperNames: NameSet = NameSet([
        "sudo", "doas", "pkexec", "env", "command", "builtin", "nohup", "unbuffer", "nocache", "setsid", "caffeinate", "exec",
        "time", "nice", "ionice", "stdbuf", "chrt", "taskset", "timeout", "xargs", "watch", "eval", "trap", "su", "runuser",
        "script", "flock", "sg", "at", "batch", "source", ".", "ssh",
    ]).union(dataOnly)

    static let interpreterNames: NameSet = [
        "python", "python2", "python3", "pypy", "pypy3", "node", "nodejs", "bun", "deno", "ruby", "jruby", "perl", "php",
        "awk", "gawk", "mawk", "nawk",
    ]

    /// The program a command word names (`/usr/bin/git` → `git`), or nil when only the run time
    /// knows it (`$X`, `$(…)`, `/bin/r?`). A path whose last part is literal (`$HOME/bin/tool`) names
    /// that part.
    static func programName(_ word: ShellWord) -> String? {
        let name = baseName(word.text)
        if word.isProcessSubstitution || name.isEmpty { return nil }
        if word.hasGlob, name.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) { return nil }
        if word.hasExpansion, name.contains(where: { $0 == "$" || $0 == "`" }) || name.hasSuffix("}") || name.hasSuffix(")") { return nil }
        return name
    }

    private func appendInvocation(name: String, rest: ArraySlice<ShellWord>, command: ShellCommand, into result: inout NormalizedCommand,
                                  budget: Int) {
        let packProgram = packPrograms.contains(name)
        guard everyInvocation || packProgram else {
            // No rule looks at this program: note its name, and follow what it may run.
            result.otherPrograms.append(name)
            if !Self.dataPrograms.contains(name) {
                followCommands(in: rest, program: name, command: command, into: &result, budget: budget - 1)
            }
            return
        }
        var arguments = Array(rest)
        if name == "git" {
            guard let rewritten = gitInvocation(arguments, command: command, into: &result, budget: budget) else { return }
            arguments = rewritten
        } else if let options = LongOptions.tables[name] {
            arguments = LongOptions.expanding(arguments, among: options)
        }
        result.invocations.append(CommandInvocation(
            name: name, arguments: arguments, stdinText: command.stdinText, redirectTargets: command.redirectTargets, source: command.source))
        if name == "find" { findExec(rest, command: command, into: &result, budget: budget - 1) }
        if !packProgram, !Self.dataPrograms.contains(name) {
            followCommands(in: rest, program: name, command: command, into: &result, budget: budget - 1)
        }
    }

    /// A program the guard does not know may still run a command it is given (`strace rm -rf …`,
    /// `flock f rm …`, `tmux new 'rm -rf …'`, `tar --to-command='…'`): a word naming a program that
    /// matters is followed as a command from there; a string that reads as such a command is noted
    /// as one it may run.
    private func followCommands(in words: ArraySlice<ShellWord>, program: String, command: ShellCommand, into result: inout NormalizedCommand,
                                budget: Int) {
        if let index = words.firstIndex(where: { !$0.isDynamic && !$0.text.startsWithDash && programs.contains(Self.baseName($0.text)) }) {
            normalize(words: words[index...], command: command, into: &result, budget: budget)
        }
        for word in words where Self.mayHoldCommand(word.text) {
            var candidates = [Substring(word.text)]
            var text = Substring(word.text)
            while let equals = text.firstIndex(of: "=") {
                text = text[text.index(after: equals)...]
                candidates.append(text)
            }
            if let script = candidates.first(where: { candidate in
                let first = candidate.drop { $0 == " " || $0 == "\t" || $0 == "(" || $0 == "{" }.prefix { $0 != " " && $0 != "\t" && $0 != ";" }
                return programs.contains(Self.baseName(String(first)))
            }) {
                result.possibleScripts.append((program, String(script)))
            }
        }
    }

    /// Whether a word has a blank or `;` in it, so it could be a command line of its own.
    private static func mayHoldCommand(_ text: String) -> Bool {
        text.utf8.contains { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == UInt8(ascii: ";") }
    }

    /// `bash -c 'script'`, `sh -lc '…'`, `bash <<EOF`, `bash <<< '…'`, `curl … | sh`, `bash <(…)`,
    /// `bash /dev/stdin`; a script file of the workspace cannot be read.
    private func shellScript(name: String, rest: ArraySlice<ShellWord>, command: ShellCommand, into result: inout NormalizedCommand) {
        var remaining = rest
        if name == "busybox" {
            guard let applet = remaining.first, Self.shells.contains(applet.text) else {
                if let applet = remaining.first, let appletName = Self.programName(applet) {
                    appendInvocation(name: appletName, rest: remaining.dropFirst(), command: command, into: &result, budget: 8)
                }
                return
            }
            remaining = remaining.dropFirst()
        }
        var readsStdin = false
        while let word = remaining.first, word.text.startsWithDash || word.text.hasPrefix("+") {
            let text = word.text
            remaining = remaining.dropFirst()
            if text == "--" || text == "-" { break }
            if text == "-o" || text == "+o" || text == "--rcfile" || text == "--init-file" || text == "-O" || text == "+O" {
                remaining = remaining.dropFirst()
                continue
            }
            if !text.hasPrefix("--"), text.contains(Character("c")) {
                if let script = remaining.first { result.shellScripts.append(script.text) }
                return
            }
            if !text.hasPrefix("--"), text.contains(Character("s")) { readsStdin = true }
        }
        if let file = remaining.first, !readsStdin {
            scriptFile(file, command: command, reader: name, into: &result)
            return
        }
        readStdin(as: nil, command: command, reader: name, into: &result)
    }

    /// A script file given to a shell or `source`: its content is known only when it is standard
    /// input or a process substitution.
    private func scriptFile(_ file: ShellWord, command: ShellCommand, reader: String, into result: inout NormalizedCommand) {
        if file.isProcessSubstitution, let output = file.output {
            switch output {
            case .known(let text): result.shellScripts.append(text)
            case .unknown(let source): result.unknownScripts.append("\(reader) runs the output of \(source)")
            }
        } else if ["/dev/stdin", "/proc/self/fd/0", "/dev/fd/0", "-"].contains(file.text) {
            readStdin(as: nil, command: command, reader: reader, into: &result)
        }
    }

    /// Standard input read as a script: a heredoc, a here-string, what `echo` pipes in, or something
    /// whose content cannot be known (`curl … | sh`).
    private func readStdin(as language: ScriptLanguage?, command: ShellCommand, reader: String, into result: inout NormalizedCommand) {
        if let stdin = command.stdinText {
            if let language { result.code.append((language, stdin)) } else { result.shellScripts.append(stdin) }
        } else if let substitution = command.stdinSubstitution {
            switch substitution {
            case .known(let text):
                if let language { result.code.append((language, text)) } else { result.shellScripts.append(text) }
            case .unknown(let source):
                result.unknownScripts.append("\(reader) reads \(language == nil ? "commands" : "code") from \(source)")
            }
        }
    }

    static func language(of name: String) -> ScriptLanguage? {
        guard let first = name.utf8.first, first == UInt8(ascii: "p") || first == UInt8(ascii: "n") || first == UInt8(ascii: "r")
            || first == UInt8(ascii: "b") || first == UInt8(ascii: "d") || first == UInt8(ascii: "j") || first == UInt8(ascii: "a")
            || first == UInt8(ascii: "g") || first == UInt8(ascii: "m") else { return nil }
        if name.hasPrefix("python") || name == "pypy" || name == "pypy3" { return .python }
        switch name {
        case "node", "nodejs", "bun", "deno": return .node
        case "ruby", "jruby": return .ruby
        case "perl": return .perl
        case "php": return .php
        case "awk", "gawk", "mawk", "nawk": return .awk
        default: return nil
        }
    }

    /// Code given inline (`python3 -c`, `-Ic`, `-c'…'`, `node -pe`, `perl -lne`), as a program
    /// operand (awk), or on standard input.
    private func inlineCode(_ language: ScriptLanguage, name: String, rest: ArraySlice<ShellWord>, command: ShellCommand,
                            into result: inout NormalizedCommand) {
        // Arrays, not sets: a few elements each, compared faster than hashed.
        let codeLetters: [Character]
        let longFlags: [String]
        switch language {
        case .python: (codeLetters, longFlags) = (["c"], [])
        case .node: (codeLetters, longFlags) = (["e", "p"], ["--eval", "--print"])
        case .ruby: (codeLetters, longFlags) = (["e"], [])
        case .perl: (codeLetters, longFlags) = (["e", "E"], [])
        case .php: (codeLetters, longFlags) = (["r"], [])
        case .awk: (codeLetters, longFlags) = ([], [])
        }
        var remaining = rest
        if name == "deno", remaining.first?.text == "eval" {
            if let code = remaining.dropFirst().first { result.code.append((language, code.text)) }
            return
        }
        var sawProgram = false
        while let word = remaining.first {
            let text = word.text
            remaining = remaining.dropFirst()
            if text == "--" { break }
            if longFlags.contains(text) {
                if let code = remaining.first { result.code.append((language, code.text)) }
                remaining = remaining.dropFirst()
                continue
            }
            if let equals = text.firstIndex(of: "="), text.hasPrefix("--"), longFlags.contains(String(text[..<equals])) {
                result.code.append((language, String(text[text.index(after: equals)...])))
                continue
            }
            if language == .awk {
                if text == "-f" || text == "--file" { sawProgram = true; remaining = remaining.dropFirst(); continue }
                if ["-v", "-F", "--assign", "--field-separator"].contains(text) { remaining = remaining.dropFirst(); continue }
                if !text.startsWithDash || text == "-" {
                    if !sawProgram { result.code.append((language, text)) }
                    return
                }
                continue
            }
            if text.startsWithDash, !text.hasPrefix("--"), text.utf8.count > 1 {
                let letters = Array(text.dropFirst())
                // python -m runs a module: what follows is its arguments.
                if language == .python, let module = letters.firstIndex(of: "m"), letters.firstIndex(where: codeLetters.contains).map({ $0 > module }) ?? true {
                    return
                }
                // node reads -pe as -p -e, each taking the next word; the others take the rest of
                // the cluster as the code when there is any (`python3 -c'…'`).
                let codeIndex = language == .node ? letters.lastIndex(where: codeLetters.contains) : letters.firstIndex(where: codeLetters.contains)
                if let index = codeIndex {
                    if index == letters.count - 1 {
                        if let code = remaining.first { result.code.append((language, code.text)) }
                        remaining = remaining.dropFirst()
                    } else {
                        result.code.append((language, String(letters[(index + 1)...])))
                    }
                    if language == .python { return }
                }
                continue
            }
            // A script file: its content cannot be read here (and is not standard input).
            return
        }
        if result.code.isEmpty, !sawProgram { readStdin(as: language, command: command, reader: name, into: &result) }
    }

    /// `git`: aliases and command-running settings given with `-c`, `rebase --exec`, and long
    /// options abbreviated as git allows.
    private func gitInvocation(_ arguments: [ShellWord], command: ShellCommand, into result: inout NormalizedCommand, budget: Int) -> [ShellWord]? {
        var index = 0
        var aliases: [String: String] = [:]
        var cleanWithoutForce = false
        while index < arguments.count, arguments[index].text.startsWithDash {
            let text = arguments[index].text
            var setting: String?
            if text == "-c", index + 1 < arguments.count {
                setting = arguments[index + 1].text
                index += 1
            } else if text.hasPrefix("-c"), !text.hasPrefix("--") {
                setting = String(text.dropFirst(2))
            } else if text.hasPrefix("--exec-path=") {
                result.unknownScripts.append("git --exec-path runs git's programs from a folder given on the command line")
            } else if Match.gitGlobalOptions.contains(text) {
                index += 1
            }
            index += 1
            guard let setting, let equals = setting.firstIndex(of: "=") else { continue }
            let key = setting[..<equals].lowercased()
            let value = String(setting[setting.index(after: equals)...])
            if key.hasPrefix("alias.") {
                aliases[String(setting[setting.index(setting.startIndex, offsetBy: 6)..<equals])] = value
            } else if Self.gitCommandSettings.contains(key) || key.hasPrefix("pager.") {
                result.shellScripts.append(value.hasPrefix("!") ? String(value.dropFirst()) : value)
            } else if key == "credential.helper", value.hasPrefix("!") {
                result.shellScripts.append(String(value.dropFirst()))
            } else if key == "core.hookspath" || key == "include.path" || key.hasPrefix("includeif.") || key == "core.fsmonitor" {
                result.unknownScripts.append("git -c \(key) makes git run code from a path given on the command line")
            } else if key == "clean.requireforce", ["false", "no", "off", "0"].contains(value.lowercased()) {
                cleanWithoutForce = true
            }
        }
        guard index < arguments.count else { return arguments }
        var sub = arguments[index]
        // Most git commands need no rewriting: no alias, no long option, no setting that changes
        // what clean or rebase do.
        let rewrites = !aliases.isEmpty || cleanWithoutForce || sub.text == "rebase"
            || arguments[(index + 1)...].contains { $0.text.utf8.starts(with: "--".utf8) && $0.text.utf8.count > 2 }
        guard rewrites else { return arguments }
        let global = arguments[..<index]
        var rest = Array(arguments[(index + 1)...])
        if !aliases.isEmpty, let alias = aliases[sub.text] {
            if alias.hasPrefix("!") {
                result.shellScripts.append(([String(alias.dropFirst())] + rest.map(\.text)).joined(separator: " "))
                return nil
            }
            let expanded = alias.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { ShellWord(text: String($0), quoted: false, hasExpansion: false) }
            guard let first = expanded.first else { return arguments }
            sub = first
            rest = Array(expanded.dropFirst()) + rest
        }
        if let options = LongOptions.git[sub.text] { rest = LongOptions.expanding(rest, among: options) }
        if sub.text == "clean", cleanWithoutForce,
           !rest.contains(where: { $0.text == "-n" || $0.text == "--dry-run" || ($0.text.startsWithDash && !$0.text.hasPrefix("--") && $0.text.contains(Character("n"))) }) {
            rest.append(ShellWord(text: "--force", quoted: false, hasExpansion: false))
        }
        if sub.text == "rebase" {
            var position = 0
            while position < rest.count {
                let text = rest[position].text
                if (text == "-x" || text == "--exec"), position + 1 < rest.count {
                    result.shellScripts.append(rest[position + 1].text)
                    position += 1
                } else if text.hasPrefix("--exec=") {
                    result.shellScripts.append(String(text.dropFirst("--exec=".count)))
                } else if text.hasPrefix("-x"), text.count > 2 {
                    result.shellScripts.append(String(text.dropFirst(2)))
                }
                position += 1
            }
        }
        return Array(global) + [sub] + rest
    }

    /// git settings whose value is a command git runs.
    static let gitCommandSettings: Set<String> = [
        "core.sshcommand", "core.pager", "core.editor", "sequence.editor", "diff.external", "gpg.program", "core.askpass",
        "interactive.difffilter", "merge.tool", "diff.tool",
    ]

    /// `find … -exec cmd args {} ;` runs `cmd` for each file.
    private func findExec(_ rest: ArraySlice<ShellWord>, command: ShellCommand, into result: inout NormalizedCommand, budget: Int) {
        var index = rest.startIndex
        while index < rest.endIndex {
            let text = rest[index].text
            if ["-exec", "-execdir", "-ok", "-okdir"].contains(text) {
                var end = index + 1
                while end < rest.endIndex, rest[end].text != ";", rest[end].text != "+" { end += 1 }
                normalize(words: rest[(index + 1)..<end], command: command, into: &result, budget: budget)
                index = end
            }
            index += 1
        }
    }

    /// The script of `-c CMD`, `-cCMD`, `-lc CMD`, `--command CMD` or `--command=CMD`.
    private static func commandOption(_ words: ArraySlice<ShellWord>) -> String? {
        var remaining = words
        while let word = remaining.first {
            let text = word.text
            remaining = remaining.dropFirst()
            if text == "--command" || text == "-c" { return remaining.first?.text }
            if text.hasPrefix("--command=") { return String(text.dropFirst("--command=".count)) }
            if text.startsWithDash, !text.hasPrefix("--"), let c = text.firstIndex(of: "c") {
                let after = text[text.index(after: c)...]
                return after.isEmpty ? remaining.first?.text : String(after)
            }
        }
        return nil
    }

    /// Drops options (and the values of those that take one) up to the first operand.
    private static func skipOptions(_ words: ArraySlice<ShellWord>, withValue: [String]) -> ArraySlice<ShellWord> {
        var remaining = words
        while let word = remaining.first, word.text.startsWithDash, word.text.utf8.count > 1 {
            remaining = remaining.dropFirst()
            if word.text == "--" { break }
            if withValue.contains(word.text) { remaining = remaining.dropFirst() }
        }
        return remaining
    }

    /// `NAME=value` as a variable assignment.
    static func assignment(_ word: ShellWord) -> (name: String, value: String)? {
        let utf8 = word.text.utf8
        guard let first = utf8.first, ShellParser.isNameStart(first) else { return nil }
        var index = utf8.index(after: utf8.startIndex)
        while index != utf8.endIndex, ShellParser.isNameStart(utf8[index]) || (48...57).contains(utf8[index]) { index = utf8.index(after: index) }
        guard index != utf8.endIndex, utf8[index] == UInt8(ascii: "=") else { return nil }
        return (String(Substring(utf8[..<index])), String(Substring(utf8[utf8.index(after: index)...])))
    }

    static func baseName(_ path: String) -> String {
        let utf8 = path.utf8
        // Most words have no slash: a forward scan says so sooner than a search from the end.
        guard utf8.contains(UInt8(ascii: "/")), let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return String(Substring(utf8[utf8.index(after: slash)...]))
    }

    // MARK: Brace expansion

    /// At most this many words come out of brace expansion; past it the rest are dropped, which
    /// only matters for inputs built to be large.
    static let maxBraceWords = 256
    /// Words longer than this are not brace-expanded (the expansion nests with the word).
    static let maxBraceWordLength = 1024

    /// Words with brace patterns replaced by their expansions (`{rm,-rf,/home}` → `rm -rf /home`).
    static func expandingBraces(_ words: ArraySlice<ShellWord>) -> ArraySlice<ShellWord> {
        guard words.contains(where: \.hasBraces) else { return words }
        var expanded: [ShellWord] = []
        for word in words {
            guard word.hasBraces else {
                expanded.append(word)
                continue
            }
            guard word.text.utf8.count <= maxBraceWordLength else {
                // Too large to expand: its words are unknown, like a glob's.
                var unknown = word
                unknown.hasGlob = true
                expanded.append(unknown)
                continue
            }
            for text in expandBraces(word.text, budget: maxBraceWords) {
                var part = word
                part.text = text
                part.hasBraces = false
                expanded.append(part)
            }
        }
        return expanded[...]
    }

    static func expandBraces(_ text: String, budget: Int) -> [String] {
        let characters = Array(text)
        // The first `{` whose matching `}` encloses a top-level comma or a `..` range.
        var index = 0
        while index < characters.count {
            guard characters[index] == "{" else { index += 1; continue }
            var level = 0, close: Int?, commas: [Int] = []
            for position in index..<characters.count {
                switch characters[position] {
                case "{": level += 1
                case "}":
                    level -= 1
                    if level == 0 { close = position }
                case "," where level == 1: commas.append(position)
                default: break
                }
                if close != nil { break }
            }
            guard let close else { return [text] }
            let prefix = String(characters[..<index]), suffix = String(characters[(close + 1)...])
            var alternatives: [String] = []
            if commas.isEmpty {
                let body = String(characters[(index + 1)..<close])
                let bounds = body.components(separatedBy: "..")
                if bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]), abs(high - low) < budget {
                    alternatives = stride(from: low, through: high, by: low <= high ? 1 : -1).map(String.init)
                } else if bounds.count == 2, bounds[0].count == 1, bounds[1].count == 1,
                          let low = bounds[0].unicodeScalars.first?.value, let high = bounds[1].unicodeScalars.first?.value,
                          abs(Int(high) - Int(low)) < budget {
                    alternatives = stride(from: Int(low), through: Int(high), by: low <= high ? 1 : -1)
                        .compactMap { Unicode.Scalar($0).map { String(Character($0)) } }
                } else {
                    index = close + 1
                    continue
                }
            } else {
                var start = index + 1
                for comma in commas + [close] {
                    alternatives.append(String(characters[start..<comma]))
                    start = comma + 1
                }
            }
            var results: [String] = []
            for alternative in alternatives {
                for tail in expandBraces(alternative + suffix, budget: max(1, budget - results.count)) {
                    results.append(prefix + tail)
                    if results.count >= budget { return results }
                }
            }
            return results
        }
        return [text]
    }
}

/// Languages whose inline code the guard reads.
enum ScriptLanguage: String, Sendable, CaseIterable {
    case python, node, ruby, perl, php, awk
}

/// A command whose program is known only at run time: `$X -rf /home`, `$(curl …)`, `/bin/r? …`.
struct DynamicInvocation: Sendable {
    var word: ShellWord
    var arguments: [ShellWord]
    var source: String
}

/// What one simple command amounts to once wrappers are removed.
struct NormalizedCommand: Sendable {
    /// Programs that would run (more than one for `find … -exec …` or `xargs`).
    var invocations: [CommandInvocation] = []
    /// Shell scripts the command runs (`bash -c '…'`, `eval …`, a heredoc fed to `sh`).
    var shellScripts: [String] = []
    /// Inline code handed to an interpreter (`python -c '…'`, a heredoc fed to `node`).
    var code: [(ScriptLanguage, String)] = []
    /// Commands or code whose content cannot be known before it runs (`curl … | sh`), as reasons.
    var unknownScripts: [String] = []
    /// Strings a program the guard does not know may run as shell (`tmux new 'rm -rf …'`).
    var possibleScripts: [(program: String, script: String)] = []
    /// Programs named only at run time.
    var dynamicInvocations: [DynamicInvocation] = []
    /// Programs that run but that no rule looks at (they get no invocation).
    var otherPrograms: [String] = []
    /// Variables set for the program: `NAME=value cmd`, `env NAME=value cmd`.
    var assignments: [(name: String, value: String)] = []
}
