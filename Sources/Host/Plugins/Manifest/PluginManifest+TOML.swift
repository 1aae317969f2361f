import Foundation
import TOMLKit

extension PluginManifest {
    /// Keys a manifest may contain; anything else is a typo the operator should hear about.
    static let knownKeys: Set<String> = ["path", "enabled", "sha256", "id", "config"]

    /// Reads and checks one manifest file.
    public static func load(contentsOf file: URL) throws(PluginLoadError) -> PluginManifest {
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw PluginLoadError(file: file, reason: .manifestUnreadable(String(describing: error)))
        }
        return try parse(text, file: file)
    }

    /// Parses manifest text; `file` locates relative paths and names the file in errors.
    public static func parse(_ text: String, file: URL) throws(PluginLoadError) -> PluginManifest {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw PluginLoadError(
                file: file, line: error.source.begin.line, reason: .manifestSyntax(error.description))
        } catch {
            throw PluginLoadError(file: file, reason: .manifestSyntax(String(describing: error)))
        }
        func invalid(_ key: String, _ message: String) -> PluginLoadError {
            PluginLoadError(file: file, line: TOMLLines.line(ofKey: key, in: text), reason: .manifestInvalid(message))
        }
        for key in table.keys where !knownKeys.contains(key) {
            throw invalid(key, "unknown key '\(key)' (expected one of: \(knownKeys.sorted().joined(separator: ", ")))")
        }
        guard let pathValue = table["path"] else {
            throw PluginLoadError(file: file, reason: .manifestInvalid("missing required key 'path'"))
        }
        guard let path = pathValue.string, !path.isEmpty else {
            throw invalid("path", "'path' must be a non-empty string")
        }
        var enabled = true
        if let value = table["enabled"] {
            guard let flag = value.bool else { throw invalid("enabled", "'enabled' must be true or false") }
            enabled = flag
        }
        var sha256: String?
        if let value = table["sha256"] {
            guard let hex = value.string?.lowercased(), hex.count == 64, hex.allSatisfy(\.isHexDigit) else {
                throw invalid("sha256", "'sha256' must be 64 hexadecimal characters")
            }
            sha256 = hex
        }
        var expectedID: String?
        if let value = table["id"] {
            guard let id = value.string, DriverDescriptor.isValidID(id) else {
                throw invalid("id", "'id' must be 1 to 64 of [a-z0-9._-] starting with a letter")
            }
            expectedID = id
        }
        var configJSON = "{}"
        if let value = table["config"] {
            guard let config = value.table else { throw invalid("config", "'config' must be a table") }
            configJSON = config.convert(to: .json)
        }
        let directory = file.deletingLastPathComponent()
        let library = path.isAbsolutePath
            ? URL(fileURLWithPath: path).standardizedFileURL
            : directory.appendingPathComponent(path).standardizedFileURL
        return PluginManifest(
            file: file, libraryPath: library, enabled: enabled, sha256: sha256,
            expectedDriverID: expectedID, configJSON: configJSON)
    }
}
