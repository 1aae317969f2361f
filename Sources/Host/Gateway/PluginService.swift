import Foundation
import Logging

/// The plugin catalog in force: replaced as a whole when `plugins.d` is read again, so a lookup
/// sees one catalog or the next, never a mix.
public final class PluginRegistry: Sendable {
    private let catalog: Locked<PluginCatalog>

    public init(_ catalog: PluginCatalog) {
        self.catalog = Locked(catalog)
    }

    public var current: PluginCatalog { catalog.withLock { $0 } }

    func replace(_ catalog: PluginCatalog) {
        self.catalog.withLock { $0 = catalog }
    }
}

/// What `plugins.d` loaded: every manifest with its status, and the drivers that can run.
public struct PluginService: Sendable {
    public let registry: PluginRegistry
    let logger: Logger

    public init(registry: PluginRegistry, logger: Logger) {
        self.registry = registry
        self.logger = logger
    }

    public var catalog: PluginCatalog { registry.current }

    public var entries: [PluginCatalog.Entry] { catalog.entries }

    public var loaded: [LoadedPlugin] { catalog.loadedPlugins }

    /// The loaded plugin with this driver id; ``DriverNotLoaded`` names the ones there are.
    public func plugin(driverID: String) throws -> LoadedPlugin {
        let catalog = catalog
        guard let plugin = catalog.plugin(driverID: driverID) else {
            throw DriverNotLoaded(driverID: driverID, loaded: catalog.loadedPlugins.map(\.descriptor.id).sorted())
        }
        return plugin
    }

    /// What a reload changed, by driver id.
    public struct Reload: Sendable {
        public var catalog: PluginCatalog
        /// Drivers that were not loaded before and are now.
        public var added: [String]
        /// Drivers that were loaded before and are not now: no new session starts on them.
        public var retired: [String]
    }

    /// Reads `plugins.d` again: new manifests are checked and loaded, removed or disabled ones
    /// retired, the others kept as they are. Sessions already running keep the driver they started
    /// with (a library is never unloaded). A library replaced at the same path keeps its loaded
    /// code until the next start: install a new version under a new file name to load it now.
    /// Loading runs plugins' `init` and `dlopen`, so it happens on a thread of its own, one reload
    /// at a time.
    public func reload() async throws -> Reload {
        let registry = registry, logger = logger
        return try await withCheckedThrowingContinuation { continuation in
            Self.queue.async {
                continuation.resume(with: Result {
                    let before = Set(registry.current.loadedPlugins.map(\.descriptor.id))
                    let catalog = try PluginLoader(logger: logger).loadDirectory(registry.current.directory)
                    registry.replace(catalog)
                    let after = Set(catalog.loadedPlugins.map(\.descriptor.id))
                    let reload = Reload(catalog: catalog, added: after.subtracting(before).sorted(), retired: before.subtracting(after).sorted())
                    logger.notice("plugins reloaded", metadata: [
                        "flywheel.plugins.added": .string(reload.added.joined(separator: ",")),
                        "flywheel.plugins.retired": .string(reload.retired.joined(separator: ",")),
                    ])
                    return reload
                })
            }
        }
    }

    private static let queue = DispatchQueue(label: "flywheel.plugin-reload")
}
