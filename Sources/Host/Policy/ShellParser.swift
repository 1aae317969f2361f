/// Reads a POSIX shell command line into the simple commands it would run.
///
/// A hand-written scanner, linear in the input, with bounded nesting: it splits on `;`, `&&`, `||`,
/// `|`, `&`, newlines and parentheses; removes quotes; finds commands inside `$(…)`, backticks and
/// process substitutions; and attaches heredoc bodies and here-strings to their commands. It never
/// fails: unterminated quotes and heredocs run to the end of the input, as far as the guard cares.
struct ShellParser {
    static let maxDepth = 32
    static let maxCommands = 20_000

    private let bytes: [UInt8]
    private var pos = 0
    private var commands: [ShellCommand] = []
    private var tooComplex = false
    private var pendingHeredocs: [(command: Int, delimiter: [UInt8], stripTabs: Bool)] = []
    private let baseDepth: Int

    private init(bytes: [UInt8], baseDepth: Int) {
        self.bytes = bytes
        self.baseDepth = baseDepth
    }

    static func parse(_ text: String, depth: Int = 0) -> ShellParse {
        var parser = ShellParser(bytes: Array(text.utf8), baseDepth: depth)
        if depth > maxDepth { return ShellParse(commands: [], tooComplex: true) }
        parser.parseList(terminator: nil, depth: depth)
        return ShellParse(commands: parser.commands, tooComplex: parser.tooComplex)
    }

    // MARK: Lists

    private struct Builder {
        var start: Int
        var words: [ShellWord] = []
        var stdin: String?
        var redirects: [String] = []
        var heredocs: [(delimiter: [UInt8], stripTabs: Bool)] = []
        var pipedFrom: Int?
    }

    private mutating func parseList(terminator: UInt8?, depth: Int) {
        var builder = Builder(start: pos)
        var parens = 0
        while pos < bytes.count, !tooComplex {
            let byte = bytes[pos]
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                pos += 1
            case UInt8(ascii: "\n"):
                finish(&builder, depth: depth, next: pos)
                pos += 1
                readHeredocBodies()
                builder.start = pos
            case UInt8(ascii: "#") where builder.words.isEmpty || isSpace(before: pos):
                while pos < bytes.count, bytes[pos] != UInt8(ascii: "\n") { pos += 1 }
            case UInt8(ascii: ";"):
                finish(&builder, depth: depth, next: pos)
                pos += 1
                while pos < bytes.count, bytes[pos] == UInt8(ascii: ";") || bytes[pos] == UInt8(ascii: "&") { pos += 1 }
                builder.start = pos
            case UInt8(ascii: "&"):
                if peek(1) == UInt8(ascii: ">") {
                    pos += 1
                    readRedirection(&builder, depth: depth)
                    continue
                }
                finish(&builder, depth: depth, next: pos)
                pos += peek(1) == UInt8(ascii: "&") ? 2 : 1
                builder.start = pos
            case UInt8(ascii: "|"):
                if peek(1) == UInt8(ascii: "|") {
                    finish(&builder, depth: depth, next: pos)
                    pos += 2
                } else {
                    let index = finish(&builder, depth: depth, next: pos)
                    pos += peek(1) == UInt8(ascii: "&") ? 2 : 1
                    builder.pipedFrom = index
                }
                builder.start = pos
            case UInt8(ascii: "("):
                parens += 1
                finish(&builder, depth: depth, next: pos)
                pos += 1
                builder.start = pos
            case UInt8(ascii: ")"):
                if parens == 0, terminator == UInt8(ascii: ")") {
                    finish(&builder, depth: depth, next: pos)
                    pos += 1
                    return
                }
                parens = max(0, parens - 1)
                finish(&builder, depth: depth, next: pos)
                pos += 1
                builder.start = pos
            case UInt8(ascii: "<"), UInt8(ascii: ">"):
                readRedirection(&builder, depth: depth)
            default:
                let word = readWord(depth: depth)
                // A word of digits right before a redirection is a file descriptor, not an argument.
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "<") || bytes[pos] == UInt8(ascii: ">"),
                   !word.quoted, !word.text.isEmpty, word.text.utf8.allSatisfy({ (48...57).contains($0) }) {
                    continue
                }
                if builder.words.isEmpty { builder.start = min(builder.start, pos) }
                builder.words.append(word)
            }
        }
        finish(&builder, depth: depth, next: pos)
    }

    /// Ends the command being built; returns its index, or nil when it had no words.
    @discardableResult
    private mutating func finish(_ builder: inout Builder, depth: Int, next: Int) -> Int? {
        defer { builder = Builder(start: next) }
        var words = builder.words[...]
        // Reserved words and grouping never run anything themselves.
        while let first = words.first, !first.quoted, ShellParser.reservedWords.contains(first.text) {
            if first.text == "for" || first.text == "select" || first.text == "case" { return nil }
            words = words.dropFirst()
        }
        guard !words.isEmpty || builder.stdin != nil || !builder.heredocs.isEmpty else { return nil }
        if commands.count >= ShellParser.maxCommands {
            tooComplex = true
            return nil
        }
        var end = min(max(builder.start, next), bytes.count)
        var start = min(builder.start, end)
        while start < end, ShellParser.isBlank(bytes[start]) { start += 1 }
        while end > start, ShellParser.isBlank(bytes[end - 1]) { end -= 1 }
        let source = String(decoding: bytes[start..<end], as: UTF8.self)
        let index = commands.count
        commands.append(ShellCommand(
            words: Array(words), source: source, stdinText: builder.stdin, redirectTargets: builder.redirects,
            pipedFrom: builder.pipedFrom, depth: depth))
        for heredoc in builder.heredocs {
            pendingHeredocs.append((index, heredoc.delimiter, heredoc.stripTabs))
        }
        return index
    }

    static let reservedWords: Set<String> = [
        "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "select", "case", "esac",
        "in", "function", "{", "}", "!", "[[", "]]",
    ]

    // MARK: Redirections and heredocs

    private mutating func readRedirection(_ builder: inout Builder, depth: Int) {
        let first = bytes[pos]
        // Process substitution: <(…) and >(…) run a command list.
        if peek(1) == UInt8(ascii: "(") {
            pos += 2
            descend(terminator: UInt8(ascii: ")"), depth: depth)
            return
        }
        if first == UInt8(ascii: "<"), peek(1) == UInt8(ascii: "<") {
            if peek(2) == UInt8(ascii: "<") {
                pos += 3
                skipSpaces()
                let word = readWord(depth: depth)
                builder.stdin = (builder.stdin ?? "") + word.text
                return
            }
            pos += 2
            var stripTabs = false
            if peek(0) == UInt8(ascii: "-") {
                stripTabs = true
                pos += 1
            }
            skipSpaces()
            let delimiter = readWord(depth: depth)
            builder.heredocs.append((Array(delimiter.text.utf8), stripTabs))
            return
        }
        // >, >>, >|, <, <>, >&, <&, &> (the & was consumed by the caller)
        pos += 1
        while pos < bytes.count, [UInt8(ascii: ">"), UInt8(ascii: "|"), UInt8(ascii: "&"), UInt8(ascii: "<")].contains(bytes[pos]) {
            if bytes[pos] == UInt8(ascii: "&") {
                pos += 1
                // >&2, >&-: a descriptor, not a file.
                if pos < bytes.count, (48...57).contains(bytes[pos]) || bytes[pos] == UInt8(ascii: "-") {
                    while pos < bytes.count, (48...57).contains(bytes[pos]) || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
                    return
                }
                continue
            }
            pos += 1
        }
        skipSpaces()
        guard pos < bytes.count else { return }
        let target = readWord(depth: depth)
        if !target.text.isEmpty { builder.redirects.append(target.text) }
    }

    private mutating func readHeredocBodies() {
        guard !pendingHeredocs.isEmpty else { return }
        let pending = pendingHeredocs
        pendingHeredocs = []
        for heredoc in pending {
            var body: [UInt8] = []
            var terminated = false
            while pos < bytes.count {
                var lineEnd = pos
                while lineEnd < bytes.count, bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                var line = bytes[pos..<lineEnd]
                if heredoc.stripTabs { line = line.drop(while: { $0 == UInt8(ascii: "\t") }) }
                pos = min(lineEnd + 1, bytes.count)
                if line.elementsEqual(heredoc.delimiter) {
                    terminated = true
                    break
                }
                body.append(contentsOf: line)
                body.append(UInt8(ascii: "\n"))
            }
            _ = terminated  // an unterminated heredoc runs to the end of the input
            let text = String(decoding: body, as: UTF8.self)
            commands[heredoc.command].stdinText = (commands[heredoc.command].stdinText ?? "") + text
        }
    }

    // MARK: Words

    /// Bytes that end a word or need more than copying.
    private static let special: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in " \t\n\r;&|()<>`\\'\"$".utf8 { table[Int(byte)] = true }
        return table
    }()

    private mutating func readWord(depth: Int) -> ShellWord {
        // Fast path: a plain word (no quotes, escapes or expansions) is decoded straight from the input.
        var end = pos
        while end < bytes.count, !ShellParser.special[Int(bytes[end])] { end += 1 }
        if end == bytes.count || [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: ";"),
                                  UInt8(ascii: "&"), UInt8(ascii: "|"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"),
                                  UInt8(ascii: ">")].contains(bytes[end]) {
            let word = ShellWord(text: String(decoding: bytes[pos..<end], as: UTF8.self), quoted: false, hasExpansion: false)
            pos = end
            return word
        }
        var text: [UInt8] = []
        var quoted = false
        var expansion = false
        while pos < bytes.count, !tooComplex {
            let byte = bytes[pos]
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: ";"),
                UInt8(ascii: "&"), UInt8(ascii: "|"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"),
                UInt8(ascii: ">"), UInt8(ascii: "`"):
                if byte == UInt8(ascii: "`") {
                    pos += 1
                    let raw = readBackticks(depth: depth)
                    text.append(contentsOf: raw)
                    expansion = true
                    continue
                }
                return ShellWord(text: String(decoding: text, as: UTF8.self), quoted: quoted, hasExpansion: expansion)
            case UInt8(ascii: "\\"):
                if pos + 1 < bytes.count {
                    if bytes[pos + 1] != UInt8(ascii: "\n") { text.append(bytes[pos + 1]) }
                    pos += 2
                } else {
                    pos += 1
                }
            case UInt8(ascii: "'"):
                quoted = true
                pos += 1
                while pos < bytes.count, bytes[pos] != UInt8(ascii: "'") {
                    text.append(bytes[pos])
                    pos += 1
                }
                pos += 1
            case UInt8(ascii: "\""):
                quoted = true
                pos += 1
                readDoubleQuoted(into: &text, expansion: &expansion, depth: depth)
            case UInt8(ascii: "$"):
                readDollar(into: &text, quoted: &quoted, expansion: &expansion, depth: depth)
            default:
                text.append(byte)
                pos += 1
            }
        }
        return ShellWord(text: String(decoding: text, as: UTF8.self), quoted: quoted, hasExpansion: expansion)
    }

    private mutating func readDoubleQuoted(into text: inout [UInt8], expansion: inout Bool, depth: Int) {
        while pos < bytes.count, !tooComplex {
            let byte = bytes[pos]
            switch byte {
            case UInt8(ascii: "\""):
                pos += 1
                return
            case UInt8(ascii: "\\"):
                if pos + 1 < bytes.count, [UInt8(ascii: "$"), UInt8(ascii: "`"), UInt8(ascii: "\""), UInt8(ascii: "\\")].contains(bytes[pos + 1]) {
                    text.append(bytes[pos + 1])
                    pos += 2
                } else if pos + 1 < bytes.count, bytes[pos + 1] == UInt8(ascii: "\n") {
                    pos += 2
                } else {
                    text.append(byte)
                    pos += 1
                }
            case UInt8(ascii: "$"):
                var quoted = true
                readDollar(into: &text, quoted: &quoted, expansion: &expansion, depth: depth, inDoubleQuotes: true)
            case UInt8(ascii: "`"):
                pos += 1
                text.append(contentsOf: readBackticks(depth: depth))
                expansion = true
            default:
                text.append(byte)
                pos += 1
            }
        }
    }

    private mutating func readDollar(into text: inout [UInt8], quoted: inout Bool, expansion: inout Bool, depth: Int,
                                     inDoubleQuotes: Bool = false) {
        let start = pos
        switch peek(1) {
        case UInt8(ascii: "("):
            expansion = true
            if peek(2) == UInt8(ascii: "(") {
                // $(( arithmetic )): no commands, skip to the matching close.
                pos += 3
                skipBalanced(open: UInt8(ascii: "("), close: UInt8(ascii: ")"), level: 2)
            } else {
                pos += 2
                descend(terminator: UInt8(ascii: ")"), depth: depth)
            }
            text.append(contentsOf: bytes[start..<min(pos, bytes.count)])
        case UInt8(ascii: "{"):
            expansion = true
            pos += 2
            skipBalanced(open: UInt8(ascii: "{"), close: UInt8(ascii: "}"), level: 1)
            text.append(contentsOf: bytes[start..<min(pos, bytes.count)])
        case UInt8(ascii: "'") where !inDoubleQuotes:
            quoted = true
            pos += 2
            readANSIQuoted(into: &text)
        default:
            expansion = expansion || (peek(1).map { ShellParser.isNameStart($0) || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "@") } ?? false)
            text.append(UInt8(ascii: "$"))
            pos += 1
        }
    }

    /// `$'…'`: backslash escapes as in C.
    private mutating func readANSIQuoted(into text: inout [UInt8]) {
        while pos < bytes.count, bytes[pos] != UInt8(ascii: "'") {
            if bytes[pos] == UInt8(ascii: "\\"), pos + 1 < bytes.count {
                let escaped = bytes[pos + 1]
                pos += 2
                switch escaped {
                case UInt8(ascii: "n"): text.append(10)
                case UInt8(ascii: "t"): text.append(9)
                case UInt8(ascii: "r"): text.append(13)
                case UInt8(ascii: "x"):
                    var value: UInt8 = 0
                    var digits = 0
                    while digits < 2, pos < bytes.count, let digit = ShellParser.hexValue(bytes[pos]) {
                        value = value &* 16 &+ digit
                        pos += 1
                        digits += 1
                    }
                    // A NUL cannot be passed to a program, so it ends nothing the guard cares about.
                    if value != 0 { text.append(value) }
                default: text.append(escaped)
                }
            } else {
                text.append(bytes[pos])
                pos += 1
            }
        }
        pos += 1
    }

    /// Reads a backtick substitution (opening backtick consumed) and parses its commands.
    private mutating func readBackticks(depth: Int) -> [UInt8] {
        var inner: [UInt8] = []
        while pos < bytes.count, bytes[pos] != UInt8(ascii: "`") {
            if bytes[pos] == UInt8(ascii: "\\"), pos + 1 < bytes.count,
               [UInt8(ascii: "`"), UInt8(ascii: "\\"), UInt8(ascii: "$")].contains(bytes[pos + 1]) {
                inner.append(bytes[pos + 1])
                pos += 2
            } else {
                inner.append(bytes[pos])
                pos += 1
            }
        }
        pos += 1
        guard depth + 1 <= ShellParser.maxDepth else {
            tooComplex = true
            return inner
        }
        let nested = ShellParser.parse(String(decoding: inner, as: UTF8.self), depth: depth + 1)
        if nested.tooComplex { tooComplex = true }
        append(nested.commands)
        return [UInt8(ascii: "`")] + inner + [UInt8(ascii: "`")]
    }

    /// Parses a nested command list in place, up to `terminator`.
    private mutating func descend(terminator: UInt8, depth: Int) {
        guard depth + 1 <= ShellParser.maxDepth else {
            tooComplex = true
            pos = bytes.count
            return
        }
        let savedHeredocs = pendingHeredocs
        pendingHeredocs = []
        parseList(terminator: terminator, depth: depth + 1)
        pendingHeredocs = savedHeredocs + pendingHeredocs
    }

    private mutating func append(_ nested: [ShellCommand]) {
        let offset = commands.count
        for var command in nested {
            if commands.count >= ShellParser.maxCommands {
                tooComplex = true
                return
            }
            if let piped = command.pipedFrom { command.pipedFrom = piped + offset }
            commands.append(command)
        }
    }

    private mutating func skipBalanced(open: UInt8, close: UInt8, level: Int) {
        var level = level
        while pos < bytes.count, level > 0 {
            if bytes[pos] == open { level += 1 } else if bytes[pos] == close { level -= 1 }
            pos += 1
        }
    }

    private mutating func skipSpaces() {
        while pos < bytes.count, bytes[pos] == UInt8(ascii: " ") || bytes[pos] == UInt8(ascii: "\t") { pos += 1 }
    }

    private func peek(_ offset: Int) -> UInt8? {
        pos + offset < bytes.count ? bytes[pos + offset] : nil
    }

    private func isSpace(before index: Int) -> Bool {
        index == 0 || [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: ";")].contains(bytes[index - 1])
    }

    static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
    }

    static func isNameStart(_ byte: UInt8) -> Bool {
        (65...90).contains(byte) || (97...122).contains(byte) || byte == UInt8(ascii: "_")
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 65...70: byte - 55
        case 97...102: byte - 87
        default: nil
        }
    }
}

extension String {
    var trimmingShellSpace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !" \t\r\n".unicodeScalars.contains($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !" \t\r\n".unicodeScalars.contains($0) })!
        return String(scalars[first...last])
    }
}
