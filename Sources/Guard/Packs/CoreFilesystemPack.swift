extension PolicyPack {
    /// `core.filesystem`: recursive deletion outside temporary directories, worst when aimed at the
    /// root, a home or system directory, or above the workspace.
    static let coreFilesystem = PolicyPack(
        id: "core.filesystem", summary: "rm -r outside temporary directories, find -delete, and deleting the root, home or system directories",
        enabledByDefault: true, commands: ["rm", "find"],
        safe: [{ Match.has($0, "--help", "--version") }],
        rules: [
            PolicyRule(name: "rm-rf-root-home", severity: .critical,
                       reason: "rm -r on the root, a home or system directory, or above the workspace destroys the system or the user's files",
                       alternative: "Name the exact directory to remove, inside the workspace") {
                guard $0.name == "rm", $0.removeFlags.recursive else { return false }
                return $0.operands.contains { Paths.isCritical($0) }
            },
            PolicyRule(name: "rm-recursive-force-long", severity: .high, reason: "rm --recursive deletes files permanently outside a temporary directory",
                       alternative: "Move it to a temporary directory first, or remove it inside /tmp") {
                guard $0.name == "rm" else { return false }
                let flags = $0.removeFlags
                return flags.recursive && flags.long && flags.leavesTemporary($0)
            },
            // Non-interactive `rm -r` never prompts, so -f is not needed for the harm.
            PolicyRule(name: "rm-rf-general", severity: .high, reason: "rm -r / rm -rf deletes files permanently outside a temporary directory",
                       alternative: "Move it to a temporary directory first, or remove it inside /tmp") {
                guard $0.name == "rm" else { return false }
                let flags = $0.removeFlags
                return flags.recursive && !flags.long && flags.leavesTemporary($0)
            },
            PolicyRule(name: "find-delete-outside", severity: .critical,
                       reason: "find deletes every file it matches under the root, a home or system directory, or outside the workspace",
                       alternative: "Run find inside the workspace, without -delete first to see what matches") {
                guard $0.name == "find", FindDeletion($0).deletes else { return false }
                let invocation = $0
                return FindDeletion.roots($0).contains { !Paths.isInsideWorkspace($0) && !Paths.isTemporary($0, in: invocation) }
            },
            PolicyRule(name: "find-delete", severity: .medium, reason: "find -delete removes every file it matches",
                       alternative: "Run the find without -delete first to see what matches") {
                guard $0.name == "find", $0.args.contains("-delete") else { return false }
                return FindDeletion.roots($0).allSatisfy(Paths.isInsideWorkspace)
            },
        ])
}

/// How a `find` deletes: `-delete`, or `-exec`/`-execdir`/`-ok` of a deleting program.
struct FindDeletion {
    static let deleters: Set<String> = ["rm", "unlink", "shred", "srm", "wipe", "rmdir", "trash"]
    var deletes = false

    init(_ invocation: CommandInvocation) {
        let args = invocation.args
        if args.contains("-delete") {
            deletes = true
            return
        }
        for (index, arg) in args.enumerated() where ["-exec", "-execdir", "-ok", "-okdir"].contains(arg) && index + 1 < args.count {
            if Self.deleters.contains(CommandNormalizer.baseName(args[index + 1])) { deletes = true }
        }
    }

    /// The starting points: the words before the first expression word (`.` when there are none).
    static func roots(_ invocation: CommandInvocation) -> [ShellWord] {
        var roots: [ShellWord] = []
        for word in invocation.arguments {
            let text = word.text
            if text.startsWithDash || text == "(" || text == "!" || text == "," { break }
            roots.append(word)
        }
        return roots.isEmpty ? [ShellWord(text: ".", quoted: false, hasExpansion: false)] : roots
    }
}

/// How an `rm` invocation was asked to delete.
struct RemoveFlags {
    var recursive = false
    var force = false
    /// Recursion given as a long option (`--recursive`).
    var long = false

    init() {}

    init(args: [String]) {
        for arg in args {
            if arg == "--" { break }
            if arg == "--recursive" { recursive = true; long = true }
            else if arg == "--force" { force = true }
            else if arg.startsWithDash, !arg.hasPrefix("--") {
                if arg.utf8.contains(UInt8(ascii: "r")) || arg.utf8.contains(UInt8(ascii: "R")) { recursive = true }
                if arg.utf8.contains(UInt8(ascii: "f")) { force = true }
            }
        }
    }

    /// True unless every target is strictly inside a temporary directory.
    func leavesTemporary(_ invocation: CommandInvocation) -> Bool {
        let targets = invocation.operands
        return targets.isEmpty || !targets.allSatisfy { Paths.isTemporary($0, in: invocation) }
    }
}

/// Where a path leads, read lexically (the guard never looks at the file system).
enum Paths {
    static let homeVariables = ["$HOME", "${HOME}"]
    static let temporaryPrefixes = ["/tmp/", "/var/tmp/", "/dev/shm/", "$TMPDIR/", "${TMPDIR}/"]

    static let systemDirectories: Set<String> = [
        "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/var", "/opt", "/srv", "/sys", "/proc",
        "/dev", "/home", "/root", "/mnt", "/media", "/snap", "/run",
    ]

    /// `//` collapsed, `.` parts dropped, and `..` applied to what comes before it where that is
    /// known; a trailing `/`, `/.` or `/*` removed. Nil for a path with a dynamic part the result
    /// would depend on.
    static func normalized(_ path: String) -> String {
        isNormal(path) ? path : normalizedBySplitting(path)
    }

    /// ``normalized(_:)`` the long way, for every path.
    static func normalizedBySplitting(_ path: String) -> String {
        // On bytes: a Character split misses a `/` that a combining or prepended mark joins to.
        let absolute = path.isAbsolutePath
        let dot = UInt8(ascii: "."), star = UInt8(ascii: "*")
        var parts: [ArraySlice<UInt8>] = []
        for part in Array(path.utf8).split(separator: slash, omittingEmptySubsequences: true) {
            if part.count == 1, part.first == dot { continue }
            if part.isParentPart, let last = parts.last, !last.isParentPart {
                parts.removeLast()
                continue
            }
            if part.isParentPart, absolute { continue }
            parts.append(part)
        }
        if let last = parts.last, last.count == 1, last.first == star { parts.removeLast() }
        var joined: [UInt8] = absolute ? [slash] : []
        for (index, part) in parts.enumerated() {
            if index > 0 { joined.append(slash) }
            joined.append(contentsOf: part)
        }
        return joined.isEmpty ? "." : String(decoding: joined, as: UTF8.self)
    }

    /// Whether `normalized` would return the path as it is: no empty, `.` or `..` part, no `*` as
    /// the last part, no trailing `/` (but the root itself), not empty. Most paths are; this spares
    /// them the split and join.
    static func isNormal(_ path: String) -> Bool {
        let bytes = path.utf8
        guard !bytes.isEmpty else { return false }
        if bytes.count == 1, bytes.first == UInt8(ascii: "/") { return true }
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        var position = 0
        var partLength = 0, partDots = 0
        var lastPartIsStar = false
        // A part ends at each slash and at the end; a leading slash opens no part.
        func partIsNormal() -> Bool { partLength > 0 && !(partDots == partLength && partLength <= 2) }
        for byte in bytes {
            defer { position += 1 }
            if byte == slash {
                if position == 0 { continue }
                guard partIsNormal() else { return false }
                partLength = 0; partDots = 0; lastPartIsStar = false
                continue
            }
            partLength += 1
            if byte == dot { partDots += 1 }
            lastPartIsStar = partLength == 1 && byte == UInt8(ascii: "*")
        }
        return partIsNormal() && !lastPartIsStar
    }

    /// The root, a home directory, a system directory (or everything in it), or a path above the
    /// working directory. Read as bytes, as the kernel reads paths: a combining mark after a `/`
    /// does not hide the slash.
    static func isCritical(_ word: ShellWord) -> Bool {
        let text = word.text
        let bytes = text.utf8
        // A plain relative name (`build`, `src/x`) stays in the workspace: nothing to work out.
        guard let first = bytes.first, first == slash || first == UInt8(ascii: "~") || first == dollar || first == UInt8(ascii: ".") else {
            return false
        }
        if first == UInt8(ascii: "~") {
            // `~` or `~user`, then what follows its first slash.
            guard let firstSlash = bytes.firstIndex(of: slash) else { return true }
            return normalized(String(text[firstSlash...])).utf8.count <= 1
        }
        for home in Self.homeVariables where bytes.starts(with: home.utf8) {
            let rest = text.utf8.dropFirst(home.utf8.count)
            return rest.isEmpty || normalized(String(Substring(rest))) == "/"
        }
        if word.hasExpansion, bytes.contains(dollar) { return false }
        let path = normalized(text)
        let normal = path.utf8
        if path == "/" || path == ".." || normal.starts(with: "../".utf8) { return true }
        guard normal.first == slash else { return false }
        if systemDirectories.contains(path) { return true }
        // A user's home: /home/NAME or /Users/NAME (normalized: no empty part, no trailing slash).
        let rest = normal.dropFirst()
        guard let second = rest.firstIndex(of: slash) else { return false }
        let top = rest[..<second], name = rest[rest.index(after: second)...]
        return !name.isEmpty && !name.contains(slash) && (top.elementsEqual("home".utf8) || top.elementsEqual("Users".utf8))
    }

    /// A relative path that stays inside the working directory (the workspace, for agents).
    static func isInsideWorkspace(_ word: ShellWord) -> Bool {
        let bytes = word.text.utf8
        if bytes.first == slash || bytes.first == UInt8(ascii: "~") || (word.hasExpansion && bytes.contains(dollar)) { return false }
        let path = normalized(word.text)
        return path != ".." && !path.utf8.starts(with: "../".utf8)
    }

    /// ``isTemporary(_:exemptions:trustsTMPDIR:)`` with what the invocation's line allows.
    static func isTemporary(_ word: ShellWord, in invocation: CommandInvocation) -> Bool {
        isTemporary(word, exemptions: invocation.temporaryExemptions, trustsTMPDIR: invocation.trustsTMPDIR)
    }

    /// Strictly inside a temporary directory, and unable to leave it: no `..`, no expansion but a
    /// leading `$TMPDIR` (when the line cannot have set it; `${TMPDIR:-…}` only with a temporary
    /// directory as the default), no glob before the last part, and no symbolic link made in the
    /// same line.
    static func isTemporary(_ word: ShellWord, exemptions: Bool, trustsTMPDIR: Bool = true) -> Bool {
        guard exemptions else { return false }
        // `//` read as `/`, as the kernel does.
        var path: [UInt8] = []
        path.reserveCapacity(word.text.utf8.count)
        for byte in word.text.utf8 where !(byte == slash && path.last == slash) { path.append(byte) }
        var restStart: Int?
        for prefix in Self.temporaryPrefixBytes where path.starts(with: prefix) {
            if prefix.first == dollar, !trustsTMPDIR { break }
            restStart = prefix.count
            break
        }
        if restStart == nil, trustsTMPDIR, path.starts(with: Self.defaultedTMPDIR), let close = path.firstIndex(of: UInt8(ascii: "}")),
           close + 1 < path.count, path[close + 1] == slash {
            // The default is used when TMPDIR is unset or empty: it must be a temporary directory too.
            let fallback = path[Self.defaultedTMPDIR.count..<close]
            if Self.temporaryPrefixBytes.contains(where: { $0.first == slash && $0.dropLast().elementsEqual(fallback) }) {
                restStart = close + 2
            }
        }
        guard let restStart, restStart < path.count else { return false }
        let rest = path[restStart...]
        if rest.contains(dollar) || rest.contains(UInt8(ascii: "`")) { return false }
        // Its parts (empty ones skipped): none may be `..`, not all may be `.`, and only the last
        // may hold a glob. Walked in place: this runs for every operand of every rm.
        var onlyDots = true
        var globBefore = false
        var partStart = rest.startIndex
        var end = rest.startIndex
        while end <= rest.endIndex {
            defer { end += 1 }
            guard end == rest.endIndex || rest[end] == slash else { continue }
            let part = rest[partStart..<end]
            partStart = end + 1
            guard !part.isEmpty else { continue }
            if part.isParentPart || globBefore { return false }
            if !(part.count == 1 && part.first == UInt8(ascii: ".")) { onlyDots = false }
            globBefore = part.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[") }
        }
        return !onlyDots
    }

    static let temporaryPrefixBytes = temporaryPrefixes.map { Array($0.utf8) }
    private static let defaultedTMPDIR = Array("${TMPDIR:-".utf8)
    private static let slash = UInt8(ascii: "/")
    private static let dollar = UInt8(ascii: "$")
}
