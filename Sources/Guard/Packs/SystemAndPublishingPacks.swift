extension PolicyPack {
    static let system = PolicyPack(
        id: "system", summary: "Disks, permissions and processes: dd, mkfs, shred, wipefs, partitioning, chmod -R 777 /, kill -9 -1, shutdown",
        enabledByDefault: false,
        commands: ["dd", "mkfs", "shred", "wipefs", "fdisk", "sfdisk", "gdisk", "parted", "cfdisk", "mkswap", "chmod", "chown",
                   "kill", "killall5", "shutdown", "reboot", "halt", "poweroff", "init", "systemctl"],
        extraKeywords: ["dev"], anyCommand: true,
        rules: [
            PolicyRule(name: "dd-device", severity: .critical, reason: "dd onto a device overwrites a disk", alternative: "Double-check of= and write to a file first") {
                $0.name == "dd" && $0.args.contains { $0.hasPrefix("of=/dev/") && !Self.harmlessDevices.contains(String($0.dropFirst(3))) }
            },
            PolicyRule(name: "mkfs", severity: .critical, reason: "mkfs formats a device, erasing it", alternative: nil) {
                $0.name == "mkfs" || $0.name.hasPrefix("mkfs.") || $0.name == "mkswap" || $0.name == "wipefs"
            },
            PolicyRule(name: "shred", severity: .high, reason: "shred destroys file contents beyond recovery", alternative: "rm, or move the file aside") {
                $0.name == "shred"
            },
            PolicyRule(name: "partition", severity: .high, reason: "Partitioning tools can erase a disk's partition table", alternative: nil) {
                ["fdisk", "sfdisk", "gdisk", "parted", "cfdisk"].contains($0.name) && !$0.hasFlag(short: "l", long: ["--list"])
            },
            PolicyRule(name: "device-redirect", severity: .critical, reason: "Writing to a disk device overwrites it", alternative: nil) {
                $0.redirectTargets.contains { $0.hasPrefix("/dev/") && !Self.harmlessDevices.contains($0) }
            },
            PolicyRule(name: "chmod-recursive-root", severity: .critical, reason: "A recursive chmod or chown of a system directory breaks the system",
                       alternative: "Change the permissions of the files you mean") {
                guard $0.name == "chmod" || $0.name == "chown", $0.hasFlag(short: "R", long: ["--recursive"]) else { return false }
                return $0.operands.dropFirst().contains { Self.systemPaths.contains($0.text) }
            },
            PolicyRule(name: "chmod-777-recursive", severity: .medium, reason: "chmod -R 777 makes every file writable by everyone", alternative: "Grant only what is needed, e.g. u+rwX") {
                $0.name == "chmod" && $0.hasFlag(short: "R", long: ["--recursive"]) && $0.operands.first.map { ["777", "a+rwx", "0777"].contains($0.text) } == true
            },
            PolicyRule(name: "kill-all", severity: .critical, reason: "kill -9 -1 kills every process you can signal", alternative: "Kill the process you mean by its pid") {
                ($0.name == "kill" && $0.args.contains("-1")) || $0.name == "killall5"
            },
            PolicyRule(name: "shutdown", severity: .high, reason: "Shuts down or reboots the machine", alternative: nil) {
                ["shutdown", "reboot", "halt", "poweroff"].contains($0.name)
                    || ($0.name == "init" && ["0", "6"].contains($0.args.first ?? ""))
                    || ($0.name == "systemctl" && ["poweroff", "reboot", "halt", "kexec"].contains(Match.verbs($0, 1).first ?? ""))
            },
        ])

    static let harmlessDevices: Set<String> = ["/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero", "/dev/fd/1", "/dev/fd/2"]
    static let systemPaths: Set<String> = ["/", "/*", "/etc", "/usr", "/bin", "/sbin", "/lib", "/var", "/boot", "/home", "/root", "~", "/opt", "/srv"]

    static let publishing = PolicyPack(
        id: "publishing", summary: "Publishing packages and removing published ones: npm, cargo, PyPI, RubyGems, CocoaPods, NuGet, Maven",
        enabledByDefault: false,
        commands: ["npm", "pnpm", "yarn", "cargo", "twine", "gem", "poetry", "uv", "flit", "hatch", "pod", "mvn", "gradle", "dotnet"],
        safe: [{ Match.has($0, "--dry-run", "--help") }],
        rules: [
            PolicyRule(name: "unpublish", severity: .critical, reason: "Removing a published package breaks everyone who depends on it", alternative: "Deprecate it instead") {
                let verbs = Match.verbs($0, 2)
                return (["npm", "pnpm", "yarn"].contains($0.name) && verbs.first == "unpublish") || ($0.name == "gem" && verbs.first == "yank")
            },
            PolicyRule(name: "publish", severity: .high, reason: "Publishes a package to a public registry, which cannot be taken back cleanly",
                       alternative: "Publish with --dry-run first, and from CI") {
                let verbs = Match.verbs($0, 2)
                switch $0.name {
                case "npm", "pnpm", "yarn", "cargo", "poetry", "uv", "flit", "hatch": return verbs.first == "publish"
                case "twine": return verbs.first == "upload"
                case "gem": return verbs.first == "push"
                case "pod": return verbs == ["trunk", "push"]
                case "dotnet": return verbs == ["nuget", "push"]
                default: return false
                }
            },
            PolicyRule(name: "yank", severity: .medium, reason: "Yanking or deprecating a release affects its users", alternative: nil) {
                let verbs = Match.verbs($0, 1)
                return ($0.name == "cargo" && verbs == ["yank"]) || (["npm", "pnpm", "yarn"].contains($0.name) && verbs == ["deprecate"])
            },
            PolicyRule(name: "deploy", severity: .medium, reason: "Deploys artifacts to a repository", alternative: nil) {
                ($0.name == "mvn" && $0.args.contains("deploy")) || ($0.name == "gradle" && $0.args.contains { $0.hasPrefix("publish") })
            },
        ])
}
