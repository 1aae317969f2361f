/// Removes wrappers (`sudo`, `env`, `command`, `nohup`, `time`, `timeout`, `nice`, `xargs`, …) and
/// finds what a simple command really runs, including scripts handed to shells and interpreters.
enum CommandNormalizer {
    static let shells: Set<String> = ["sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "yash", "busybox"]
    static let dataOnly: Set<String> = ["which", "whereis", "type", "hash", "man", "help", "whatis", "apropos", "info"]

    static func normalize(_ command: ShellCommand) -> NormalizedCommand {
        var result = NormalizedCommand()
        normalize(words: command.words[...], command: command, into: &result, budget: 16)
        return result
    }

    private static func normalize(words input: ArraySlice<ShellWord>, command: ShellCommand, into result: inout NormalizedCommand, budget: Int) {
        guard budget > 0 else { return }
        var words = input
        while true {
            while let first = words.first, isAssignment(first) { words = words.dropFirst() }
            guard let first = words.first else { return }
            let name = baseName(first.text)
            let rest = words.dropFirst()
            // Most commands are plain programs: one set lookup spares them the wrapper checks below.
            guard wrapperNames.contains(name) || language(of: name) != nil else {
                appendInvocation(name: name, first: first, rest: rest, command: command, into: &result, budget: budget)
                return
            }
            switch name {
            case "sudo", "doas":
                words = skipOptions(rest, withValue: ["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "--user", "--group",
                                                      "--chdir", "--host", "--prompt", "--role", "--type", "--other-user", "--close-from"])
            case "env":
                var remaining = rest
                while let word = remaining.first, word.text.hasPrefix("-") || isAssignment(word) {
                    let text = word.text
                    remaining = remaining.dropFirst()
                    if text == "--" { break }
                    if text == "-S" || text == "--split-string" {
                        if let script = remaining.first {
                            result.shellScripts.append(([script.text] + remaining.dropFirst().map(\.text)).joined(separator: " "))
                        }
                        return
                    }
                    if text.hasPrefix("--split-string=") {
                        result.shellScripts.append(String(text.dropFirst("--split-string=".count)))
                        return
                    }
                    if ["-u", "--unset", "-C", "--chdir"].contains(text) { remaining = remaining.dropFirst() }
                }
                words = remaining
            case "command":
                if let option = rest.first?.text, option == "-v" || option == "-V" { return }
                words = skipOptions(rest, withValue: [])
            case "builtin", "nohup", "unbuffer", "nocache":
                words = rest
            case "exec":
                words = skipOptions(rest, withValue: ["-a"])
            case "time":
                words = skipOptions(rest, withValue: ["-f", "-o", "--format", "--output"])
            case "nice":
                words = skipOptions(rest, withValue: ["-n", "--adjustment"])
            case "ionice":
                words = skipOptions(rest, withValue: ["-c", "-n", "-p", "-P", "-u", "--class", "--classdata"])
            case "stdbuf":
                words = skipOptions(rest, withValue: ["-i", "-o", "-e", "--input", "--output", "--error"])
            case "chrt", "taskset":
                words = skipOptions(rest, withValue: []).dropFirst()
            case "timeout":
                // options, then the duration, then the command
                words = skipOptions(rest, withValue: ["-s", "-k", "--signal", "--kill-after"]).dropFirst()
            case "xargs":
                words = skipOptions(rest, withValue: ["-I", "-L", "-n", "-P", "-s", "-d", "-E", "-a", "--max-args", "--max-procs",
                                                      "--max-chars", "--delimiter", "--arg-file", "--max-lines", "--replace", "--eof"])
            case "watch":
                let remaining = skipOptions(rest, withValue: ["-n", "--interval", "-q", "--equexit"])
                result.shellScripts.append(remaining.map(\.text).joined(separator: " "))
                return
            case "eval":
                result.shellScripts.append(rest.map(\.text).joined(separator: " "))
                return
            case "su":
                if let index = rest.firstIndex(where: { $0.text == "-c" || $0.text == "--command" }), index + 1 < rest.endIndex {
                    result.shellScripts.append(rest[index + 1].text)
                }
                return
            case "ssh":
                let remaining = skipOptions(rest, withValue: ["-p", "-i", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-W", "-b", "-c",
                                                              "-E", "-e", "-m", "-O", "-Q", "-S", "-w", "-B", "-I"])
                let remote = remaining.dropFirst()
                if !remote.isEmpty { result.shellScripts.append(remote.map(\.text).joined(separator: " ")) }
                return
            case _ where shells.contains(name):
                shellScript(name: name, rest: rest, command: command, into: &result)
                return
            case _ where language(of: name) != nil:
                inlineCode(language(of: name)!, name: name, rest: rest, command: command, into: &result)
                return
            case _ where dataOnly.contains(name):
                return
            default:
                appendInvocation(name: name, first: first, rest: rest, command: command, into: &result, budget: budget)
                return
            }
        }
    }

    /// Every name the switch above treats specially.
    static let wrapperNames: Set<String> = Set([
        "sudo", "doas", "env", "command", "builtin", "nohup", "unbuffer", "nocache", "exec", "time", "nice", "ionice", "stdbuf",
        "chrt", "taskset", "timeout", "xargs", "watch", "eval", "su", "ssh",
    ]).union(shells).union(dataOnly)

    private static func appendInvocation(name: String, first: ShellWord, rest: ArraySlice<ShellWord>, command: ShellCommand,
                                         into result: inout NormalizedCommand, budget: Int) {
        result.invocations.append(CommandInvocation(
            name: first.hasExpansion && first.text.hasPrefix("$") ? "" : name,
            arguments: Array(rest), stdinText: command.stdinText, redirectTargets: command.redirectTargets, source: command.source))
        if name == "find" { findExec(rest, command: command, into: &result, budget: budget - 1) }
    }

    /// `bash -c 'script'`, `sh -lc '…'`, `bash <<EOF`, `bash <<< '…'`; a script file cannot be read.
    private static func shellScript(name: String, rest: ArraySlice<ShellWord>, command: ShellCommand, into result: inout NormalizedCommand) {
        var remaining = rest
        if name == "busybox" {
            guard let applet = remaining.first, shells.contains(applet.text) else {
                result.invocations.append(CommandInvocation(name: remaining.first.map { baseName($0.text) } ?? name,
                                                            arguments: Array(remaining.dropFirst()), stdinText: command.stdinText,
                                                            redirectTargets: command.redirectTargets, source: command.source))
                return
            }
            remaining = remaining.dropFirst()
        }
        while let word = remaining.first, word.text.hasPrefix("-") || word.text.hasPrefix("+") {
            let text = word.text
            remaining = remaining.dropFirst()
            if text == "--" { break }
            if text == "-o" || text == "+o" || text == "--rcfile" || text == "--init-file" { remaining = remaining.dropFirst(); continue }
            if !text.hasPrefix("--"), text.contains("c") {
                if let script = remaining.first { result.shellScripts.append(script.text) }
                return
            }
        }
        if remaining.isEmpty, let stdin = command.stdinText { result.shellScripts.append(stdin) }
    }

    static func language(of name: String) -> ScriptLanguage? {
        guard let first = name.utf8.first, first == UInt8(ascii: "p") || first == UInt8(ascii: "n") || first == UInt8(ascii: "r")
            || first == UInt8(ascii: "b") || first == UInt8(ascii: "d") || first == UInt8(ascii: "j") else { return nil }
        if name.hasPrefix("python") || name == "pypy" || name == "pypy3" { return .python }
        switch name {
        case "node", "nodejs", "bun", "deno": return .node
        case "ruby", "jruby": return .ruby
        case "perl": return .perl
        case "php": return .php
        default: return nil
        }
    }

    private static func inlineCode(_ language: ScriptLanguage, name: String, rest: ArraySlice<ShellWord>, command: ShellCommand,
                                   into result: inout NormalizedCommand) {
        let codeFlags: Set<String> =
            switch language {
            case .python: ["-c"]
            case .node: ["-e", "--eval", "-p", "--print"]
            case .ruby: ["-e"]
            case .perl: ["-e", "-E"]
            case .php: ["-r"]
            }
        var remaining = rest
        if name == "deno", remaining.first?.text == "eval" {
            if let code = remaining.dropFirst().first { result.code.append((language, code.text)) }
            return
        }
        var sawScript = false
        while let word = remaining.first {
            let text = word.text
            remaining = remaining.dropFirst()
            if codeFlags.contains(text) {
                if let code = remaining.first { result.code.append((language, code.text)) }
                remaining = remaining.dropFirst()
                if language == .python { return }
                continue
            }
            if let equals = text.firstIndex(of: "="), codeFlags.contains(String(text[..<equals])) {
                result.code.append((language, String(text[text.index(after: equals)...])))
                continue
            }
            if text == "-m" && language == .python { return }
            if !text.hasPrefix("-") {
                sawScript = true
                break
            }
        }
        if !sawScript, result.code.isEmpty, let stdin = command.stdinText { result.code.append((language, stdin)) }
    }

    /// `find … -exec cmd args {} ;` runs `cmd` for each file.
    private static func findExec(_ rest: ArraySlice<ShellWord>, command: ShellCommand, into result: inout NormalizedCommand, budget: Int) {
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

    /// Drops options (and the values of those that take one) up to the first operand.
    private static func skipOptions(_ words: ArraySlice<ShellWord>, withValue: Set<String>) -> ArraySlice<ShellWord> {
        var remaining = words
        while let word = remaining.first, word.text.hasPrefix("-"), word.text.count > 1 {
            remaining = remaining.dropFirst()
            if word.text == "--" { break }
            if withValue.contains(word.text) { remaining = remaining.dropFirst() }
        }
        return remaining
    }

    static func isAssignment(_ word: ShellWord) -> Bool {
        guard let equals = word.text.firstIndex(of: "="), equals != word.text.startIndex else { return false }
        let name = word.text[..<equals].utf8
        guard let first = name.first, ShellParser.isNameStart(first) else { return false }
        return name.allSatisfy { ShellParser.isNameStart($0) || (48...57).contains($0) }
    }

    static func baseName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
