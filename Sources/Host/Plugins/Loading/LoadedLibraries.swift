import Foundation

/// The process-wide record of opened plugin libraries, so the same file is loaded once (rule 13).
///
/// The lock is held across `dlopen` and the plugin's `init`, which can take a while and so is often
/// contended: a pthread mutex, which the thread sanitizer understands (see ``Locked``).
final class LoadedLibraries: @unchecked Sendable {
    static let shared = LoadedLibraries()

    private let lock = NSLock()
    private var byRealPath: [String: LoadedPlugin] = [:]

    /// The plugin already loaded from `path`'s real file, or the one `open` loads now. The lock is held
    /// while loading so two callers never run one plugin's `init` twice.
    func plugin(at path: String, open: () throws(PluginLoadError.Reason) -> LoadedPlugin) throws(PluginLoadError.Reason) -> LoadedPlugin {
        let key = realpath(path, nil).map { pointer in
            defer { free(pointer) }
            return String(cString: pointer)
        } ?? path
        lock.lock()
        defer { lock.unlock() }
        if let existing = byRealPath[key] { return existing }
        let loaded = try open()
        byRealPath[key] = loaded
        return loaded
    }
}
