import ArgumentParser
import Foundation
import Host

struct PluginsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Load every plugin in the plugins directory and show its status.",
        discussion: """
            Status is `loaded`, `disabled`, or `rejected` with the reason. Exits 1 when a plugin was rejected. \
            A last line (on stderr with --json) says whether agent commands would run in the bubblewrap sandbox here, \
            and why not when they would not.
            """)

    @Option(name: .long, help: "The plugins directory.")
    var pluginsDir: String = "plugins.d"

    @Flag(name: .long, help: "Print a JSON array instead of a table.")
    var json = false

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let loader = PluginLoader(logger: logging.makeLogger())
        let catalog: PluginCatalog
        do {
            catalog = try loader.loadDirectory(URL(fileURLWithPath: pluginsDir))
        } catch {
            throw ValidationError(error.description)
        }
        let rows = catalog.entries.map(PluginRow.init)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        } else if rows.isEmpty {
            print("no plugin manifests in \(pluginsDir)")
        } else {
            for row in rows { print(row.line) }
        }
        let sandbox = await Sandbox.probe(hiddenPaths: [URL(fileURLWithPath: pluginsDir)])
        if json {
            FileHandle.standardError.write(Data("sandbox: \(sandbox.summary)\n".utf8))
        } else {
            print("sandbox\t\(sandbox.summary)")
        }
        if rows.contains(where: { $0.status == "rejected" }) { throw ExitCode(1) }
    }
}

/// One plugin as `plugins list` shows it.
struct PluginRow: Encodable {
    var manifest: String
    var path: String?
    var status: String
    var id: String?
    var name: String?
    var version: String?
    var abiVersion: String?
    var reason: String?
    var code: String?

    enum CodingKeys: String, CodingKey {
        case manifest, path, status, id, name, version, reason, code
        case abiVersion = "abi_version"
    }

    init(_ entry: PluginCatalog.Entry) {
        manifest = entry.manifestFile.path
        path = entry.libraryPath?.path
        status = entry.status.name
        let plugin = entry.status.loadedPlugin
        id = plugin?.descriptor.id
        name = plugin?.descriptor.name
        version = plugin?.descriptor.version
        abiVersion = plugin?.abiVersion
        reason = entry.status.rejection?.description
        code = entry.status.rejection?.code
    }

    var line: String {
        switch status {
        case "loaded": "\(id ?? "?")\t\(version ?? "?")\tABI \(abiVersion ?? "?")\tloaded\t\(path ?? "")"
        case "disabled": "-\t-\t-\tdisabled\t\(manifest)"
        default: "-\t-\t-\trejected\t\(reason ?? "")"
        }
    }
}
