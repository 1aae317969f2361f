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
            // A generous budget: these tests are about reading hostile input right, not its speed.
            group.addTask { policy.evaluate(command, budget: .seconds(15)) }
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

    /// Hostile inputs an agent can be made to write, as families that grow with `size`.
    static let families: [(String, @Sendable (Int) -> String)] = [
        ("bash -c \"$(…)\" nested 22 deep, repeated", { size in
            Array(repeating: nested("bash -c \"$(", ")\"", inner: "rm -rf /home", depth: 22), count: size).joined(separator: "; ")
        }),
        ("eval \"$(…)\" nested 20 deep, repeated", { size in
            Array(repeating: nested("eval \"$(", ")\"", inner: "echo x", depth: 20), count: size).joined(separator: "; ")
        }),
        ("python3 -c with unclosed os.system(", { size in "python3 -c \"" + String(repeating: "os.system(", count: size * 100) + "\"" }),
        ("node -e with unclosed exec(", { size in "node -e \"" + String(repeating: "exec(", count: size * 100) + "\"" }),
        ("${x:-…} nested 40 deep, repeated", { size in
            "echo " + Array(repeating: nested("${x:-", "}", inner: "$(ls)", depth: 40), count: size).joined(separator: " ")
        }),
        ("heredoc body of substitutions", { size in
            "cat <<EOF\n" + String(repeating: "line $(echo a) `echo b` ${c:-d}\n", count: size * 20) + "EOF"
        }),
        ("programs known only at run time", { size in Array(repeating: "$X -rf ./build", count: size).joined(separator: "; ") }),
        ("brace patterns", { size in Array(repeating: "echo {a,b}{c,d}{e,f}{g,h}", count: size * 10).joined(separator: "; ") }),
    ]

    static func nested(_ open: String, _ close: String, inner: String, depth: Int) -> String {
        String(repeating: open, count: depth) + inner + String(repeating: close, count: depth)
    }

    /// CPU time this thread spent in `body`, in nanoseconds: unlike the wall clock, other tests
    /// running at the same time do not count.
    static func cpuTime(_ body: () -> Void) -> Double {
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start)
        body()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end)
        return Double(end.tv_sec - start.tv_sec) * 1e9 + Double(end.tv_nsec - start.tv_nsec)
    }

    @Test("decision time grows linearly with hostile nesting and repetition (eight times the input: well under 64 times the time)",
          arguments: families.map(\.0))
    func linearGrowth(_ name: String) throws {
        let family = try #require(Self.families.first { $0.0 == name }?.1)
        let small = family(8), large = family(64)
        #expect(large.utf8.count < CommandPolicy.maxInputBytes)
        // A generous budget: this test measures growth, not speed.
        let decide = { (command: String) in _ = policy.evaluate(command, budget: .seconds(60)) }
        decide(small)
        let smallTime = (0..<3).map { _ in Self.cpuTime { decide(small) } }.sorted()[1]
        let largeTime = (0..<3).map { _ in Self.cpuTime { decide(large) } }.sorted()[1]
        let ratio = largeTime / max(smallTime, 1)
        // Linear is 8; quadratic would be 64.
        #expect(ratio < 24, "\(name): \(Int(smallTime / 1000)) µs -> \(Int(largeTime / 1000)) µs, ratio \(ratio)")
    }

    @Test("past its time budget a check is refused as too slow, never allowed")
    func budget() {
        let command = String(repeating: "echo \"$(ls)\"; ", count: 20_000) + "echo done"
        let decision = policy.evaluate(command, budget: .microseconds(1))
        #expect(decision.verdict == .deny)
        #expect(decision.ruleID == "dcg:too-slow")
    }
}
