@testable import Guard
import Testing

@Suite("paths read lexically")
struct PathTests {
    /// Every path made of up to four parts drawn from names, `.`, `..`, `*`, empty parts, with and
    /// without a leading and trailing slash: the quick answer always agrees with the long way.
    @Test("the shortcut for paths that are already normal agrees with splitting them")
    func shortcutAgrees() {
        let parts = ["a", "bin", ".", "..", "...", ".x", "x.", "*", "*.log", ""]
        var paths: Set<String> = ["", "/", "//", ".", "..", "*", "~", "~/", "$HOME"]
        func grow(_ prefix: [String], _ depth: Int) {
            for part in parts {
                let next = prefix + [part]
                let joined = next.joined(separator: "/")
                paths.formUnion([joined, "/" + joined, joined + "/", "/" + joined + "/"])
                if depth > 1 { grow(next, depth - 1) }
            }
        }
        grow([], 4)
        #expect(paths.count > 10_000)
        for path in paths {
            #expect(Paths.normalized(path) == Paths.normalizedBySplitting(path), "\(path)")
        }
        #expect(Paths.isNormal("/usr/local/bin"))
        #expect(!Paths.isNormal("/usr/../etc"))
        #expect(!Paths.isNormal("/tmp/*"))
    }

    /// The kernel splits paths at `/` bytes. Read as Characters, a combining mark after a slash
    /// makes one Character with it, and the slash stops separating.
    @Test("paths are read as bytes: a combining mark after a slash hides no part; relative names stay in the workspace")
    func bytesNotCharacters() {
        func word(_ text: String, expansion: Bool = false) -> ShellWord { ShellWord(text: text, quoted: false, hasExpansion: expansion) }
        let temporary: [(String, Bool)] = [
            ("/tmp/build", true), ("/tmp//build/x", true), ("/var/tmp/x", true), ("${TMPDIR:-/tmp}/x", true), ("$TMPDIR/x", true),
            ("/tmp/x/*", true), ("/tmp/x/\u{301}", true),
            ("/tmp/../\u{301}etc", false), ("/tmp/a/../\u{301}/../x", false), ("/tmp/..", false), ("/tmp/.", false), ("/tmp/", false),
            ("/tmp/*/x", false), ("/tmp/$D/x", false), ("/tmpx/y", false), ("tmp/x", false), ("${TMPDIR:-/tmp}", false),
            ("${TMPDIR:-/}/x", false), ("${TMPDIR:-}/x", false), ("${TMPDIR:-/etc}/x", false), ("${TMPDIR:-/var/tmp}/x", true),
        ]
        for (path, expected) in temporary {
            #expect(Paths.isTemporary(word(path), exemptions: true) == expected, "\(path)")
            #expect(!Paths.isTemporary(word(path), exemptions: false), "\(path)")
            // In a line that may set TMPDIR, only the literal temporary directories stay exempt.
            #expect(Paths.isTemporary(word(path), exemptions: true, trustsTMPDIR: false) == (expected && !path.contains("TMPDIR")), "\(path)")
        }
        #expect(CommandPolicy.mayRebindTMPDIR("TMPDIR=/ rm -rf $TMPDIR/x") && CommandPolicy.mayRebindTMPDIR("read TMPDIR")
                && CommandPolicy.mayRebindTMPDIR(": ${TMPDIR:=/}") && CommandPolicy.mayRebindTMPDIR(": ${TMPDIR=/}"))
        #expect(!CommandPolicy.mayRebindTMPDIR("rm -rf $TMPDIR/x ${TMPDIR}/y ${TMPDIR:-/tmp}/z"))
        let critical: [(String, Bool)] = [
            ("/", true), ("//", true), ("/home", true), ("/home/bob", true), ("/Users/ann/", true), ("/etc/", true), ("~", true), ("~bob", true),
            ("~/", true), ("$HOME", true), ("${HOME}/", true), ("$HOME/x/../..", true), ("..", true), ("../x", true), ("./../x", true),
            ("/\u{301}", false), ("/home/bob/src", false), ("./home/bob", false), ("./Users/x", false), ("~/src", false), ("$HOME/src", false),
            ("build", false), ("/tmp/x", false), ("$X/home", false),
        ]
        for (path, expected) in critical {
            #expect(Paths.isCritical(word(path, expansion: path.contains("$X"))) == expected, "\(path)")
        }
        #expect(Paths.isInsideWorkspace(word("src/../build")))
        #expect(Paths.isInsideWorkspace(word("./home/bob")))
        #expect(!Paths.isInsideWorkspace(word("src/../../x")))
        #expect(!Paths.isInsideWorkspace(word("/\u{301}x")))
        #expect(!Paths.isInsideWorkspace(word("~/x")))
    }
}

@Suite("brace patterns in words")
struct BraceHintTests {
    /// Only `{…,…}` and `{…..…}` expand; a comma or a dot before the first `{` is literal text.
    @Test("a word is marked for brace expansion only with a comma or dot after an opening brace and a closing one")
    func hint() {
        let cases: [(String, Bool)] = [
            ("{a,b}", true), ("x{1..3}", true), ("a,b*}", false), ("a.b}", false), ("a,b{c}", false), ("'{a,b}'", false), ("{a,b", false),
        ]
        for (text, expected) in cases {
            let words = ShellParser.parse("echo \(text)").commands.first?.words ?? []
            #expect(words.count == 2 && words[1].hasBraces == expected, "\(text)")
        }
    }
}

@Suite("shell words read on their fast paths")
struct WordFastPathTests {
    @Test("the parser's byte classes are exactly the characters they stand for")
    func byteClasses() {
        let classes: [(ShellParser.ByteClass, String)] = [
            (ShellParser.wordEnd, " \t\n\r;&|()<>"), (ShellParser.special, " \t\n\r;&|()<>`\\'\"$"), (ShellParser.doubleQuoteSpecial, "\"\\$`"),
        ]
        for (byteClass, characters) in classes {
            for byte in UInt8.min...UInt8.max {
                #expect(byteClass.contains(byte) == characters.utf8.contains(byte), "byte \(byte) in \(characters.debugDescription)")
            }
        }
    }

    @Test("a word that is one quoted string reads as the general path reads it")
    func quotedWords() {
        let cases: [(String, String, Bool)] = [
            ("'a b'", "a b", false), ("\"a b\"", "a b", false), ("'$X'", "$X", false), ("\"$X\"", "$X", true), ("'a'b", "ab", false),
            ("\"a\\\"b\"", "a\"b", false), ("''", "", false), ("'a;b'", "a;b", false), ("'x'\"y\"", "xy", false),
        ]
        for (text, expected, expansion) in cases {
            for line in ["echo \(text)", "echo \(text);", "echo \(text) | cat"] {
                let words = ShellParser.parse(line).commands.first?.words ?? []
                #expect(words.count == 2 && words[1].text == expected && words[1].quoted && words[1].hasExpansion == expansion, "\(line)")
            }
        }
        // An unterminated quote runs to the end of the input, as before.
        #expect(ShellParser.parse("echo 'a b").commands.first?.words.last?.text == "a b")
    }
}
