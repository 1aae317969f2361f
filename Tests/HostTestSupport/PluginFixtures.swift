import Foundation
import Host
import Logging

/// Builders for plugins.d folders used by tests.
public struct PluginDirectoryBuilder {
    public let directory: TemporaryDirectory

    public init() throws {
        directory = try TemporaryDirectory("plugins")
    }

    public var url: URL { directory.url }

    /// Writes `<name>.toml` pointing at `library`, with extra TOML lines appended.
    @discardableResult
    public func manifest(_ name: String, library: URL, extra: String = "") throws -> URL {
        try directory.write("\(name).toml", "path = \"\(library.path)\"\n\(extra)\n")
    }

    /// Loads the folder with a quiet logger.
    public func load() throws -> PluginCatalog {
        try PluginLoader(logger: .quiet).loadDirectory(url)
    }
}

extension Logger {
    /// A logger that drops everything, for tests that are not about logging.
    public static var quiet: Logger {
        Logger(label: "flywheel.test") { _ in SwiftLogNoOpLogHandler() }
    }
}

extension PluginCatalog {
    /// The entry for the manifest named `<name>.toml`.
    public func entry(_ name: String) -> Entry? {
        entries.first { $0.manifestFile.lastPathComponent == "\(name).toml" }
    }
}

extension PluginCatalog.Status {
    public var error: PluginLoadError? {
        if case .rejected(let error) = self { error } else { nil }
    }

    public var plugin: LoadedPlugin? {
        if case .loaded(let plugin) = self { plugin } else { nil }
    }
}
