import ArgumentParser
import Foundation
import Host

struct PluginsValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Load one driver in isolation and run the conformance exercise.",
        discussion: """
            Takes a shared object (.so) or a plugins.d manifest (.toml). Checks, in order: describe, \
            start (create_driver with the config), execute a trivial task, well-formed events, a \
            terminal event, cancel honoured, stop (destroy). Commands the driver asks for are answered \
            with a denial and never run. Exits 1 when any check fails.
            """)

    @Argument(help: "A driver shared object (.so) or a plugins.d manifest (.toml).")
    var file: String

    @Option(name: .long, help: "Driver configuration as a JSON object (overrides the manifest's [config]).")
    var config: String?

    @Flag(name: .long, help: "Print the checks as JSON.")
    var json = false

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let url = URL(fileURLWithPath: file)
        let loader = PluginLoader(logger: logging.makeLogger())
        var checks: [DriverConformance.Check] = []
        var configJSON = config ?? "{}"
        var plugin: LoadedPlugin?
        do {
            if url.pathExtension == "toml" {
                let manifest = try PluginManifest.load(contentsOf: url)
                if config == nil { configJSON = manifest.configJSON }
                plugin = try loader.load(manifest)
            } else {
                plugin = try loader.load(library: url)
            }
            checks.append(.init(name: "load", passed: true, detail: "checks before trust passed"))
        } catch {
            checks.append(.init(name: "load", passed: false, detail: error.description))
        }
        if let plugin {
            let workspace = FileManager.default.temporaryDirectory.appendingPathComponent("flywheel-validate-\(UUID().uuidString)")
            try? FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: workspace) }
            checks += await DriverConformance().run(plugin: plugin, configJSON: configJSON, workspace: workspace)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(checks), as: UTF8.self))
        } else {
            for check in checks { print("\(check.passed ? "pass" : "FAIL")  \(check.name): \(check.detail)") }
            let failed = checks.filter { !$0.passed }.count
            print(failed == 0 ? "\(checks.count) checks passed" : "\(failed) of \(checks.count) checks failed")
        }
        if checks.contains(where: { !$0.passed }) { throw ExitCode(1) }
    }
}
