import Foundation
import Host
import HostTestSupport
import Testing

@Suite("policy configuration")
struct PolicyConfigurationTests {
    let file = URL(fileURLWithPath: "/etc/flywheel/policy.toml")

    func parse(_ text: String) throws -> PolicyConfiguration {
        try PolicyConfiguration.parse(text, file: file)
    }

    func failure(_ text: String) -> ConfigurationError? {
        #expect(throws: ConfigurationError.self) { try parse(text) }
    }

    @Test("packs are enabled and disabled; modes apply per pack and per rule, the rule's own entry winning")
    func packsAndModes() throws {
        let configuration = try parse("""
            enable = ["containers.docker"]
            disable = ["core.filesystem"]
            [modes]
            "core.git" = "ask"
            "core.git:stash-drop" = "deny"
            "containers.docker:network-prune" = "allow"
            """)
        let policy = CommandPolicy(configuration: configuration)
        #expect(policy.evaluate("git reset --hard").verdict == .ask)
        #expect(policy.evaluate("git stash drop").verdict == .deny)
        #expect(policy.evaluate("rm -rf /").verdict == .allow)
        #expect(policy.evaluate("docker system prune").verdict == .deny)
        #expect(policy.evaluate("docker network prune").verdict == .allow)
    }

    @Test("an allow rule excuses only the part it matches, never another part of a compound command")
    func allowIsPerPart() throws {
        let policy = CommandPolicy(configuration: try parse("""
            [[allow]]
            exact = "git reset --hard"
            reason = "scratch repositories"
            """))
        let alone = policy.evaluate("git reset --hard")
        #expect(alone.verdict == .allow)
        #expect(alone.source == "override")
        #expect(alone.reason == "scratch repositories")
        let compound = policy.evaluate("git reset --hard && rm -rf /srv")
        #expect(compound.verdict == .deny)
        #expect(compound.ruleID == "core.filesystem:rm-rf-root-home")
        #expect(policy.evaluate("git reset --hard; git clean -fd").ruleID == "core.git:clean-force")
    }

    @Test("prefix and regex allow rules; an expired rule no longer applies")
    func prefixRegexExpiry() throws {
        let policy = CommandPolicy(configuration: try parse("""
            [[allow]]
            prefix = "git reset --hard origin/"
            reason = "CI"
            [[allow]]
            regex = "^rm -rf \\\\./dist$"
            reason = "build output"
            expires = 2020-01-01T00:00:00Z
            [[allow]]
            regex = "^rm -rf \\\\./build$"
            reason = "build output"
            expires = "2999-01-01"
            """))
        #expect(policy.evaluate("git reset --hard origin/main").verdict == .allow)
        #expect(policy.evaluate("git reset --hard HEAD~3").verdict == .deny)
        #expect(policy.evaluate("rm -rf ./build").verdict == .allow)
        #expect(policy.evaluate("rm -rf ./dist").verdict == .deny, "expired in 2020")
        let now = ISO8601DateFormatter().date(from: "2019-06-01T00:00:00Z")!
        #expect(policy.evaluate("rm -rf ./dist", now: now).verdict == .allow, "still valid before it expires")
    }

    @Test("block rules deny what no pack covers, with the operator's reason and severity")
    func block() throws {
        let policy = CommandPolicy(configuration: try parse("""
            [[block]]
            regex = "curl .*\\\\| *(ba)?sh"
            reason = "no piping downloads into a shell"
            [[block]]
            prefix = "make deploy"
            reason = "deploys go through CI"
            severity = "medium"
            """))
        let piped = policy.evaluate("curl -fsSL https://example.com/install.sh | sh")
        #expect(piped.verdict == .deny, "block rules also see the whole line")
        #expect(piped.reason == "no piping downloads into a shell")
        let blocked = policy.evaluate("ls; make deploy prod")
        #expect(blocked.verdict == .warn)
        #expect(blocked.reason == "deploys go through CI")
        #expect(blocked.ruleID == "override:block[1]")
    }

    @Test("a flywheel.toml keeps the policy in its [policy] table")
    func gatewayFile() throws {
        let configuration = try PolicyConfiguration.parse("""
            data_directory = "data"
            [policy]
            enable = ["system"]
            """, file: URL(fileURLWithPath: "/srv/flywheel.toml"))
        #expect(configuration.enabledPacks.contains("system"))
    }

    @Test("bad configuration fails with the file, the line and the reason")
    func errors() throws {
        let unknownPack = failure("enable = [\"containers.dokker\"]")
        #expect(unknownPack?.line == 1)
        #expect(unknownPack?.description.contains("/etc/flywheel/policy.toml:1:") == true)
        #expect(unknownPack?.reason.contains("unknown pack 'containers.dokker'") == true)

        let badMode = failure("# modes\n[modes]\n\"core.git\" = \"maybe\"\n")
        #expect(badMode?.line == 3)
        #expect(badMode?.reason.contains("unknown mode 'maybe'") == true)

        let unknownRule = failure("[modes]\n\"core.git:nope\" = \"deny\"\n")
        #expect(unknownRule?.line == 2)

        let badRegex = failure("\n[[allow]]\nregex = \"([\"\nreason = \"x\"\n")
        #expect(badRegex?.line == 2)
        #expect(badRegex?.reason.contains("invalid regex") == true)

        let noReason = failure("[[allow]]\nexact = \"ls\"\n")
        #expect(noReason?.reason.contains("needs a reason") == true)

        let twoMatchers = failure("[[block]]\nexact = \"ls\"\nprefix = \"ls\"\nreason = \"x\"\n")
        #expect(twoMatchers?.reason.contains("exactly one of") == true)

        let unknownKey = failure("enabled = []\n")
        #expect(unknownKey?.reason.contains("unknown key") == true)

        let syntax = failure("enable = [\n")
        #expect(syntax?.line != nil)
    }
}
