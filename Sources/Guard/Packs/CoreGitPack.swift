extension PolicyPack {
    /// `core.git`: git commands that destroy work that is not safely stored elsewhere.
    static let coreGit = PolicyPack(
        id: "core.git", summary: "git commands that destroy uncommitted work, untracked files, stashes or remote history",
        enabledByDefault: true, commands: ["git"],
        safe: [
            // Help and version output never changes anything.
            { Match.has($0, "--help", "-h", "--version") || Match.gitSubcommand($0)?.name == "help" },
        ],
        rules: [
            PolicyRule(name: "reset-hard", subcommands: ["reset"], severity: .high, reason: "git reset --hard destroys uncommitted changes",
                       alternative: "git stash first, or git reset --soft / --mixed to keep your changes") {
                guard let sub = Match.gitSubcommand($0), sub.name == "reset" else { return false }
                return sub.rest.contains("--hard")
            },
            PolicyRule(name: "reset-merge", subcommands: ["reset"], severity: .high, reason: "git reset --merge can discard uncommitted changes",
                       alternative: "git stash first") {
                guard let sub = Match.gitSubcommand($0), sub.name == "reset" else { return false }
                return sub.rest.contains("--merge")
            },
            PolicyRule(name: "checkout-force", subcommands: ["checkout", "switch"], severity: .high, reason: "git checkout --force discards local changes",
                       alternative: "git stash, then check out") {
                guard let sub = Match.gitSubcommand($0), sub.name == "checkout" || sub.name == "switch" else { return false }
                return $0.hasFlag(short: "f", long: ["--force", "--discard-changes"], in: sub.rest)
            },
            PolicyRule(name: "checkout-discard", subcommands: ["checkout"], severity: .high, reason: "git checkout -- <path> discards uncommitted changes to those files",
                       alternative: "git stash push <path>, or git diff > backup.patch first") {
                guard let sub = Match.gitSubcommand($0), sub.name == "checkout" else { return false }
                if let dashes = sub.rest.firstIndex(of: "--") { return dashes + 1 < sub.rest.endIndex }
                // Creating a branch (-b, -B, --orphan) takes the operands as names.
                if sub.rest.contains(where: { ["-b", "-B", "--orphan"].contains($0) }) { return false }
                // `git checkout HEAD .`: a tree-ish and then paths, whose changes are overwritten.
                let operands = sub.rest.filter { !$0.startsWithDash }
                return sub.rest.first == "." || operands.count >= 2
            },
            PolicyRule(name: "read-tree-reset", subcommands: ["read-tree"], severity: .high, reason: "git read-tree -u with --reset or -m overwrites the working tree",
                       alternative: "git stash first, or read the tree into a separate index") {
                guard let sub = Match.gitSubcommand($0), sub.name == "read-tree" else { return false }
                return sub.rest.contains("-u") && (sub.rest.contains("--reset") || sub.rest.contains("-m"))
            },
            PolicyRule(name: "restore-worktree", subcommands: ["restore"], severity: .high, reason: "git restore discards uncommitted changes in the working tree",
                       alternative: "git restore --staged to unstage only, or git stash first") {
                guard let sub = Match.gitSubcommand($0), sub.name == "restore" else { return false }
                let staged = $0.hasFlag(short: "S", long: ["--staged"], in: sub.rest)
                let worktree = $0.hasFlag(short: "W", long: ["--worktree"], in: sub.rest)
                return !staged || worktree
            },
            PolicyRule(name: "clean-force", subcommands: ["clean"], severity: .high, reason: "git clean -f removes untracked files permanently",
                       alternative: "git clean -n to see what would go, then remove by hand") {
                guard let sub = Match.gitSubcommand($0), sub.name == "clean" else { return false }
                let dryRun = $0.hasFlag(short: "n", long: ["--dry-run"], in: sub.rest)
                return !dryRun && $0.hasFlag(short: "f", long: ["--force"], in: sub.rest)
            },
            PolicyRule(name: "push-force-long", subcommands: ["push"], severity: .high, reason: "Force push can overwrite remote history",
                       alternative: "git push --force-with-lease") {
                guard let sub = Match.gitSubcommand($0), sub.name == "push" else { return false }
                return sub.rest.contains { $0 == "--force" || $0.hasPrefix("--force=") }
            },
            PolicyRule(name: "push-force-short", subcommands: ["push"], severity: .high, reason: "Force push (-f) can overwrite remote history",
                       alternative: "git push --force-with-lease") {
                guard let sub = Match.gitSubcommand($0), sub.name == "push" else { return false }
                return $0.hasFlag(short: "f", in: sub.rest)
            },
            PolicyRule(name: "push-force-refspec", subcommands: ["push"], severity: .high, reason: "A +refspec force-pushes and can overwrite remote history",
                       alternative: "git push --force-with-lease") {
                guard let sub = Match.gitSubcommand($0), sub.name == "push" else { return false }
                return sub.rest.contains { $0.hasPrefix("+") && $0.count > 1 }
            },
            PolicyRule(name: "push-delete", subcommands: ["push"], severity: .medium, reason: "Deletes a branch or tag on the remote",
                       alternative: "Check that nobody else uses the ref first") {
                guard let sub = Match.gitSubcommand($0), sub.name == "push" else { return false }
                return $0.hasFlag(short: "d", long: ["--delete"], in: sub.rest) || sub.rest.contains { $0.hasPrefix(":") && $0.count > 1 }
            },
            PolicyRule(name: "stash-drop", subcommands: ["stash"], severity: .medium, reason: "git stash drop deletes a stash", alternative: "git stash list; keep it or apply it first") {
                guard let sub = Match.gitSubcommand($0), sub.name == "stash" else { return false }
                return sub.rest.first == "drop"
            },
            PolicyRule(name: "stash-clear", subcommands: ["stash"], severity: .high, reason: "git stash clear deletes every stash",
                       alternative: "git stash drop the ones you no longer need, one by one") {
                guard let sub = Match.gitSubcommand($0), sub.name == "stash" else { return false }
                return sub.rest.first == "clear"
            },
            PolicyRule(name: "branch-force-delete", subcommands: ["branch"], severity: .medium, reason: "git branch -D deletes a branch even if it is not merged",
                       alternative: "git branch -d, which refuses unmerged branches") {
                guard let sub = Match.gitSubcommand($0), sub.name == "branch" else { return false }
                if sub.rest.contains("-D") || sub.rest.contains(where: { $0.startsWithDash && !$0.hasPrefix("--") && $0.contains(Character("D")) }) { return true }
                return $0.hasFlag(short: "d", long: ["--delete"], in: sub.rest) && $0.hasFlag(short: "f", long: ["--force"], in: sub.rest)
            },
            PolicyRule(name: "filter-branch", subcommands: ["filter-branch"], severity: .high, reason: "git filter-branch rewrites history", alternative: "Work on a clone") {
                Match.gitSubcommand($0)?.name == "filter-branch"
            },
            PolicyRule(name: "reflog-expire", subcommands: ["reflog"], severity: .high, reason: "Expiring the reflog removes the way back to lost commits",
                       alternative: "Leave the reflog to expire on its own") {
                guard let sub = Match.gitSubcommand($0), sub.name == "reflog" else { return false }
                return sub.rest.first == "expire" || sub.rest.first == "delete"
            },
            PolicyRule(name: "gc-prune-now", subcommands: ["gc"], severity: .medium, reason: "git gc --prune=now deletes unreachable commits at once",
                       alternative: "git gc without --prune=now") {
                guard let sub = Match.gitSubcommand($0), sub.name == "gc" else { return false }
                return sub.rest.contains { $0 == "--prune=now" || $0 == "--prune=all" }
            },
        ])
}
