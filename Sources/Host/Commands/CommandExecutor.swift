import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a command line with `/bin/sh -c` in its own process group, with a clean environment, stdin
/// from /dev/null, a timeout that kills the whole group, and capped, streamed output; inside a
/// bubblewrap ``Sandbox`` when it has one.
///
/// posix_spawn rather than Foundation's Process: it puts the child in a new process group atomically
/// (so a timeout or cancel reaches every process the command started) and sets its directory without
/// touching the host's own working directory.
public struct CommandExecutor: CommandRunning {
    /// The environment every command starts from; the host's own environment never leaks in.
    public static let baseEnvironment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "dumb"]

    /// The sandbox commands run in; nil: unconfined.
    public let sandbox: Sandbox?

    public init(sandbox: Sandbox? = nil) {
        self.sandbox = sandbox
    }

    public var sandboxed: Bool { sandbox != nil }

    public func run(_ request: CommandRunRequest, onOutput: @escaping @Sendable (CommandOutputChunk) async -> Void) async throws -> CommandOutcome {
        try FileManager.default.createDirectory(at: request.workingDirectory, withIntermediateDirectories: true)
        var environment = Self.baseEnvironment
        environment["HOME"] = request.workingDirectory.path
        for (name, value) in request.environment {
            guard Self.isValidName(name), !value.utf8.contains(0) else {
                throw CommandExecutionError(description: "invalid environment variable name '\(name)'")
            }
            environment[name] = value
        }
        let started = ContinuousClock.now
        let confinement = sandbox.map { sandbox in
            (executable: sandbox.executable,
             arguments: sandbox.arguments(command: request.command, directory: request.workingDirectory.path,
                                          writableRoot: (request.writableRoot ?? request.workingDirectory).standardizedFileURL.path,
                                          network: request.network))
        }
        let child = try SpawnedProcess.spawn(command: request.command, directory: request.workingDirectory.path, environment: environment,
                                             sandbox: confinement)
        let events = child.events()

        return try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: CommandOutcome?.self) { group in
                group.addTask {
                    var outcome = CommandOutcome(exitCode: nil, signal: nil, timedOut: false, stdout: [], stderr: [], truncated: false, duration: .zero)
                    // Output is handed on in whole characters: a chunk never ends inside one.
                    var boundaries: [CommandOutputChunk.Stream: UTF8Boundary] = [.stdout: UTF8Boundary(), .stderr: UTF8Boundary()]
                    for await event in events {
                        switch event {
                        case .output(let chunk):
                            let kept = chunk.stream == .stdout ? outcome.stdout.count : outcome.stderr.count
                            let room = max(0, request.outputLimit - kept)
                            if chunk.bytes.count > room { outcome.truncated = true }
                            let slice = Array(chunk.bytes.prefix(room))
                            if chunk.stream == .stdout { outcome.stdout += slice } else { outcome.stderr += slice }
                            let whole = boundaries[chunk.stream, default: UTF8Boundary()].take(slice)
                            if !whole.isEmpty { await onOutput(CommandOutputChunk(stream: chunk.stream, bytes: whole)) }
                        case .exited(let code, let signal):
                            outcome.exitCode = code
                            outcome.signal = signal
                        }
                    }
                    for stream in [CommandOutputChunk.Stream.stdout, .stderr] {
                        let rest = boundaries[stream, default: UTF8Boundary()].flush()
                        if !rest.isEmpty { await onOutput(CommandOutputChunk(stream: stream, bytes: rest)) }
                    }
                    return outcome
                }
                group.addTask {
                    try await Task.sleep(for: request.timeout)
                    return nil
                }
                var timedOut = false
                while let result = try await group.next() {
                    if var outcome = result {
                        group.cancelAll()
                        outcome.timedOut = timedOut
                        outcome.duration = ContinuousClock.now - started
                        return outcome
                    }
                    // The timeout fired: stop the whole group, politely first.
                    timedOut = true
                    child.signalGroup(SIGTERM)
                    group.addTask {
                        try await Task.sleep(for: request.killGrace)
                        child.signalGroup(SIGKILL)
                        return nil
                    }
                }
                throw CommandExecutionError(description: "the command's output ended without an exit status")
            }
        } onCancel: {
            child.signalGroup(SIGKILL)
        }
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, ShellParser.isNameStart(first) else { return false }
        return name.utf8.allSatisfy { ShellParser.isNameStart($0) || (48...57).contains($0) }
    }
}
