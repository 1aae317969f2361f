import Foundation
@testable import Host
import HostTestSupport
import Synchronization
import Testing

@Suite("command executor")
struct CommandExecutorTests {
    let executor = CommandExecutor()

    func run(_ command: String, in folder: TemporaryDirectory, timeout: Duration = .seconds(20), limit: Int = 1 << 20,
             environment: [String: String] = [:]) async throws -> CommandOutcome {
        try await executor.run(CommandRunRequest(command: command, workingDirectory: folder.url, environment: environment,
                                                 timeout: timeout, outputLimit: limit, killGrace: .milliseconds(500))) { _ in }
    }

    @Test("exit status, stdout and stderr apart")
    func basics() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let outcome = try await run("echo out; echo err >&2; exit 7", in: folder)
        #expect(outcome.exitCode == 7)
        #expect(outcome.stdoutText == "out\n")
        #expect(outcome.stderrText == "err\n")
        #expect(!outcome.timedOut && !outcome.truncated)
    }

    @Test("output is streamed while the command runs")
    func streaming() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        // The command waits for a file that the test creates only after it has received the first
        // chunk: it can finish only if output reaches the caller while it is still running.
        let go = folder.file("go")
        let chunks = Mutex<[String]>([])
        let outcome = try await executor.run(CommandRunRequest(
            command: "echo first; while [ ! -f go ]; do sleep 0.05; done; echo second", workingDirectory: folder.url,
            timeout: .seconds(30))) { chunk in
            let text = String(decoding: chunk.bytes, as: UTF8.self)
            chunks.withLock { $0.append(text) }
            if text.contains("first") { FileManager.default.createFile(atPath: go.path, contents: Data()) }
        }
        #expect(!outcome.timedOut, "the first chunk never arrived while the command ran")
        #expect(outcome.exitCode == 0)
        #expect(chunks.withLock { $0.joined() } == "first\nsecond\n")
    }

    @Test("a timeout kills the whole process group, children included")
    func timeout() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let outcome = try await run("sleep 30 & echo $! > child.pid; wait", in: folder, timeout: .milliseconds(500))
        #expect(outcome.timedOut)
        #expect(outcome.exitCode == nil)
        // Far below the child's 30 seconds: the timeout ended it (a generous bound for slow machines).
        #expect(outcome.duration < .seconds(25))
        let pid = try #require(Int32(String(contentsOf: folder.file("child.pid"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        try await Task.sleep(for: .milliseconds(200))
        #expect(Self.isGone(pid), "the background child is gone too")
    }

    @Test("output past the cap is read and dropped, and says so")
    func cap() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let outcome = try await run("head -c 5000000 /dev/zero | tr '\\0' y", in: folder, limit: 10_000)
        #expect(outcome.exitCode == 0)
        #expect(outcome.stdout.count == 10_000)
        #expect(outcome.truncated)
    }

    @Test("a clean environment: nothing of the host's, plus what the agent adds")
    func environment() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        setenv("FLYWHEEL_TEST_HOST_SECRET", "leak", 1)
        let outcome = try await run("env", in: folder, environment: ["AGENT_VAR": "1"])
        #expect(!outcome.stdoutText.contains("FLYWHEEL_TEST_HOST_SECRET"))
        #expect(outcome.stdoutText.contains("AGENT_VAR=1"))
        #expect(outcome.stdoutText.contains("HOME=\(folder.url.path)"))
        #expect(outcome.stdoutText.contains("PATH=/usr/local/bin:/usr/bin:/bin"))
        await #expect(throws: CommandExecutionError.self) { _ = try await run("true", in: folder, environment: ["BAD=NAME": "x"]) }
    }

    @Test("the working directory is created if missing and left in place; stdin is empty")
    func workspace() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let nested = folder.url.appendingPathComponent("a/b/c")
        let outcome = try await executor.run(CommandRunRequest(command: "pwd; cat; echo done", workingDirectory: nested)) { _ in }
        #expect(outcome.stdoutText == "\(nested.path)\ndone\n")
        #expect(FileManager.default.fileExists(atPath: nested.path))
    }

    @Test("invalid UTF-8 output is kept as bytes and replaced in the text")
    func invalidUTF8() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let outcome = try await run("printf 'a\\377b'", in: folder)
        #expect(outcome.stdout == [0x61, 0xFF, 0x62])
        #expect(outcome.stdoutText == "a\u{FFFD}b")
    }

    @Test("cancelling the task kills the command")
    func cancellation() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let executor = self.executor
        let url = folder.url
        let task = Task {
            try await executor.run(CommandRunRequest(command: "echo $$ > shell.pid; exec sleep 30", workingDirectory: url)) { _ in }
        }
        // Cancel once the command is surely running (it has written its pid), however slow the machine.
        func writtenPID() -> Int32? {
            (try? String(contentsOf: folder.file("shell.pid"), encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while writtenPID() == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        task.cancel()
        _ = try? await task.value
        let pid = try #require(writtenPID())
        try await Task.sleep(for: .milliseconds(200))
        #expect(Self.isGone(pid))
    }

    /// Dead: no such process, or a zombie waiting for whoever adopted it to reap it.
    @Test("a daemonised grandchild that keeps the output pipes open does not keep the command from ending")
    func daemonHoldingPipes() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        // setsid puts the sleeper in a session of its own, out of reach of the group kill; it
        // inherits stdout and stderr and holds them open for ten minutes.
        let finished = try await run("setsid sleep 600 & echo $! > daemon.pid; echo done", in: folder)
        #expect(finished.exitCode == 0)
        #expect(finished.stdoutText == "done\n")
        let timedOut = try await run("setsid sleep 600 & echo $! >> daemon.pid; sleep 600", in: folder, timeout: .milliseconds(300))
        #expect(timedOut.timedOut)
        for line in try String(contentsOf: folder.file("daemon.pid"), encoding: .utf8).split(separator: "\n") {
            if let pid = Int32(line) { kill(pid, SIGKILL) }
        }
    }

    @Test("streamed output is split only between characters")
    func utf8Boundaries() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        // 3-byte characters in 64 KiB reads: most reads end inside a character.
        let chunks = Mutex<[[UInt8]]>([])
        let outcome = try await executor.run(CommandRunRequest(
            command: "i=0; while [ $i -lt 20 ]; do printf '€%.0s' $(seq 1 5000); i=$((i+1)); done", workingDirectory: folder.url,
            timeout: .seconds(60))) { chunk in
            chunks.withLock { $0.append(chunk.bytes) }
        }
        #expect(outcome.exitCode == 0)
        let all = chunks.withLock { $0 }
        #expect(all.count > 1)
        #expect(all.allSatisfy { String(validating: $0, as: UTF8.self) != nil }, "a chunk ended inside a character")
        #expect(all.reduce(0) { $0 + $1.count } == 3 * 100_000)
    }

    static func isGone(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        guard let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(close, offsetBy: 2)] == "Z"
    }
}

@Suite("UTF-8 boundaries")
struct UTF8BoundaryTests {
    @Test("an unfinished character is held back until its last byte arrives")
    func holdsBack() {
        var boundary = UTF8Boundary()
        let euro: [UInt8] = [0xE2, 0x82, 0xAC]
        #expect(boundary.take([0x61, euro[0]]) == [0x61])
        #expect(boundary.take([euro[1]]) == [])
        #expect(boundary.take([euro[2], 0x62]) == euro + [0x62])
        #expect(boundary.take([0xF0, 0x9F]) == [])
        #expect(boundary.flush() == [0xF0, 0x9F])
        #expect(UTF8Boundary.completeLength([0x80, 0x80, 0x80, 0x80]) == 4, "stray continuation bytes are passed on")
    }
}
