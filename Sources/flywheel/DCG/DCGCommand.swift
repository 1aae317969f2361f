import ArgumentParser
import Foundation
import Host

struct DCGCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dcg",
        abstract: "The Destructive Command Guard: check commands against the command policy.",
        discussion: """
            Policy comes from --config (a flywheel.toml with a [policy] table, or a policy.toml), else \
            ./flywheel.toml, else policy.toml beside the plugins directory, else the built-in defaults \
            (packs \(PolicyConfiguration.default.enabledPacks.sorted().joined(separator: ", "))). `dcg hook` \
            reads only operator-controlled places, never the working directory. See docs/policy.md.
            """,
        subcommands: [DCGCheckCommand.self, DCGExplainCommand.self, DCGPacksCommand.self, DCGHookCommand.self, DCGPendingCommand.self])
}

/// Where the policy comes from, shared by the dcg subcommands.
struct PolicyOptions: ParsableArguments {
    @Option(name: .long, help: "A flywheel.toml (its [policy] table) or a policy.toml.")
    var config: String?

    @Option(name: .long, help: "Extra packs to enable for this run (repeatable), e.g. --pack containers.docker.")
    var pack: [String] = []

    func makePolicy() throws -> CommandPolicy {
        var configuration = try PolicyFiles.load(explicit: config)
        for id in pack {
            guard CommandPolicy.availablePacks.contains(where: { $0.id == id }) else {
                throw ValidationError("unknown pack '\(id)'; `flywheel dcg packs` lists them")
            }
            configuration.enabledPacks.insert(id)
        }
        return CommandPolicy(configuration: configuration)
    }
}

/// Finds and reads the policy configuration at the command line's edge.
enum PolicyFiles {
    /// The policy for `dcg hook`, from places only the operator controls: `--config` or
    /// `FLYWHEEL_DCG_CONFIG` (absolute paths), else `/etc/flywheel/policy.toml` or
    /// `/etc/flywheel/flywheel.toml`, else the user's `~/.config/flywheel/policy.toml`, else the
    /// defaults. Never the working directory, which the agent being guarded can write.
    static func loadForHook(explicit: String?, environment: [String: String]) throws -> PolicyConfiguration {
        if let path = explicit ?? environment["FLYWHEEL_DCG_CONFIG"] {
            guard path.hasPrefix("/") else {
                throw ValidationError("the hook's policy file must be given by absolute path, not '\(path)' (a relative path would be read from the agent's working directory)")
            }
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("\(path): no such file") }
            return try read(URL(fileURLWithPath: path))
        }
        let configHome = environment["XDG_CONFIG_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? environment["HOME"].map { $0 + "/.config" }
        let candidates = ["/etc/flywheel/policy.toml", "/etc/flywheel/flywheel.toml"]
            + (configHome.map { ["\($0)/flywheel/policy.toml", "\($0)/flywheel/flywheel.toml"] } ?? [])
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else { return .default }
        return try read(URL(fileURLWithPath: found))
    }

    private static func read(_ file: URL) throws -> PolicyConfiguration {
        do {
            return try PolicyConfiguration.load(contentsOf: file)
        } catch {
            throw ValidationError(error.description)
        }
    }

    static func load(explicit: String?, pluginsDirectory: String = "plugins.d") throws -> PolicyConfiguration {
        let fileManager = FileManager.default
        var candidate: URL?
        if let explicit {
            candidate = URL(fileURLWithPath: explicit)
            guard fileManager.fileExists(atPath: explicit) else { throw ValidationError("\(explicit): no such file") }
        } else if fileManager.fileExists(atPath: "flywheel.toml") {
            candidate = URL(fileURLWithPath: "flywheel.toml")
        } else {
            let beside = URL(fileURLWithPath: pluginsDirectory).deletingLastPathComponent().appendingPathComponent("policy.toml")
            if fileManager.fileExists(atPath: beside.path) { candidate = beside }
        }
        guard let candidate else { return .default }
        do {
            return try PolicyConfiguration.load(contentsOf: candidate)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// One decision as a JSON line.
struct DecisionJSON: Encodable {
    var command: String
    var decision: PolicyDecision

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(command, forKey: .command)
        try container.encode(decision.verdict.rawValue, forKey: .decision)
        try container.encode(decision.ruleID, forKey: .ruleID)
        try container.encode(decision.packID, forKey: .packID)
        try container.encode(decision.severity?.rawValue, forKey: .severity)
        try container.encode(decision.reason, forKey: .reason)
        try container.encode(decision.matched, forKey: .matched)
        try container.encode(decision.alternative, forKey: .alternative)
        try container.encode(decision.source, forKey: .source)
    }

    enum CodingKeys: String, CodingKey {
        case command, decision, ruleID = "rule_id", packID = "pack_id", severity, reason, matched, alternative, source
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    var line: String {
        (try? String(decoding: Self.encoder.encode(self), as: UTF8.self)) ?? #"{"decision":"deny","reason":"encoding failed"}"#
    }
}
