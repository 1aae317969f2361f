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
