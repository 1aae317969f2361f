import Foundation
import Host
import Testing

/// Hostile input: every case returns a decision quickly and never crashes or hangs.
@Suite("hostile input")
struct HostileInputTests {
    let policy = CommandPolicy()

    /// Runs a decision on a background thread with a generous deadline, so a hang fails the test
    /// instead of stalling the suite.
    func decide(_ command: String) async throws -> PolicyDecision {
        try await withThrowingTaskGroup(of: PolicyDecision?.self) { group in
            group.addTask { policy.evaluate(command) }
            group.addTask {
                try await Task.sleep(for: .seconds(20))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return try #require(first, "no decision within 20 s")
        }
    }

    @Test("a 1 MB harmless command is allowed")
    func largeHarmless() async throws {
        let command = "echo " + String(repeating: "a", count: 1_000_000)
        #expect(try await decide(command).verdict == .allow)
    }

    @Test("a 1 MB command with a destructive part at the end is denied")
    func largeDangerous() async throws {
        let command = "echo '" + String(repeating: "x ", count: 499_000) + "'; git reset --hard"
        #expect(try await decide(command).ruleID == "core.git:reset-hard")
    }

    @Test("many small parts")
    func manyParts() async throws {
        let command = Array(repeating: "ls -la", count: 60_000).joined(separator: "; ") + "; git reset --hard"
        let decision = try await decide(command)
        #expect(decision.verdict == .deny)
    }

    @Test("over 1 MiB is denied unread")
    func tooLarge() async throws {
        let decision = try await decide(String(repeating: "a", count: CommandPolicy.maxInputBytes + 1))
        #expect(decision.ruleID == "dcg:input-too-large")
    }

    @Test("deep nesting of substitutions is refused as too complex", arguments: [
        String(repeating: "$(", count: 5_000) + "ls" + String(repeating: ")", count: 5_000),
        String(repeating: "bash -c \"", count: 200) + "ls",
        String(repeating: "(", count: 100_000) + "git reset --hard" + String(repeating: ")", count: 100_000),
        String(repeating: "`echo ", count: 3_000),
    ])
    func deepNesting(_ command: String) async throws {
        let decision = try await decide(command)
        #expect(decision.verdict == .deny || decision.verdict == .allow)
        if command.hasPrefix("$(") { #expect(decision.ruleID == "dcg:too-complex") }
        if command.hasPrefix("((") { #expect(decision.ruleID == "core.git:reset-hard") }
    }

    @Test("a NUL byte is refused: the shell could not be given the same command")
    func nulByte() async throws {
        #expect(try await decide("echo ok\u{0}; git reset --hard").ruleID == "dcg:nul-byte")
        #expect(try await decide("ls\u{0}").verdict == .deny)
    }

    @Test("invalid UTF-8 is judged after replacement")
    func invalidUTF8() {
        let bytes: [UInt8] = Array("git reset --hard ".utf8) + [0xFF, 0xFE, 0xC0]
        #expect(policy.evaluate(bytes: bytes).ruleID == "core.git:reset-hard")
        #expect(policy.evaluate(bytes: [0x6C, 0x73, 0xFF]).verdict == .allow)
    }

    @Test("unterminated quotes and heredocs still get a decision", arguments: [
        ("echo 'unterminated", PolicyVerdict.allow), ("git reset --hard \"unterminated", .deny), ("bash -c 'git reset --hard", .deny),
        ("cat <<EOF\nrm -rf /", .allow), ("sh <<EOF\nrm -rf /", .deny), ("echo $(git reset --hard", .deny), ("echo `git reset --hard", .deny),
        ("echo ${unterminated", .allow), ("$'\\x", .allow),
    ])
    func unterminated(_ command: String, _ verdict: PolicyVerdict) async throws {
        #expect(try await decide(command).verdict == verdict, "\(command)")
    }

    @Test("pathological repetition stays fast", arguments: [
        String(repeating: "git ", count: 100_000), String(repeating: "-rf ", count: 100_000), String(repeating: "'a'", count: 200_000),
        String(repeating: "\\", count: 500_000), String(repeating: "<<EOF ", count: 50_000), String(repeating: "$", count: 500_000),
    ])
    func repetition(_ command: String) async throws {
        _ = try await decide(command)
    }
}
