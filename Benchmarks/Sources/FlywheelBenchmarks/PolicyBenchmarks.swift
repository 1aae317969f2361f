import Foundation
import Host

/// Per-check latency of the command policy, in-process, on one core.
enum PolicyBenchmarks {
    static func run() {
        print("== command policy (one thread)")
        let policy = CommandPolicy()
        let heredoc = "cat > notes.md <<'EOF'\n" + String(repeating: "Lorem ipsum dolor sit amet, rm -rf is dangerous; git reset too.\n", count: 64) + "EOF"
        let cases: [(String, String, String)] = [
            ("no keyword: ls -la", "ls -la", "< 2 µs median"),
            ("git: git reset --hard HEAD~1", "git reset --hard HEAD~1", "< 20 µs median"),
            ("git: git status", "git status", "< 20 µs median"),
            ("rm: rm -rf /tmp/build", "rm -rf /tmp/build", "< 20 µs median"),
            ("compound: cd src && make && git push -f origin main | tee log", "cd src && make && git push -f origin main | tee log", "< 20 µs median"),
            ("4 KB heredoc to cat (\(heredoc.utf8.count) bytes)", heredoc, "< 200 µs median"),
            ("4 KB heredoc to bash", heredoc.replacingOccurrences(of: "cat > notes.md", with: "bash"), "< 200 µs median"),
        ]
        // FLYWHEEL_BENCH_ONLY=text runs only the cases whose name contains it (for profiling one).
        let only = ProcessInfo.processInfo.environment["FLYWHEEL_BENCH_ONLY"]
        for (name, command, target) in cases where only.map(name.contains) ?? true {
            var samples: [UInt64] = []
            let scale = Int(ProcessInfo.processInfo.environment["FLYWHEEL_BENCH_SCALE"] ?? "") ?? 1
            let iterations = (command.utf8.count > 1000 ? 5_000 : 50_000) / max(1, scale)
            samples.reserveCapacity(iterations)
            var verdicts = 0
            for _ in 0..<200 { verdicts &+= policy.evaluate(command).matches.count }
            let started = BenchmarkSupport.now()
            for _ in 0..<iterations {
                let start = BenchmarkSupport.now()
                verdicts &+= policy.evaluate(command).matches.count
                samples.append(BenchmarkSupport.now() - start)
            }
            let total = Double(BenchmarkSupport.now() - started)
            samples.sort()
            let median = Double(samples[samples.count / 2])
            let p99 = Double(samples[samples.count * 99 / 100])
            BenchmarkSupport.figure(
                name,
                "median \(BenchmarkSupport.format(nanoseconds: median)), p99 \(BenchmarkSupport.format(nanoseconds: p99)), \(Int(Double(iterations) / total * 1e9)) checks/s",
                target: target)
            if verdicts < 0 { print(verdicts) }
        }
    }
}
