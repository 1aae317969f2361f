import Foundation
import Logging

/// What the host made of a `plugins.d` folder: one entry per manifest, in file-name order.
public struct PluginCatalog: Sendable {
    public enum Status: Sendable {
        case loaded(LoadedPlugin)
        case disabled
        case rejected(PluginLoadError)

        public var name: String {
            switch self {
            case .loaded: "loaded"
            case .disabled: "disabled"
            case .rejected: "rejected"
            }
        }

        /// The plugin, when it loaded.
        public var loadedPlugin: LoadedPlugin? {
            if case .loaded(let plugin) = self { plugin } else { nil }
        }

        /// Why it was refused, when it was.
        public var rejection: PluginLoadError? {
            if case .rejected(let error) = self { error } else { nil }
        }
    }

    public struct Entry: Sendable {
        public var manifestFile: URL
        /// The library the manifest names; nil when the manifest itself could not be read.
        public var libraryPath: URL?
        public var status: Status
    }

    public var directory: URL
    public var entries: [Entry]

    /// The loaded plugin whose driver has this id.
    public func plugin(driverID: String) -> LoadedPlugin? {
        for entry in entries {
            if let plugin = entry.status.loadedPlugin, plugin.descriptor.id == driverID { return plugin }
        }
        return nil
    }

    public var loadedPlugins: [LoadedPlugin] {
        entries.compactMap(\.status.loadedPlugin)
    }
}

/// A `plugins.d` folder that cannot be read at all.
public struct PluginDirectoryError: Error, Sendable, CustomStringConvertible {
    public var directory: URL
    public var reason: String
    public var description: String { "\(directory.path): \(reason)" }
}

extension PluginLoader {
    /// Loads every enabled `*.toml` manifest in `directory`. Individual plugins never make this throw:
    /// they are reported as rejected and the others load regardless.
    public func loadDirectory(_ directory: URL) throws(PluginDirectoryError) -> PluginCatalog {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw PluginDirectoryError(directory: directory, reason: "cannot list the plugin directory: \((error as NSError).localizedDescription)")
        }
        var entries: [PluginCatalog.Entry] = []
        var firstFileByID: [String: URL] = [:]
        for name in names.sorted() where name.hasSuffix(".toml") {
            let file = directory.appendingPathComponent(name)
            let manifest: PluginManifest
            do {
                manifest = try PluginManifest.load(contentsOf: file)
            } catch {
                logger.error("rejected plugin", metadata: ["flywheel.plugin.error": .string(error.description)])
                entries.append(.init(manifestFile: file, libraryPath: nil, status: .rejected(error)))
                continue
            }
            guard manifest.enabled else {
                entries.append(.init(manifestFile: file, libraryPath: manifest.libraryPath, status: .disabled))
                continue
            }
            do throws(PluginLoadError) {
                let plugin = try load(manifest)
                let id = plugin.descriptor.id
                if let first = firstFileByID[id] {
                    throw PluginLoadError(file: file, reason: .duplicateDriverID(id: id, firstFile: first.path))
                }
                firstFileByID[id] = file
                entries.append(.init(manifestFile: file, libraryPath: manifest.libraryPath, status: .loaded(plugin)))
            } catch {
                logger.error("rejected plugin", metadata: ["flywheel.plugin.error": .string(error.description)])
                entries.append(.init(manifestFile: file, libraryPath: manifest.libraryPath, status: .rejected(error)))
            }
        }
        return PluginCatalog(directory: directory, entries: entries)
    }
}
