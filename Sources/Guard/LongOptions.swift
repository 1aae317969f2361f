/// Long options as getopt_long and git's option parser read them: any unambiguous prefix of an
/// option's name stands for it (`rm --recur --forc`, `git reset --ha`).
enum LongOptions {
    /// Replaces each abbreviated long option with the option it stands for, keeping any `=value`.
    /// An ambiguous or unknown prefix is left as written (the program would refuse it).
    static func expanding(_ words: [ShellWord], among options: [String]) -> [ShellWord] {
        var result = words
        for index in result.indices {
            let text = result[index].text
            if text == "--" { break }
            guard text.hasPrefix("--"), text.utf8.count > 2 else { continue }
            let equals = text.firstIndex(of: "=")
            let name = equals.map { String(text[..<$0]) } ?? text
            guard !options.contains(name) else { continue }
            let matches = options.filter { $0.hasPrefix(name) }
            guard matches.count == 1 else { continue }
            result[index].text = matches[0] + (equals.map { String(text[$0...]) } ?? "")
        }
        return result
    }

    /// The long options of programs the packs judge by option.
    static let tables: [String: [String]] = [
        "rm": ["--force", "--interactive", "--one-file-system", "--no-preserve-root", "--preserve-root", "--recursive", "--dir",
               "--verbose", "--help", "--version"],
        "find": [],
        "chmod": ["--changes", "--silent", "--quiet", "--verbose", "--no-preserve-root", "--preserve-root", "--reference", "--recursive",
                  "--help", "--version"],
        "chown": ["--changes", "--silent", "--quiet", "--verbose", "--dereference", "--no-dereference", "--from", "--no-preserve-root",
                  "--preserve-root", "--reference", "--recursive", "--help", "--version"],
    ]

    /// git subcommands' long options.
    static let git: [String: [String]] = [
        "reset": ["--hard", "--soft", "--mixed", "--merge", "--keep", "--quiet", "--no-quiet", "--patch", "--intent-to-add",
                  "--recurse-submodules", "--no-recurse-submodules", "--pathspec-from-file", "--pathspec-file-nul", "--refresh", "--no-refresh"],
        "push": ["--force", "--force-with-lease", "--force-if-includes", "--no-force-with-lease", "--no-force-if-includes", "--delete",
                 "--all", "--branches", "--mirror", "--tags", "--follow-tags", "--dry-run", "--porcelain", "--prune", "--set-upstream",
                 "--atomic", "--no-verify", "--verify", "--quiet", "--verbose", "--progress", "--recurse-submodules", "--thin", "--no-thin",
                 "--receive-pack", "--exec", "--repo", "--signed", "--no-signed", "--push-option", "--ipv4", "--ipv6"],
        "clean": ["--force", "--dry-run", "--interactive", "--quiet", "--exclude"],
        "checkout": ["--force", "--quiet", "--progress", "--no-progress", "--merge", "--detach", "--orphan", "--ours", "--theirs",
                     "--patch", "--ignore-skip-worktree-bits", "--overwrite-ignore", "--no-overwrite-ignore", "--ignore-other-worktrees",
                     "--recurse-submodules", "--no-recurse-submodules", "--conflict", "--track", "--no-track", "--guess", "--no-guess",
                     "--overlay", "--no-overlay", "--pathspec-from-file", "--pathspec-file-nul"],
        "switch": ["--force", "--discard-changes", "--create", "--force-create", "--detach", "--orphan", "--guess", "--no-guess",
                   "--track", "--no-track", "--merge", "--conflict", "--quiet", "--progress", "--no-progress", "--recurse-submodules",
                   "--no-recurse-submodules", "--ignore-other-worktrees"],
        "restore": ["--source", "--staged", "--worktree", "--patch", "--quiet", "--progress", "--no-progress", "--ours", "--theirs",
                    "--merge", "--conflict", "--ignore-unmerged", "--ignore-skip-worktree-bits", "--recurse-submodules",
                    "--no-recurse-submodules", "--overlay", "--no-overlay", "--pathspec-from-file", "--pathspec-file-nul"],
        "branch": ["--delete", "--force", "--move", "--copy", "--list", "--all", "--remotes", "--verbose", "--quiet", "--track",
                   "--no-track", "--set-upstream-to", "--unset-upstream", "--contains", "--no-contains", "--merged", "--no-merged",
                   "--sort", "--format", "--show-current", "--edit-description", "--column", "--no-column", "--color", "--no-color",
                   "--create-reflog", "--abbrev", "--no-abbrev", "--ignore-case", "--points-at", "--recurse-submodules"],
        "gc": ["--prune", "--no-prune", "--aggressive", "--auto", "--quiet", "--force", "--keep-largest-pack", "--cruft", "--no-cruft"],
        "read-tree": ["--reset", "--prefix", "--index-output", "--trivial", "--aggressive", "--exclude-per-directory", "--no-sparse-checkout",
                      "--empty", "--quiet", "--recurse-submodules", "--no-recurse-submodules", "--dry-run"],
        "rebase": ["--exec", "--onto", "--keep-base", "--continue", "--abort", "--quit", "--skip", "--edit-todo", "--show-current-patch",
                   "--apply", "--merge", "--interactive", "--rebase-merges", "--root", "--autosquash", "--no-autosquash", "--autostash",
                   "--no-autostash", "--strategy", "--strategy-option", "--quiet", "--verbose", "--stat", "--no-stat", "--no-verify",
                   "--verify", "--force-rebase", "--no-ff", "--fork-point", "--no-fork-point", "--ignore-whitespace",
                   "--whitespace", "--committer-date-is-author-date", "--ignore-date", "--reset-author-date", "--signoff", "--update-refs",
                   "--no-update-refs", "--reschedule-failed-exec", "--no-reschedule-failed-exec", "--empty", "--keep-empty", "--no-keep-empty",
                   "--gpg-sign", "--no-gpg-sign"],
    ]
}
