import Foundation

/// Runs a program to completion and captures what it printed.
public struct ProcessOutput: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

public enum ProcessRunner {
    /// Runs `executable` with `arguments`, feeding `input` on standard input.
    public static func run(
        _ executable: URL, _ arguments: [String], input: String? = nil, currentDirectory: URL? = nil,
        environment: [String: String]? = nil, timeout: TimeInterval? = nil
    ) throws -> ProcessOutput {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        if let environment { process.environment = environment }
        let stdout = Pipe(), stderr = Pipe(), stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        try process.run()
        // Read both pipes while the process runs so a chatty child never blocks on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data(), errData = Data()
        DispatchQueue.global().async(group: group) { outData = stdout.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { errData = stderr.fileHandleForReading.readDataToEndOfFile() }
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try? stdin.fileHandleForWriting.close()
        // A program that hangs fails its test instead of hanging the suite: killed, its output kept.
        if let timeout {
            let pid = process.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [weak process] in
                if process?.isRunning == true { kill(pid, SIGKILL) }
            }
        }
        process.waitUntilExit()
        group.wait()
        return ProcessOutput(status: process.terminationStatus,
                             stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs a command found on PATH.
    public static func run(command: String, _ arguments: [String], currentDirectory: URL? = nil) throws -> ProcessOutput {
        try run(URL(fileURLWithPath: "/usr/bin/env"), [command] + arguments, currentDirectory: currentDirectory)
    }
}

extension ProcessRunner {
    /// `run`, waited for from async code without holding one of Swift's cooperative threads while
    /// the program runs (the server under test may need them).
    public static func runDetached(_ executable: URL, _ arguments: [String], input: String? = nil,
                                   environment: [String: String]? = nil, timeout: TimeInterval = 120) async throws -> ProcessOutput {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try run(executable, arguments, input: input, environment: environment, timeout: timeout) })
            }
        }
    }
}
