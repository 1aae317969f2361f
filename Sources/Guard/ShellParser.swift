/// Reads a POSIX shell command line into the simple commands it would run.
///
/// A hand-written scanner, linear in the input, with bounded nesting: it splits on `;`, `&&`, `||`,
/// `|`, `&`, newlines and parentheses; removes quotes; finds commands inside `$(…)`, backticks and
/// process substitutions; and attaches heredoc bodies and here-strings to their commands. It never
/// fails: unterminated quotes and heredocs run to the end of the input, as far as the guard cares.
package struct ShellParser {
    static let maxDepth = 32
    static let maxCommands = 20_000

    private let bytes: [UInt8]
    private var pos = 0
    private var commands: [ShellCommand] = []
    private var tooComplex = false
    private var pendingHeredocs: [(command: Int, delimiter: [UInt8], stripTabs: Bool, expands: Bool, depth: Int)] = []
    private let baseDepth: Int
    /// The substitution read last, where it sits in the word being read and what it prints, so a
    /// word that is exactly one substitution can carry its output.
    private var lastSubstitution: (start: Int, end: Int, output: SubstitutionOutput)?
    /// How many `${…}` enclose the position being read (they are read recursively).
    private var parameterNesting = 0

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
        var heredocs: [(delimiter: [UInt8], stripTabs: Bool, expands: Bool)] = []
        var pipedFrom: Int?
        var stdinSubstitution: SubstitutionOutput?
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
                if peek(1) == UInt8(ascii: "(") {
                    // `diff <(a) <(b)`, `bash <(curl …)`: a file name standing for a command's output.
                    if builder.words.isEmpty { builder.start = min(builder.start, pos) }
                    builder.words.append(readProcessSubstitution(depth: depth))
                    continue
                }
                readRedirection(&builder, depth: depth)
            default:
                let word = readWord(depth: depth)
                // A word of digits right before a redirection is a file descriptor, not an argument.
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "<") || bytes[pos] == UInt8(ascii: ">"),
                   !word.quoted, !word.text.isEmpty, word.text.utf8.allSatisfy({ (48...57).contains($0) }) {
                    continue
                }
                if builder.words.isEmpty {
                    builder.start = min(builder.start, pos)
                    // One allocation for most commands' words instead of one per doubling.
                    builder.words.reserveCapacity(8)
                }
                builder.words.append(word)
            }
        }
        finish(&builder, depth: depth, next: pos)
    }

    /// Ends the command being built; returns its index, or nil when it had no words.
    @discardableResult
    private mutating func finish(_ builder: inout Builder, depth: Int, next: Int) -> Int? {
        defer { builder = Builder(start: next) }
        let allWords = builder.words
        var words = allWords[...]
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
            words: words.startIndex == 0 ? allWords : Array(words), source: source, stdinText: builder.stdin, redirectTargets: builder.redirects,
            pipedFrom: builder.pipedFrom, depth: depth, stdinSubstitution: builder.stdinSubstitution))
        for heredoc in builder.heredocs {
            pendingHeredocs.append((index, heredoc.delimiter, heredoc.stripTabs, heredoc.expands, depth))
        }
        return index
    }

    static let reservedWords: NameSet = [
        "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "select", "case", "esac",
        "in", "function", "{", "}", "!", "[[", "]]",
    ]

    // MARK: Redirections and heredocs

    private mutating func readRedirection(_ builder: inout Builder, depth: Int) {
        let first = bytes[pos]
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
            // With an unquoted delimiter the body is expanded: its substitutions run.
            builder.heredocs.append((Array(delimiter.text.utf8), stripTabs, !delimiter.quoted))
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
        if (bytes[pos] == UInt8(ascii: "<") || bytes[pos] == UInt8(ascii: ">")), peek(1) == UInt8(ascii: "(") {
            // `sh < <(curl …)`: standard input is another command's output.
            let substitution = readProcessSubstitution(depth: depth)
            if first == UInt8(ascii: "<") { builder.stdinSubstitution = substitution.output }
            return
        }
        let target = readWord(depth: depth)
        if !target.text.isEmpty { builder.redirects.append(target.text) }
        // `sh < payload.sh`: standard input is a file the guard does not read (`/dev/null` is empty).
        if first == UInt8(ascii: "<"), !target.text.isEmpty {
            builder.stdinSubstitution = target.text == "/dev/null" ? .known("") : .unknown("the file \(target.text)")
        }
    }

    /// `<(…)` or `>(…)` at `pos`: parses the list and returns the word the shell passes instead.
    private mutating func readProcessSubstitution(depth: Int) -> ShellWord {
        let start = pos
        pos += 2
        let first = commands.count
        descend(terminator: UInt8(ascii: ")"), depth: depth)
        var word = ShellWord(text: "/dev/fd/63", quoted: false, hasExpansion: true)
        word.isProcessSubstitution = true
        word.output = output(of: first, depth: depth + 1, source: start..<pos)
        return word
    }

    /// What the commands parsed from index `first` on, at `depth`, print: known when they are one
    /// `echo`, `printf` or `cat` of a heredoc, unknown otherwise.
    private func output(of first: Int, depth: Int, source: Range<Int>) -> SubstitutionOutput {
        let inner = commands[min(first, commands.count)...].filter { $0.depth == depth }
        if inner.count == 1, inner[0].pipedFrom == nil, let text = Self.printedText(inner[0]) { return .known(text) }
        let end = min(source.upperBound, bytes.count)
        return .unknown(String(decoding: bytes[min(source.lowerBound, end)..<end], as: UTF8.self))
    }

    /// The text a command prints when that can be known from the command alone: `echo` and
    /// `printf` print their arguments, `cat` with no file its heredoc or here-string.
    static func printedText(_ command: ShellCommand) -> String? {
        guard let first = command.words.first, !first.isDynamic else { return nil }
        switch first.text {
        case "echo", "printf":
            let words = command.words.dropFirst().drop { $0.text.startsWithDash && !$0.quoted }
            return words.map(\.text).joined(separator: " ")
        case "cat":
            guard command.words.dropFirst().allSatisfy({ $0.text == "-" }) else { return nil }
            return command.stdinText
        default:
            return nil
        }
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
            if heredoc.expands, body.contains(UInt8(ascii: "$")) || body.contains(UInt8(ascii: "`")) {
                // The shell expands the body before the command reads it: its substitutions run.
                var nested = ShellParser(bytes: body, baseDepth: heredoc.depth)
                nested.scanExpansions(depth: heredoc.depth)
                if nested.tooComplex { tooComplex = true }
                append(nested.commands)
            }
        }
    }

    /// Reads text in which only expansions matter (a heredoc body): every substitution in it is
    /// parsed as commands.
    private mutating func scanExpansions(depth: Int) {
        var ignored: [UInt8] = []
        var quoted = false, expansion = false
        while pos < bytes.count, !tooComplex {
            switch bytes[pos] {
            case UInt8(ascii: "\\"):
                pos += 2
            case UInt8(ascii: "$"):
                ignored.removeAll(keepingCapacity: true)
                readDollar(into: &ignored, quoted: &quoted, expansion: &expansion, depth: depth, inDoubleQuotes: true)
            case UInt8(ascii: "`"):
                pos += 1
                _ = readBackticks(depth: depth)
            default:
                pos += 1
            }
        }
    }

    // MARK: Words

    /// A set of ASCII bytes as two 64-bit masks: a test costs a shift, with no table to load.
    struct ByteClass {
        let low: UInt64
        let high: UInt64

        @inline(__always) func contains(_ byte: UInt8) -> Bool {
            byte < 64 ? (low >> UInt64(byte)) & 1 != 0 : byte < 128 && (high >> UInt64(byte &- 64)) & 1 != 0
        }
    }

    /// Bytes that end an unquoted word: ` \t\n\r;&|()<>`.
    static var wordEnd: ByteClass { ByteClass(low: 0x5800_0341_0000_2600, high: 0x1000_0000_0000_0000) }
    /// Bytes that end a word or need more than copying: those and `` ` \ ' " $ ``.
    static var special: ByteClass { ByteClass(low: 0x5800_03D5_0000_2600, high: 0x1000_0001_1000_0000) }
    /// Bytes that mean something inside double quotes: `" \ $ ``.
    static var doubleQuoteSpecial: ByteClass { ByteClass(low: 0x14_0000_0000, high: 0x1_1000_0000) }

    private mutating func readWord(depth: Int) -> ShellWord {
        // Fast path: a plain word (no quotes, escapes or expansions) is decoded straight from the input.
        var end = pos
        while end < bytes.count, !ShellParser.special.contains(bytes[end]) { end += 1 }
        if end == bytes.count || ShellParser.wordEnd.contains(bytes[end]) {
            let plain = bytes[pos..<end]
            var word = ShellWord(text: String(decoding: plain, as: UTF8.self), quoted: false, hasExpansion: false)
            Self.markPatterns(&word, unquoted: plain)
            pos = end
            return word
        }
        // Fast path: one quoted string that is the whole word (`'…'`, or `"…"` with nothing in it
        // the shell would expand or unescape) is decoded straight from the input too.
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "'") || bytes[pos] == UInt8(ascii: "\"") {
            let quote = bytes[pos]
            var close = pos + 1
            if quote == UInt8(ascii: "'") {
                while close < bytes.count, bytes[close] != quote { close += 1 }
            } else {
                while close < bytes.count, !ShellParser.doubleQuoteSpecial.contains(bytes[close]) { close += 1 }
            }
            if close < bytes.count, bytes[close] == quote, close + 1 == bytes.count || ShellParser.wordEnd.contains(bytes[close + 1]) {
                let word = ShellWord(text: String(decoding: bytes[(pos + 1)..<close], as: UTF8.self), quoted: true, hasExpansion: false)
                pos = close + 1
                return word
            }
        }
        var text: [UInt8] = []
        // The bytes that were not quoted, for globs and braces (which quoting disables).
        var unquoted: [UInt8] = []
        var quoted = false
        var expansion = false
        lastSubstitution = nil
        func finish() -> ShellWord {
            var word = ShellWord(text: String(decoding: text, as: UTF8.self), quoted: quoted, hasExpansion: expansion)
            Self.markPatterns(&word, unquoted: unquoted[...])
            if let last = lastSubstitution, last.start == 0, last.end == text.count { word.output = last.output }
            return word
        }
        while pos < bytes.count, !tooComplex {
            let byte = bytes[pos]
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: ";"),
                UInt8(ascii: "&"), UInt8(ascii: "|"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"),
                UInt8(ascii: ">"):
                return finish()
            case UInt8(ascii: "`"):
                appendBackticks(into: &text, depth: depth)
                expansion = true
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
                // The whole quoted run at once: long quoted arguments are common.
                let close = bytes[pos...].firstIndex(of: UInt8(ascii: "'")) ?? bytes.count
                text.append(contentsOf: bytes[pos..<close])
                pos = close + 1
            case UInt8(ascii: "\""):
                quoted = true
                pos += 1
                readDoubleQuoted(into: &text, expansion: &expansion, depth: depth)
            case UInt8(ascii: "$"):
                readDollar(into: &text, quoted: &quoted, expansion: &expansion, depth: depth)
            default:
                var end = pos + 1
                while end < bytes.count, !ShellParser.special.contains(bytes[end]) { end += 1 }
                text.append(contentsOf: bytes[pos..<end])
                unquoted.append(contentsOf: bytes[pos..<end])
                pos = end
            }
        }
        return finish()
    }

    /// Sets the glob and brace flags from the unquoted bytes of a word.
    private static func markPatterns(_ word: inout ShellWord, unquoted: ArraySlice<UInt8>) {
        guard unquoted.contains(where: { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[")
            || $0 == UInt8(ascii: "{") }) else { return }
        var sawOpenBracket = false, sawOpenBrace = false
        for byte in unquoted {
            switch byte {
            case UInt8(ascii: "*"), UInt8(ascii: "?"): word.hasGlob = true
            case UInt8(ascii: "["): sawOpenBracket = true
            case UInt8(ascii: "]") where sawOpenBracket: word.hasGlob = true
            case UInt8(ascii: "{"): sawOpenBrace = true
            case UInt8(ascii: ","), UInt8(ascii: "."): if sawOpenBrace { word.hasBraces = true }
            default: break
            }
        }
        if word.hasBraces, !unquoted.contains(UInt8(ascii: "}")) { word.hasBraces = false }
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
                appendBackticks(into: &text, depth: depth)
                expansion = true
            default:
                var end = pos + 1
                while end < bytes.count, !ShellParser.doubleQuoteSpecial.contains(bytes[end]) { end += 1 }
                text.append(contentsOf: bytes[pos..<end])
                pos = end
            }
        }
    }

    private mutating func readDollar(into text: inout [UInt8], quoted: inout Bool, expansion: inout Bool, depth: Int,
                                     inDoubleQuotes: Bool = false) {
        let start = pos
        switch peek(1) {
        case UInt8(ascii: "("):
            expansion = true
            let textStart = text.count
            if peek(2) == UInt8(ascii: "(") {
                // $(( arithmetic )): no commands of its own, but substitutions inside it run.
                pos += 3
                scanNested(close: UInt8(ascii: ")"), open: UInt8(ascii: "("), level: 2, depth: depth)
                text.append(contentsOf: bytes[start..<min(pos, bytes.count)])
            } else {
                pos += 2
                let first = commands.count
                descend(terminator: UInt8(ascii: ")"), depth: depth)
                text.append(contentsOf: bytes[start..<min(pos, bytes.count)])
                lastSubstitution = (textStart, text.count, output(of: first, depth: depth + 1, source: start..<pos))
            }
        case UInt8(ascii: "{"):
            // ${…} at any depth: `${x:-$(rm -rf /)}` runs the substitution.
            expansion = true
            parameterNesting += 1
            defer { parameterNesting -= 1 }
            guard parameterNesting <= ShellParser.maxDepth * 2 else {
                tooComplex = true
                pos = bytes.count
                return
            }
            pos += 2
            scanNested(close: UInt8(ascii: "}"), open: UInt8(ascii: "{"), level: 1, depth: depth)
            text.append(contentsOf: bytes[start..<min(pos, bytes.count)])
        case UInt8(ascii: "'") where !inDoubleQuotes:
            quoted = true
            pos += 2
            readANSIQuoted(into: &text)
        default:
            expansion = expansion || (peek(1).map { ShellParser.isNameStart($0) || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "@")
                || $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "#") || $0 == UInt8(ascii: "!") || $0 == UInt8(ascii: "$")
                || (48...57).contains($0) } ?? false)
            text.append(UInt8(ascii: "$"))
            pos += 1
        }
    }

    /// Skips to the close of `${…}` or `$((…))` (the opening consumed, `level` opens pending),
    /// parsing every command substitution inside as commands.
    private mutating func scanNested(close: UInt8, open: UInt8, level: Int, depth: Int) {
        var level = level
        var ignored: [UInt8] = []
        var quoted = false, expansion = false
        while pos < bytes.count, level > 0, !tooComplex {
            let byte = bytes[pos]
            switch byte {
            case UInt8(ascii: "\\"):
                pos += 2
            case UInt8(ascii: "'") where close == UInt8(ascii: "}"):
                pos += 1
                while pos < bytes.count, bytes[pos] != UInt8(ascii: "'") { pos += 1 }
                pos += 1
            case UInt8(ascii: "\""):
                pos += 1
                ignored.removeAll(keepingCapacity: true)
                readDoubleQuoted(into: &ignored, expansion: &expansion, depth: depth)
            case UInt8(ascii: "$") where peek(1) == UInt8(ascii: "(") || peek(1) == UInt8(ascii: "{"):
                ignored.removeAll(keepingCapacity: true)
                readDollar(into: &ignored, quoted: &quoted, expansion: &expansion, depth: depth)
            case UInt8(ascii: "`"):
                pos += 1
                _ = readBackticks(depth: depth)
            case open:
                level += 1
                pos += 1
            case close:
                level -= 1
                pos += 1
            default:
                pos += 1
            }
        }
    }

    /// `$'…'`: backslash escapes as bash decodes them (`\n`, `\x72`, `\162`, `\u0072`, `\cX`, …).
    private mutating func readANSIQuoted(into text: inout [UInt8]) {
        while pos < bytes.count, bytes[pos] != UInt8(ascii: "'") {
            guard bytes[pos] == UInt8(ascii: "\\"), pos + 1 < bytes.count else {
                text.append(bytes[pos])
                pos += 1
                continue
            }
            let escaped = bytes[pos + 1]
            pos += 2
            switch escaped {
            case UInt8(ascii: "n"): text.append(10)
            case UInt8(ascii: "t"): text.append(9)
            case UInt8(ascii: "r"): text.append(13)
            case UInt8(ascii: "a"): text.append(7)
            case UInt8(ascii: "b"): text.append(8)
            case UInt8(ascii: "e"), UInt8(ascii: "E"): text.append(27)
            case UInt8(ascii: "f"): text.append(12)
            case UInt8(ascii: "v"): text.append(11)
            case UInt8(ascii: "x"):
                appendScalar(readDigits(radix: 16, max: 2), into: &text)
            case UInt8(ascii: "u"):
                appendScalar(readDigits(radix: 16, max: 4), into: &text, byte: false)
            case UInt8(ascii: "U"):
                appendScalar(readDigits(radix: 16, max: 8), into: &text, byte: false)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                pos -= 1
                appendScalar(readDigits(radix: 8, max: 3).map { $0 & 0xFF }, into: &text)
            case UInt8(ascii: "c"):
                if pos < bytes.count {
                    let control = bytes[pos] & 0x1F
                    pos += 1
                    if control != 0 { text.append(control) }
                }
            default:
                text.append(escaped)
            }
        }
        pos += 1
    }

    private mutating func readDigits(radix: UInt32, max: Int) -> UInt32? {
        var value: UInt32 = 0
        var digits = 0
        while digits < max, pos < bytes.count, let digit = ShellParser.digitValue(bytes[pos], radix: radix) {
            value = value &* radix &+ digit
            pos += 1
            digits += 1
        }
        return digits == 0 ? nil : value
    }

    /// Appends a decoded escape: `\x` and octal escapes give one byte, `\u` and `\U` a character
    /// in UTF-8. A NUL cannot be passed to a program, so it ends nothing the guard cares about and
    /// is dropped.
    private func appendScalar(_ value: UInt32?, into text: inout [UInt8], byte: Bool = true) {
        guard let value, value != 0 else { return }
        if byte || value < 0x80 {
            text.append(UInt8(truncatingIfNeeded: value))
        } else if let scalar = Unicode.Scalar(value) {
            text.append(contentsOf: Array(String(Character(scalar)).utf8))
        }
    }

    static func digitValue(_ byte: UInt8, radix: UInt32) -> UInt32? {
        let value: UInt32
        switch byte {
        case 48...57: value = UInt32(byte - 48)
        case 65...70: value = UInt32(byte - 55)
        case 97...102: value = UInt32(byte - 87)
        default: return nil
        }
        return value < radix ? value : nil
    }

    /// Reads a backtick substitution at `pos` into a word's text, noting what it prints.
    private mutating func appendBackticks(into text: inout [UInt8], depth: Int) {
        pos += 1
        let start = text.count
        let (raw, output) = readBackticks(depth: depth)
        text.append(contentsOf: raw)
        lastSubstitution = (start, text.count, output)
    }

    /// Reads a backtick substitution (opening backtick consumed), parses its commands, and returns
    /// its text as written and what it prints.
    private mutating func readBackticks(depth: Int) -> ([UInt8], SubstitutionOutput) {
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
        let raw = [UInt8(ascii: "`")] + inner + [UInt8(ascii: "`")]
        guard depth + 1 <= ShellParser.maxDepth else {
            tooComplex = true
            return (raw, .unknown(String(decoding: inner, as: UTF8.self)))
        }
        var nested = ShellParser(bytes: inner, baseDepth: depth + 1)
        nested.parseList(terminator: nil, depth: depth + 1)
        if nested.tooComplex { tooComplex = true }
        let output = nested.output(of: 0, depth: depth + 1, source: 0..<inner.count)
        append(nested.commands)
        return (raw, output)
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
        index == 0 || bytes[index - 1] == UInt8(ascii: " ") || bytes[index - 1] == UInt8(ascii: "\t") || bytes[index - 1] == UInt8(ascii: "\n")
            || bytes[index - 1] == UInt8(ascii: ";")
    }

    static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
    }

    package static func isNameStart(_ byte: UInt8) -> Bool {
        (65...90).contains(byte) || (97...122).contains(byte) || byte == UInt8(ascii: "_")
    }
}

extension String {
    package var trimmingShellSpace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !" \t\r\n".unicodeScalars.contains($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !" \t\r\n".unicodeScalars.contains($0) })!
        return String(scalars[first...last])
    }
}
