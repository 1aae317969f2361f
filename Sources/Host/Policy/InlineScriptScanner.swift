/// Finds shell commands that inline code would run: the string arguments of `os.system(…)`,
/// `subprocess.run([…])`, `execSync(…)`, `system(…)`, backticks and the like.
enum InlineScriptScanner {
    static func shellCalls(in code: String, language: ScriptLanguage) -> [String] {
        let calls: [String] =
            switch language {
            case .python: ["os.system(", "os.popen(", "subprocess.run(", "subprocess.call(", "subprocess.Popen(",
                           "subprocess.check_call(", "subprocess.check_output(", "subprocess.getoutput(", "subprocess.getstatusoutput("]
            case .node: ["execSync(", "exec(", "spawnSync(", "spawn(", "execFileSync(", "execFile("]
            case .ruby: ["system(", "exec(", "spawn(", "%x(", "Open3.capture2(", "Open3.capture3(", "Open3.popen3("]
            case .perl: ["system(", "exec(", "qx(", "system ", "exec "]
            case .php: ["shell_exec(", "system(", "exec(", "passthru(", "popen(", "proc_open("]
            }
        let bytes = Array(code.utf8)
        var scripts: [String] = []
        for call in calls {
            let needle = Array(call.utf8)
            var index = 0
            while let found = find(needle, in: bytes, from: index) {
                let start = found + needle.count
                let strings = stringLiterals(in: bytes, from: start, untilClose: call.hasSuffix("("))
                if !strings.isEmpty { scripts.append(strings.joined(separator: " ")) }
                index = start
            }
        }
        if language == .ruby || language == .perl || language == .php {
            scripts += backtickSections(bytes)
        }
        return scripts
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard needle.count <= haystack.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0], haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    /// The string literals up to the call's closing parenthesis (or the end of the statement).
    private static func stringLiterals(in bytes: [UInt8], from start: Int, untilClose: Bool) -> [String] {
        var strings: [String] = []
        var depth = 1
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "`") {
                var literal: [UInt8] = []
                index += 1
                while index < bytes.count, bytes[index] != byte {
                    if bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count {
                        literal.append(bytes[index + 1])
                        index += 2
                        continue
                    }
                    literal.append(bytes[index])
                    index += 1
                }
                strings.append(String(decoding: literal, as: UTF8.self))
            } else if byte == UInt8(ascii: "(") || byte == UInt8(ascii: "[") {
                depth += 1
            } else if byte == UInt8(ascii: ")") || byte == UInt8(ascii: "]") {
                depth -= 1
                if depth == 0 { break }
            } else if !untilClose, byte == UInt8(ascii: ";") || byte == UInt8(ascii: "\n") {
                break
            }
            index += 1
        }
        return strings
    }

    /// Ruby, Perl and PHP run backtick strings as shell commands.
    private static func backtickSections(_ bytes: [UInt8]) -> [String] {
        var sections: [String] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "`") {
                var end = index + 1
                while end < bytes.count, bytes[end] != UInt8(ascii: "`") { end += 1 }
                sections.append(String(decoding: bytes[(index + 1)..<min(end, bytes.count)], as: UTF8.self))
                index = end + 1
            } else {
                index += 1
            }
        }
        return sections
    }
}
