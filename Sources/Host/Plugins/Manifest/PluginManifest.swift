import Foundation

/// One `plugins.d/*.toml` file: what the host knows about a plugin before running any of its code.
public struct PluginManifest: Sendable, Equatable {
    /// The manifest file itself.
    public var file: URL
    /// The shared object, resolved against the manifest's folder when the file gives a relative path.
    public var libraryPath: URL
    /// Disabled plugins are listed but never opened.
    public var enabled: Bool
    /// Lower-case hex SHA-256 the library must match, when the operator pinned one.
    public var sha256: String?
    /// The driver id the library must declare, when the operator named one.
    public var expectedDriverID: String?
    /// The `[config]` table as a JSON object; `{}` when absent.
    public var configJSON: String

    public init(
        file: URL,
        libraryPath: URL,
        enabled: Bool = true,
        sha256: String? = nil,
        expectedDriverID: String? = nil,
        configJSON: String = "{}"
    ) {
        self.file = file
        self.libraryPath = libraryPath
        self.enabled = enabled
        self.sha256 = sha256
        self.expectedDriverID = expectedDriverID
        self.configJSON = configJSON
    }
}
