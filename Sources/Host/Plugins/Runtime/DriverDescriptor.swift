import Foundation

/// A driver's static facts, copied out of the plugin's `flywheel_driver_descriptor_t`.
public struct DriverDescriptor: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var version: String
    public var vendor: String?
    public var description: String?
    /// The capabilities JSON object as the driver declared it (`{}` when it declared none).
    public var capabilitiesJSON: String
    /// The provider whose account a run needs (`capabilities.account_provider`), if any.
    public var accountProvider: String?
    /// How many runs one instance takes at once (`capabilities.max_concurrent_runs`), if limited.
    public var maxConcurrentRuns: Int?

    /// Driver ids are 1 to 64 of `[a-z0-9._-]`, starting with a letter.
    public static func isValidID(_ id: String) -> Bool {
        guard (1...64).contains(id.utf8.count), let first = id.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first)
        else { return false }
        return id.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    /// Reads `capabilities_json`, rejecting anything that is not a JSON object of the documented shape.
    static func parseCapabilities(_ json: String) throws(PluginLoadError.Reason) -> (provider: String?, maxRuns: Int?) {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
                throw PluginLoadError.Reason.invalidJSON(field: "capabilities_json", detail: "not a JSON object")
            }
            object = parsed
        } catch let reason as PluginLoadError.Reason {
            throw reason
        } catch {
            throw .invalidJSON(field: "capabilities_json", detail: (error as NSError).localizedDescription)
        }
        var provider: String?
        switch object["account_provider"] {
        case nil, is NSNull: provider = nil
        case let value as String where !value.isEmpty: provider = value
        default: throw .descriptorInvalid("capabilities.account_provider must be a non-empty string or null")
        }
        var maxRuns: Int?
        if let value = object["max_concurrent_runs"], !(value is NSNull) {
            guard let number = value as? Int, number > 0 else {
                throw .descriptorInvalid("capabilities.max_concurrent_runs must be a positive integer")
            }
            maxRuns = number
        }
        return (provider, maxRuns)
    }
}
