import Foundation
@testable import Host
import HostTestSupport
import Testing

/// The bubblewrap sandbox beneath the guard, with the real `bwrap` (`.ci/run` installs it). The
/// folders live under `/var/tmp`, not `/tmp` (where the checkout itself may be): a sandbox gives
/// each command a private `/tmp`, so a write there would vanish rather than fail.
@Suite("command sandbox")
struct SandboxTests {
    static var scratch: URL { URL(fileURLWithPath: "/var/tmp") }

    struct Layout {
        let root: TemporaryDirectory
        var workspace: URL { root.file("workspace") }
        var outside: URL { root.file("outside") }
        var data: URL { root.file("data") }

        init() throws {
            root = try TemporaryDirectory("sandbox", under: SandboxTests.scratch)
            for folder in [workspace, outside, data] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
            try "secret".write(to: data.appendingPathComponent("secret.key"), atomically: true, encoding: .utf8)
        }
    }

    func sandbox(hiding hidden: [URL]) async throws -> Sandbox {
        let status = await Sandbox.probe(hiddenPaths: hidden)
        guard let sandbox = status.sandbox else {
            Issue.record("bubblewrap must work here (Debian package bubblewrap): \(status.summary)")
            throw CancellationError()
        }
        return sandbox
    }

    func run(_ command: String, _ layout: Layout, sandbox: Sandbox?, network: Bool = true) async throws -> CommandOutcome {
        try await CommandExecutor(sandbox: sandbox).run(CommandRunRequest(
            command: command, workingDirectory: layout.workspace, timeout: .seconds(30), writableRoot: layout.workspace, network: network)) { _ in }
    }

    @Test("a command the guard allows cannot write outside the workspace in the sandbox, and can with it off")
    func writesOutsideWorkspace() async throws {
        let layout = try Layout()
        defer { layout.root.remove() }
        let target = layout.outside.appendingPathComponent("escaped.txt").path
        let command = "python3 -c 'open(\"\(target)\", \"w\").write(\"x\")'"
        #expect(CommandPolicy().evaluate(command).verdict == .allow)

        let confined = try await run(command, layout, sandbox: try await sandbox(hiding: [layout.data]))
        #expect(confined.exitCode != 0)
        #expect(confined.stderrText.contains("Read-only file system"), "\(confined.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: target))

        let open = try await run(command, layout, sandbox: nil)
        #expect(open.exitCode == 0, "\(open.stderrText)")
        #expect(FileManager.default.fileExists(atPath: target))
    }

    @Test("inside the sandbox the workspace is writable and /tmp is private")
    func workspaceAndTemporary() async throws {
        let layout = try Layout()
        defer { layout.root.remove() }
        let marker = "flywheel-sandbox-\(UUID().uuidString)"
        let outcome = try await run("echo kept > made.txt && echo gone > /tmp/\(marker) && ls /tmp | wc -l", layout,
                                    sandbox: try await sandbox(hiding: [layout.data]))
        #expect(outcome.exitCode == 0, "\(outcome.stderrText)")
        #expect(outcome.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        #expect(try String(contentsOf: layout.workspace.appendingPathComponent("made.txt"), encoding: .utf8) == "kept\n")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(marker)"))
    }

    @Test("the gateway's data directory and plugin files are hidden from commands")
    func hiddenPaths() async throws {
        let layout = try Layout()
        defer { layout.root.remove() }
        let plugin = layout.root.file("libdriver.so")
        try "ELF".write(to: plugin, atomically: true, encoding: .utf8)
        let sandbox = try await sandbox(hiding: [layout.data, plugin])
        let listing = try await run("ls -A '\(layout.data.path)' | wc -l", layout, sandbox: sandbox)
        #expect(listing.exitCode == 0, "\(listing.stderrText)")
        #expect(listing.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        // A hidden file is covered by a device node the sandbox may not open.
        let read = try await run("cat '\(plugin.path)'", layout, sandbox: sandbox)
        #expect(read.exitCode != 0)
        #expect(read.stdoutText.isEmpty)
        #expect(read.stderrText.contains("Permission denied"), "\(read.stderrText)")
        let open = try await run("cat '\(layout.data.appendingPathComponent("secret.key").path)'", layout, sandbox: nil)
        #expect(open.stdoutText == "secret")
    }

    @Test("a workspace inside the hidden data directory (the default place) is still mounted and writable")
    func workspaceInsideDataDirectory() async throws {
        let layout = try Layout()
        defer { layout.root.remove() }
        let workspace = layout.data.appendingPathComponent("workspaces/agent")
        try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
        let outcome = try await CommandExecutor(sandbox: try await sandbox(hiding: [layout.data])).run(CommandRunRequest(
            command: "echo ok > out.txt && ls -A ../.. && cat ../../secret.key", workingDirectory: workspace, timeout: .seconds(30),
            writableRoot: workspace)) { _ in }
        #expect(try String(contentsOf: workspace.appendingPathComponent("out.txt"), encoding: .utf8) == "ok\n")
        #expect(outcome.stdoutText == "workspaces\n")
        #expect(outcome.exitCode != 0, "the key file is not there to read")
    }

    @Test("network off means no connection even to the host's loopback; on means the host's network")
    func network() async throws {
        let layout = try Layout()
        defer { layout.root.remove() }
        let listener = try LoopbackListener()
        defer { listener.close() }
        let sandbox = try await sandbox(hiding: [layout.data])
        let connect = "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", \(listener.port)), timeout=5); print(\"connected\")'"
        let on = try await run(connect, layout, sandbox: sandbox, network: true)
        #expect(on.stdoutText == "connected\n", "\(on.stderrText)")
        let off = try await run(connect, layout, sandbox: sandbox, network: false)
        #expect(off.exitCode != 0)
        #expect(off.stdoutText.isEmpty)
    }

    @Test("without bwrap the probe says so, and why, instead of failing commands later")
    func probeWithoutBubblewrap() async {
        let status = await Sandbox.probe(hiddenPaths: [], searchPath: "/nonexistent-flywheel-bin")
        #expect(status == .unavailable(reason: "bwrap (Debian package bubblewrap) is not installed"))
        #expect(status.sandbox == nil)
        #expect(status.summary.hasPrefix("commands run unconfined: "))
    }

    @Test("a timeout still kills everything the sandboxed command started")
    func timeoutKillsSandbox() async throws {
        let layout = try Layout()
        defer { layout.root.remove() }
        let outcome = try await CommandExecutor(sandbox: try await sandbox(hiding: [layout.data])).run(CommandRunRequest(
            command: "sleep 300 & sleep 300; echo never", workingDirectory: layout.workspace, timeout: .milliseconds(500),
            killGrace: .milliseconds(200), writableRoot: layout.workspace)) { _ in }
        #expect(outcome.timedOut)
        #expect(outcome.stdoutText.isEmpty)
        #expect(outcome.duration < .seconds(30))
    }
}
