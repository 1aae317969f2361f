import Foundation
import Host
import TOMLKit

/// The guard as agents meet it: the mean over the whole development corpus (and the same cases
/// through the Python guard claude-safety-guard, when it is installed, for the ratio), the cost of
/// `flywheel dcg check --stdin --jsonl` per line beyond the check, and `flywheel dcg hook` as a whole
/// process. Run from a release build: `swift run -c release FlywheelBenchmarks guard`.
enum GuardBenchmarks {
    static var corpusDirectory: URL {
        BenchmarkSupport.repositoryRoot.appendingPathComponent("Tests/PolicyTests/Fixtures/dcg-corpus")
    }

    /// Every command of the corpus, in file order.
    static func corpusCommands() throws -> [String] {
        var commands: [String] = []
        let files = FileManager.default.enumerator(at: corpusDirectory, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "toml" }.sorted { $0.path < $1.path } ?? []
        for file in files {
            let table = try TOMLTable(string: String(contentsOf: file, encoding: .utf8))
            for item in table["case"]?.array ?? TOMLArray() {
                if let command = item.table?["command"]?.string { commands.append(command) }
            }
        }
        return commands
    }

    /// Every corpus case checked once after a warm-up pass, nothing else (see main.swift). Under
    /// callgrind, collect only the second pass (the first pays for one-time type metadata):
    /// `valgrind --tool=callgrind --toggle-collect='*measuredPass*' FlywheelBenchmarks corpus-pass`
    /// (strip the binary's debug information first if valgrind cannot read it).
    static func onePass() throws {
        let policy = CommandPolicy()
        let commands = try corpusCommands()
        var verdicts = 0
        for command in commands { verdicts &+= policy.evaluate(command).matches.count }
        verdicts &+= measuredPass(policy, commands)
        print("corpus-pass: \(verdicts) matches")
    }

    @inline(never)
    static func measuredPass(_ policy: CommandPolicy, _ commands: [String]) -> Int {
        var verdicts = 0
        for command in commands { verdicts &+= policy.evaluate(command).matches.count }
        return verdicts
    }

    static func run() throws {
        print("== command guard as agents meet it")
        let commands = try corpusCommands()
        let policy = CommandPolicy()
        // Mean over the whole corpus: every case once per round, 200 rounds.
        var sink = 0
        for command in commands { sink &+= policy.evaluate(command).matches.count }
        let rounds = 200
        let start = BenchmarkSupport.now()
        for _ in 0..<rounds {
            for command in commands { sink &+= policy.evaluate(command).matches.count }
        }
        let mean = Double(BenchmarkSupport.now() - start) / Double(rounds * commands.count)
        BenchmarkSupport.figure("mean over the dev corpus (\(commands.count) cases)", BenchmarkSupport.format(nanoseconds: mean), target: "<= 3 µs")
        if let python = try pythonGuardMean(commands) {
            BenchmarkSupport.figure("claude-safety-guard (Python) on the same cases", BenchmarkSupport.format(nanoseconds: python),
                                    target: "ratio \(String(format: "%.0f", python / mean))x slower than ours")
        } else {
            print("   (claude-safety-guard is not installed: pip install claude-safety-guard for the ratio)")
        }
        let worst = commands.map { command -> (Double, String) in
            let begin = BenchmarkSupport.now()
            for _ in 0..<20 { sink &+= policy.evaluate(command).matches.count }
            return (Double(BenchmarkSupport.now() - begin) / 20, command)
        }.sorted { $0.0 > $1.0 }.prefix(3)
        for (time, command) in worst {
            BenchmarkSupport.figure("slowest: \(command.prefix(50).replacingOccurrences(of: "\n", with: "⏎"))", BenchmarkSupport.format(nanoseconds: time))
        }

        let flywheel = BenchmarkSupport.repositoryRoot.appendingPathComponent(".build/release/flywheel")
        guard FileManager.default.isExecutableFile(atPath: flywheel.path) else {
            print("   (build the gateway first for the process figures: swift build -c release in the repository)")
            return
        }
        try jsonlOverhead(flywheel, policy: policy)
        try hookProcess(flywheel)
        if sink < 0 { print(sink) }
    }

    /// The Python guard's mean per case, measured in its own process on the same commands.
    static func pythonGuardMean(_ commands: [String]) throws -> Double? {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("flywheel-corpus-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try JSONSerialization.data(withJSONObject: commands).write(to: file)
        let script = """
            import json, sys, time
            try:
                from claude_safety_guard import evaluate
            except ImportError:
                print("missing"); sys.exit(0)
            commands = json.load(open(sys.argv[1]))
            for c in commands: evaluate(c)
            rounds = 20
            start = time.perf_counter_ns()
            for _ in range(rounds):
                for c in commands: evaluate(c)
            print((time.perf_counter_ns() - start) / (rounds * len(commands)))
            """
        let output = try capture(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, file.path], input: nil)
        return Double(output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `dcg check --stdin --jsonl` on 70,000 lines: its time per line, less the check itself.
    static func jsonlOverhead(_ flywheel: URL, policy: CommandPolicy) throws {
        let command = "ls -la /tmp"
        let lines = 70_000
        let input = String(repeating: #"{"command":"ls -la /tmp"}"# + "\n", count: lines)
        var checks = 0
        let checkStart = BenchmarkSupport.now()
        for _ in 0..<lines { checks &+= policy.evaluate(command).matches.count }
        let perCheck = Double(BenchmarkSupport.now() - checkStart) / Double(lines)
        var runs: [Double] = []
        for _ in 0..<3 {
            let start = BenchmarkSupport.now()
            _ = try capture(flywheel, ["dcg", "check", "--stdin", "--jsonl"], input: input)
            runs.append(Double(BenchmarkSupport.now() - start))
        }
        let wall = runs.sorted()[1]
        let overhead = wall / Double(lines) - perCheck
        BenchmarkSupport.figure("dcg check --stdin --jsonl, \(lines) lines", String(format: "%.2f s, %@ per line beyond the check", wall / 1e9,
                                BenchmarkSupport.format(nanoseconds: overhead)), target: "<= 3 µs per line")
        if checks < 0 { print(checks) }
    }

    /// The hook started for one Bash call, as Claude Code starts it before every tool call: the lean
    /// `flywheel-guard hook` and, for comparison, `flywheel dcg hook`. Spawned with posix_spawn,
    /// stdin from a file and stdout to /dev/null, so the figure is the process, not the harness.
    static func hookProcess(_ flywheel: URL) throws {
        let call = FileManager.default.temporaryDirectory.appendingPathComponent("flywheel-hook-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: call) }
        try Data(#"{"tool_name":"Bash","tool_input":{"command":"git status"}}"#.utf8).write(to: call)
        let guardExecutable = flywheel.deletingLastPathComponent().appendingPathComponent("flywheel-guard")
        for (executable, arguments, target) in [(guardExecutable, ["hook"], "<= 8 ms"), (flywheel, ["dcg", "hook"], nil)] {
            guard FileManager.default.isExecutableFile(atPath: executable.path) else { continue }
            var samples: [Double] = []
            for round in 0..<45 {
                let start = BenchmarkSupport.now()
                try spawnAndWait(executable, arguments, stdin: call.path)
                if round >= 5 { samples.append(Double(BenchmarkSupport.now() - start)) }
            }
            samples.sort()
            BenchmarkSupport.figure("hook, whole process: \(([executable.lastPathComponent] + arguments).joined(separator: " "))",
                                    "median \(BenchmarkSupport.format(nanoseconds: samples[samples.count / 2]))", target: target)
        }
    }

    static func spawnAndWait(_ executable: URL, _ arguments: [String], stdin: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable.path, &actions, nil, argv, environ)
        guard status == 0 else { throw CocoaError(.executableLoad) }
        var exit: Int32 = 0
        while waitpid(pid, &exit, 0) < 0 && errno == EINTR {}
    }

    static func capture(_ executable: URL, _ arguments: [String], input: String?) throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe(), stdin = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = stdin
        try process.run()
        let writer = Thread {
            if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
