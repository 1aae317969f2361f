import ArgumentParser
import Foundation
import Host

struct DCGCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Decide whether a command may run.",
        discussion: """
            Exit status: 0 for allow, warn and log; 1 for deny and ask (ask needs an operator's approval). \
            With --stdin --jsonl, reads one JSON object per line ({"command": "..."}) and writes one JSON \
            decision per line, in order; a line that is not such an object gets a deny with rule \
            dcg:invalid-input, and the exit status is 1 if any command was not allowed.
            """)

    @Argument(help: "The shell command line to check.")
    var command: String?

    @Flag(name: .long, help: "Print the decision as JSON.")
    var json = false

    @Flag(name: .long, help: "Read commands from standard input instead of the argument.")
    var stdin = false

    @Flag(name: .long, help: "With --stdin: one JSON object per line in and out.")
    var jsonl = false

    @OptionGroup var policy: PolicyOptions

    func validate() throws {
        if stdin == (command != nil) { throw ValidationError("give a command, or --stdin, but not both") }
        if jsonl && !stdin { throw ValidationError("--jsonl goes with --stdin") }
    }

    func run() throws {
        let policy = try self.policy.makePolicy()
        if stdin {
            if !Self.checkLines(policy: policy, jsonl: jsonl, json: json) { throw ExitCode(1) }
            return
        }
        let decision = policy.evaluate(command ?? "")
        if json {
            var line: [UInt8] = []
            DecisionLines.append(command ?? "", decision, to: &line)
            FileHandle.standardOutput.write(Data(line))
        } else {
            print(Self.summary(decision))
        }
        if !decision.verdict.permitsRunning { throw ExitCode(1) }
    }

    /// Reads standard input in chunks and answers every complete line of a chunk with one write,
    /// so answers stream to a client that waits for each, and batches cost one write per chunk.
    /// Returns whether every command was allowed.
    static func checkLines(policy: CommandPolicy, jsonl: Bool, json: Bool) -> Bool {
        var allowed = true
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var output: [UInt8] = []
        func answer(_ line: ArraySlice<UInt8>) {
            var line = line
            if line.last == 13 { line = line.dropLast() }
            guard line.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return }
            let command: String
            if jsonl {
                guard let text = DecisionLines.command(in: line) else {
                    allowed = false
                    output.append(contentsOf: DecisionLines.invalidLine)
                    return
                }
                command = text
            } else {
                command = String(decoding: line, as: UTF8.self)
            }
            let decision = policy.evaluate(command)
            allowed = allowed && decision.verdict.permitsRunning
            if jsonl || json {
                DecisionLines.append(command, decision, to: &output)
            } else {
                output.append(contentsOf: summary(decision).utf8)
                output.append(10)
            }
        }
        func flush() {
            var written = 0
            while written < output.count {
                let count = output[written...].withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
                if count < 0 {
                    if errno == EINTR { continue }
                    return
                }
                written += count
            }
            output.removeAll(keepingCapacity: true)
        }
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            pending.append(contentsOf: buffer[0..<count])
            var start = 0
            while let newline = pending[start...].firstIndex(of: 10) {
                answer(pending[start..<newline])
                start = newline + 1
            }
            pending.removeFirst(start)
            flush()
        }
        if !pending.isEmpty { answer(pending[...]) }
        flush()
        return allowed
    }

    static func summary(_ decision: PolicyDecision) -> String {
        guard let rule = decision.ruleID else { return decision.verdict.rawValue }
        var text = "\(decision.verdict.rawValue): \(rule) (\(decision.severity?.rawValue ?? "-")): \(decision.reason ?? "")"
        if let alternative = decision.alternative { text += "\n  instead: \(alternative)" }
        return text
    }
}

struct DCGExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain", abstract: "Explain the decision on a command: which part, which rule, why, and what to do instead.")

    @Argument(help: "The shell command line to explain.")
    var command: String

    @OptionGroup var policy: PolicyOptions

    func run() throws {
        let decision = try policy.makePolicy().evaluate(command)
        print("command:  \(command)")
        print("decision: \(decision.verdict.rawValue)")
        if decision.matches.isEmpty {
            print("No enabled rule matches any part of this command.")
            return
        }
        for (index, match) in decision.matches.enumerated() {
            print("")
            print("\(index + 1). part:   \(match.matched)")
            print("   rule:   \(match.ruleID) (pack \(match.packID), severity \(match.severity.rawValue), \(match.source))")
            print("   result: \(match.verdict.rawValue)")
            print("   why:    \(match.reason)")
            if let alternative = match.alternative { print("   instead: \(alternative)") }
        }
        if decision.matches.count > 1 {
            print("\nThe strictest part decides: \(decision.verdict.rawValue).")
        }
    }
}

struct DCGPacksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "packs", abstract: "List the rule packs, their rules, and which are enabled.")

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @OptionGroup var policy: PolicyOptions

    func run() throws {
        let enabled = try policy.makePolicy().configuration.enabledPacks
        let packs = CommandPolicy.availablePacks
        if json {
            struct Row: Encodable { var pack: PolicyPackInfo; var enabled: Bool }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(packs.map { Row(pack: $0, enabled: enabled.contains($0.id)) }), as: UTF8.self))
            return
        }
        for pack in packs {
            print("\(enabled.contains(pack.id) ? "[on] " : "[off]") \(pack.id): \(pack.summary)")
            for rule in pack.rules { print("        \(rule.id) (\(rule.severity.rawValue))") }
        }
    }
}
