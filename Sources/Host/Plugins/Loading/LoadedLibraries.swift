import Foundation
import Synchronization

/// The process-wide record of opened plugin libraries, so the same file is loaded once (rule 13).
final class LoadedLibraries: Sendable {
    static let shared = LoadedLibraries()

    private let byRealPath = Mutex<[String: LoadedPlugin]>([:])

    /// The plugin already loaded from `path`'s real file, or the one `open` loads now. The lock is held
    /// while loading so two callers never run one plugin's `init` twice.
    func plugin(at path: String, open: () throws(PluginLoadError.Reason) -> LoadedPlugin) throws(PluginLoadError.Reason) -> LoadedPlugin {
        let key = realpath(path, nil).map { pointer in
            defer { free(pointer) }
            return String(cString: pointer)
        } ?? path
        return try byRealPath.withLock { (table: inout [String: LoadedPlugin]) throws(PluginLoadError.Reason) -> LoadedPlugin in
            if let existing = table[key] { return existing }
            let loaded = try open()
            table[key] = loaded
            return loaded
        }
    }
}
