/// Reads inline interpreter code the way the guard needs it, in time linear in its length: the
/// code outside string literals (where library calls are looked for: text inside a literal is
/// data), the shell commands it would start (the string arguments of `os.system(…)`,
/// `subprocess.run([…])`, `execSync(…)`, `system(…)`, backticks), and whether it reaches dangerous
/// modules in ways no pattern can follow (`getattr(shutil, "rmt" + "ree")`, `fs["rmSync"]`).
struct InlineCode {
    /// The code with the contents of every string literal blanked out.
    let outsideLiterals: String
    /// Shell commands the code would run.
    let shellCalls: [String]
    /// Why the code's calls cannot be read, when they cannot.
    let hiddenCalls: String?

    init(_ code: String, language: ScriptLanguage) {
        let bytes = Array(code.utf8)
        let literals = Self.literals(in: bytes, language: language)
        var blanked = bytes
        for literal in literals {
            for index in literal.contentStart..<literal.contentEnd { blanked[index] = UInt8(ascii: " ") }
        }
        outsideLiterals = String(decoding: blanked, as: UTF8.self)
        shellCalls = Self.shellCalls(bytes: bytes, blanked: blanked, literals: literals, language: language)
        hiddenCalls = Self.hiddenCalls(outsideLiterals, language: language)
    }

    struct Literal {
        var start: Int
        var contentStart: Int
        var contentEnd: Int
        var text: String
        var quote: UInt8
    }

    /// Every string literal, in one pass (an unterminated one runs to the end).
    static func literals(in bytes: [UInt8], language: ScriptLanguage) -> [Literal] {
        var literals: [Literal] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "`") else {
                // A comment runs to the end of the line (Python, Ruby, Perl and awk use #).
                if byte == UInt8(ascii: "#"), language != .node, language != .php {
                    while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
                }
                index += 1
                continue
            }
            let start = index
            index += 1
            var text: [UInt8] = []
            while index < bytes.count, bytes[index] != byte {
                if bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count {
                    text.append(bytes[index + 1])
                    index += 2
                    continue
                }
                text.append(bytes[index])
                index += 1
            }
            literals.append(Literal(start: start, contentStart: start + 1, contentEnd: min(index, bytes.count),
                                    text: String(decoding: text, as: UTF8.self), quote: byte))
            index += 1
        }
        return literals
    }

    static func callNames(_ language: ScriptLanguage) -> [String] {
        switch language {
        case .python: ["os.system(", "os.popen(", "subprocess.run(", "subprocess.call(", "subprocess.Popen(", "subprocess.check_call(",
                       "subprocess.check_output(", "subprocess.getoutput(", "subprocess.getstatusoutput(", "os.execl(", "os.execlp(",
                       "os.execv(", "os.execvp(", "os.spawnl(", "os.spawnlp(", "pty.spawn("]
        case .node: ["execSync(", "exec(", "spawnSync(", "spawn(", "execFileSync(", "execFile(", "$`"]
        case .ruby: ["system(", "exec(", "spawn(", "%x(", "Open3.capture2(", "Open3.capture3(", "Open3.popen3(", "IO.popen(", "system ", "exec "]
        case .perl: ["system(", "exec(", "qx(", "system ", "exec "]
        case .php: ["shell_exec(", "system(", "exec(", "passthru(", "popen(", "proc_open("]
        case .awk: ["system("]
        }
    }

    /// ``callNames(_:)`` as bytes, made once.
    static let callNeedles: [ScriptLanguage: [[UInt8]]] = Dictionary(uniqueKeysWithValues: ScriptLanguage.allCases.map { language in
        (language, callNames(language).map { Array($0.utf8) })
    })

    /// The string literals each call is given, each literal going to the innermost call around it,
    /// so nested or unclosed calls never make the work grow faster than the code.
    static func shellCalls(bytes: [UInt8], blanked: [UInt8], literals: [Literal], language: ScriptLanguage) -> [String] {
        // The matching close of every `(` and `[` outside literals (or the end of the code).
        var close = [Int](repeating: bytes.count, count: bytes.count + 1)
        var stack: [Int] = []
        for index in blanked.indices {
            switch blanked[index] {
            case UInt8(ascii: "("), UInt8(ascii: "["): stack.append(index)
            case UInt8(ascii: ")"), UInt8(ascii: "]"): if let open = stack.popLast() { close[open] = index }
            default: break
            }
        }
        // Calls: where their arguments start and end.
        var calls: [(start: Int, end: Int)] = []
        for needle in callNeedles[language] ?? [] {
            var index = 0
            while let found = find(needle, in: blanked, from: index) {
                let start = found + needle.count
                let end: Int
                if needle.last == UInt8(ascii: "(") {
                    end = close[start - 1]
                } else {
                    var stop = start
                    while stop < blanked.count, blanked[stop] != UInt8(ascii: ";"), blanked[stop] != UInt8(ascii: "\n") { stop += 1 }
                    end = stop
                }
                calls.append((start, end))
                index = start
            }
        }
        calls.sort { $0.start < $1.start }
        var texts = [[String]](repeating: [], count: calls.count)
        var active: [Int] = []
        var next = 0
        for literal in literals {
            while next < calls.count, calls[next].start <= literal.start {
                active.append(next)
                next += 1
            }
            while let last = active.last, calls[last].end <= literal.start { active.removeLast() }
            // Ruby, Perl, PHP and awk run backtick strings as shell commands; so does zx's $`…`.
            if literal.quote == UInt8(ascii: "`"), language != .python, language != .node {
                texts.append([literal.text])
                continue
            }
            if let innermost = active.last { texts[innermost].append(literal.text) }
        }
        if language == .awk {
            // awk also runs the string on either side of a pipe: `"cmd" | getline`, `print | "cmd"`.
            for literal in literals {
                let after = blanked[min(literal.contentEnd + 1, blanked.count)...].drop { $0 == UInt8(ascii: " ") }.first
                let before = blanked[..<literal.start].reversed().drop { $0 == UInt8(ascii: " ") }.first
                if after == UInt8(ascii: "|") || before == UInt8(ascii: "|") { texts.append([literal.text]) }
            }
        }
        return texts.filter { !$0.isEmpty }.map { $0.joined(separator: " ") }
    }

    /// Dynamic access to modules that delete files or run commands, which no pattern can read.
    static func hiddenCalls(_ code: String, language: ScriptLanguage) -> String? {
        let modules: [String]
        let dynamic: [String]
        switch language {
        case .python:
            modules = ["os", "shutil", "subprocess", "pathlib", "pty"]
            dynamic = ["getattr(", "__import__", "importlib", "eval(", "exec(", "compile(", "globals()[", "vars(", "__dict__", " as "]
        case .node:
            modules = ["fs", "child_process", "fs/promises", "process"]
            dynamic = ["[", "eval(", "Function(", "require(`", "import("]
        case .ruby:
            modules = ["FileUtils", "File", "Dir", "Kernel", "IO", "Open3"]
            dynamic = [".send(", ".public_send(", "eval(", "instance_eval", "const_get", ".method("]
        case .perl, .php, .awk:
            return nil
        }
        let words = identifiers(in: code)
        guard let module = modules.first(where: words.contains) else { return nil }
        guard let form = dynamic.first(where: { code.containsBytes($0) }) else { return nil }
        if language == .python, form == " as " {
            // `from os import system as s` hides the call; `import json as j` does not matter.
            guard code.containsBytes("import"),
                  modules.contains(where: { code.containsBytes("from \($0) import") || code.containsBytes("import \($0) as") }) else {
                return nil
            }
        }
        if language == .node, form == "[" {
            // fs["rmSync"], cp[name]: a member chosen by a value.
            guard modules.contains(where: { code.containsBytes("\($0)[") }) || code.containsBytes("]("),
                  code.containsBytes("require") || code.containsBytes("import") else {
                return nil
            }
        }
        return "the code reaches \(module) through \(form.trimmingShellSpace), so what it calls cannot be read"
    }

    /// The names in code: runs of ASCII letters, digits, `_` and `/`. Any other byte separates,
    /// non-ASCII ones included, which finds more names than splitting on Characters (`os` in
    /// `osé`). A name ending in `_` or `/` is also taken without them: read as Characters, a `_`
    /// with a combining mark after it (`os_́`) separated, and so `os` was found there too.
    static func identifiers(in code: String) -> Set<String> {
        var names: Set<String> = []
        var code = code
        code.withUTF8 { bytes in
            var start = 0
            func close(at end: Int) {
                guard end > start else { return }
                names.insert(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
                var trimmed = end
                while trimmed > start, bytes[trimmed - 1] == UInt8(ascii: "_") || bytes[trimmed - 1] == UInt8(ascii: "/") { trimmed -= 1 }
                if trimmed > start, trimmed < end {
                    names.insert(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<trimmed]), as: UTF8.self))
                }
            }
            for index in bytes.indices {
                switch bytes[index] {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                    UInt8(ascii: "_"), UInt8(ascii: "/"):
                    continue
                default:
                    close(at: index)
                    start = index + 1
                }
            }
            close(at: bytes.count)
        }
        return names
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        needle.withUnsafeBufferPointer { needle in haystack.withUnsafeBufferPointer { find(needle, in: $0, from: start) } }
    }

    static func find(_ needle: UnsafeBufferPointer<UInt8>, in haystack: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let first = needle.first, needle.count <= haystack.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first {
                var matched = true
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }
}

extension String {
    /// Whether `needle` occurs in the text, compared byte for byte (no Foundation, no locale).
    func containsBytes(_ needle: String) -> Bool {
        var haystack = self, needle = needle
        return haystack.withUTF8 { haystack in needle.withUTF8 { InlineCode.find($0, in: haystack, from: 0) != nil } }
    }
}
