import Foundation

/// The JSON documents the host writes itself (event payloads, command results, tasks): objects of
/// strings, numbers, booleans, nulls, arrays and objects, with sorted keys.
enum HostJSON {
    /// Encodes an object the host built. Every value the host puts in is a JSON value, so this
    /// cannot fail for the host's own documents; a value that is not one is a programming error,
    /// reported loudly in the document instead of dropped.
    static func encode(_ object: [String: Any]) -> String {
        do {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        } catch {
            let escaped = "\(error)".replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return #"{"host_error":"cannot encode a host document: \#(escaped)"}"#
        }
    }
}
