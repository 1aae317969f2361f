import ArgumentParser
import Foundation
import Host

/// A Claude Code `PreToolUse` hook, so CLI agents under the tmux driver are guarded too. The answer
/// is ``GuardHook``'s; `flywheel-guard hook` gives the same answer from a smaller executable that
/// starts faster (it runs before every tool call).
struct DCGHookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hook",
        abstract: "Answer a Claude Code PreToolUse hook call read from standard input.",
        discussion: """
            Allowed: no output, exit 0. Denied or held: a hookSpecificOutput deny or ask with the reason. Malformed input or \
            an unusable policy file: a message on stderr and exit 2 (blocks). The policy is read from --config or \
            FLYWHEEL_DCG_CONFIG (absolute paths), /etc/flywheel or ~/.config/flywheel; never from the working directory. \
            flywheel-guard hook answers the same, starting faster.
            """)

    @Option(name: .long, help: "The policy file, by absolute path (else FLYWHEEL_DCG_CONFIG, /etc/flywheel, ~/.config/flywheel).")
    var config: String?

    func run() throws {
        let answer = GuardHook.answer(input: Array(FileHandle.standardInput.readDataToEndOfFile()), explicitConfig: config,
                                      environment: ProcessInfo.processInfo.environment)
        if let output = answer.output { print(output) }
        if let error = answer.error { FileHandle.standardError.write(Data((error + "\n").utf8)) }
        if answer.status != 0 { throw ExitCode(answer.status) }
    }
}
