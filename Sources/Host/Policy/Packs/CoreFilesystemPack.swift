extension PolicyPack {
    /// `core.filesystem`: recursive deletion outside temporary directories.
    static let coreFilesystem = PolicyPack(
        id: "core.filesystem", summary: "rm -rf outside temporary directories, and deleting the root or home directory",
        enabledByDefault: true, commands: ["rm", "find"],
        safe: [{ Match.has($0, "--help", "--version") }],
        rules: [
            PolicyRule(name: "rm-rf-root-home", severity: .critical, reason: "rm -rf on the root or home directory destroys the system or the user's files",
                       alternative: "Name the exact directory to remove") {
                guard $0.name == "rm", RemoveFlags($0).recursive else { return false }
                return $0.operands.contains { RemoveFlags.rootOrHome.contains($0.text) }
            },
            PolicyRule(name: "rm-recursive-force-long", severity: .high, reason: "rm --recursive --force deletes files permanently outside a temporary directory",
                       alternative: "Move it to a temporary directory first, or remove it inside /tmp") {
                guard $0.name == "rm" else { return false }
                let flags = RemoveFlags($0)
                return flags.recursive && flags.force && flags.long && flags.leavesTemporary($0)
            },
            PolicyRule(name: "rm-rf-general", severity: .high, reason: "rm -rf deletes files permanently outside a temporary directory",
                       alternative: "Move it to a temporary directory first, or remove it inside /tmp") {
                guard $0.name == "rm" else { return false }
                let flags = RemoveFlags($0)
                return flags.recursive && flags.force && !flags.long && flags.leavesTemporary($0)
            },
            PolicyRule(name: "find-delete", severity: .medium, reason: "find -delete removes every file it matches",
                       alternative: "Run the find without -delete first to see what matches") {
                guard $0.name == "find", $0.args.contains("-delete") else { return false }
                let roots = $0.args.prefix { !$0.hasPrefix("-") && $0 != "(" && $0 != "!" }
                return roots.isEmpty || !roots.allSatisfy(Match.isTemporaryPath)
            },
        ])
}

/// How an `rm` invocation was asked to delete.
struct RemoveFlags {
    static let rootOrHome: Set<String> = ["/", "/*", "/.", "/..", "~", "~/", "~/*", "/root", "/home"]

    var recursive = false
    var force = false
    /// Both flags given as long options (`--recursive --force`).
    var long = false

    init(_ invocation: CommandInvocation) {
        var longRecursive = false, longForce = false
        for arg in invocation.args {
            if arg == "--" { break }
            if arg == "--recursive" { recursive = true; longRecursive = true }
            else if arg == "--force" { force = true; longForce = true }
            else if arg.hasPrefix("-"), !arg.hasPrefix("--") {
                if arg.contains("r") || arg.contains("R") { recursive = true }
                if arg.contains("f") { force = true }
            }
        }
        long = longRecursive && longForce
    }

    /// True unless every target is strictly inside a temporary directory.
    func leavesTemporary(_ invocation: CommandInvocation) -> Bool {
        let targets = invocation.operands
        return targets.isEmpty || !targets.allSatisfy { Match.isTemporaryPath($0.text) }
    }
}
