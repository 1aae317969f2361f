import Foundation

/// What `plugins.d` loaded: every manifest with its status, and the drivers that can run.
public struct PluginService: Sendable {
    public let catalog: PluginCatalog

    public var entries: [PluginCatalog.Entry] { catalog.entries }

    public var loaded: [LoadedPlugin] { catalog.loadedPlugins }

    /// The loaded plugin with this driver id; ``DriverNotLoaded`` names the ones there are.
    public func plugin(driverID: String) throws -> LoadedPlugin {
        guard let plugin = catalog.plugin(driverID: driverID) else {
            throw DriverNotLoaded(driverID: driverID, loaded: loaded.map(\.descriptor.id).sorted())
        }
        return plugin
    }
}
