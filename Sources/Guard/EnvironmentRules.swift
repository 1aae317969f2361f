/// Environment variables that change what a program runs or where it works: `LD_PRELOAD`,
/// `BASH_ENV`, `GIT_SSH_COMMAND`, a `PATH` that leads outside the workspace, …
enum EnvironmentRules {
    enum Verdict: Equatable {
        case fine
        /// The value is a command the program will run: judge it as shell.
        case script(String)
        /// The variable makes the program load or run code the guard cannot read, or work elsewhere.
        case unsafe(String)
    }

    /// Variables whose value is a command some program runs.
    static let commandValued: Set<String> = [
        "GIT_SSH_COMMAND", "GIT_SSH", "GIT_EDITOR", "GIT_SEQUENCE_EDITOR", "GIT_PAGER", "GIT_EXTERNAL_DIFF", "GIT_PROXY_COMMAND",
        "GIT_ASKPASS", "SSH_ASKPASS", "SUDO_ASKPASS", "EDITOR", "VISUAL", "PAGER", "MANPAGER", "PROMPT_COMMAND",
    ]

    /// Variables that make programs load code from a file, read settings that run commands, or
    /// work on another tree.
    static let codeLoading: Set<String> = [
        "LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH", "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "PERL5OPT", "PERL5DB",
        "RUBYOPT", "NODE_OPTIONS", "PYTHONSTARTUP", "PYTHONHOME", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM", "GIT_EXEC_PATH", "GIT_TEMPLATE_DIR", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "HOME", "TMPDIR",
    ]

    /// Search paths: each entry must stay in the workspace or the system's own folders.
    static let searchPaths: Set<String> = ["PATH", "PYTHONPATH", "PERL5LIB", "RUBYLIB", "NODE_PATH", "GEM_PATH", "GEM_HOME"]

    /// Folders a `PATH` may hold besides the workspace.
    static let systemFolders: Set<String> = [
        "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin", "/snap/bin", "/usr/games", "/usr/local/games",
    ]

    /// Every name the rules look at, for the prefilter.
    static let names: Set<String> = commandValued.union(codeLoading).union(searchPaths)

    /// Shell builtins: no program starts, so no variable set for them changes anything.
    static let builtins: Set<String> = [
        "echo", "printf", "cd", "true", "false", "test", "[", "read", "export", "local", "declare", "typeset", "readonly", "set",
        "unset", "exit", "return", "shift", "pwd", "type", ":", "let", "getopts",
    ]

    /// Whether setting `name` for these programs can change what runs: never for builtins; only the
    /// loader's variables for programs whose arguments are data; every rule for anything else.
    static func matters(_ name: String, to programs: [String]) -> Bool {
        programs.contains { program in
            if builtins.contains(program) { return false }
            if CommandNormalizer.dataPrograms.contains(program) { return name.hasPrefix("LD_") }
            return true
        }
    }

    static func check(_ name: String, _ value: String, workspace: String? = nil) -> Verdict {
        if commandValued.contains(name) { return .script(value) }
        if codeLoading.contains(name) || name.hasPrefix("GIT_CONFIG_KEY_") || name.hasPrefix("GIT_CONFIG_VALUE_") {
            if name == "LD_LIBRARY_PATH", value.isEmpty { return .fine }
            return .unsafe("\(name) changes what programs load or run, or where they work")
        }
        if searchPaths.contains(name) {
            // Split at `:` bytes: a Character split misses a `:` that a prepended mark joins to.
            for entryBytes in value.utf8.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: true) {
                let entry = String(decoding: entryBytes, as: UTF8.self)
                if entry.utf8.elementsEqual("$\(name)".utf8) || entry.utf8.elementsEqual("${\(name)}".utf8) { continue }
                // `$HOME` or `~` as the whole first part (`$HOMEX` is another variable).
                let homeBased = ["$HOME", "${HOME}", "~"].contains { home in
                    entry.utf8.starts(with: home.utf8) && (entry.utf8.count == home.utf8.count || entry.utf8.dropFirst(home.utf8.count).first == UInt8(ascii: "/"))
                }
                if homeBased, !entry.containsTwoDots { continue }
                if systemFolders.contains(where: { $0.utf8.elementsEqual(entry.utf8) }) { continue }
                if let workspace, entry.isPath(within: workspace), !entry.containsTwoDots {
                    continue
                }
                if !entry.isAbsolutePath, entry.utf8.first != UInt8(ascii: "$"), entry.utf8.first != UInt8(ascii: "~"), !entry.climbsToParent {
                    continue
                }
                return .unsafe("\(name) puts \(entry), outside the workspace and the system's folders, where programs are looked up")
            }
        }
        return .fine
    }
}
