import FlywheelJSON
import Foundation

/// One configuration value, decoded by type (a boolean is never a number).
public typealias ConfigValue = JSONValue

extension JSONValue {
    public var string: String? { stringValue }
}

/// Typed reads of a driver's configuration object, each failure naming its key.
public struct ConfigReader: Sendable {
    public let object: [String: ConfigValue]

    /// Parses `json`, which must be an object whose keys are all in `keys`.
    public init(json: String, keys: Set<String>) throws(DriverFailure) {
        guard let object = try? JSONDecoder().decode([String: ConfigValue].self, from: Data(json.utf8)) else {
            throw .invalidConfig("the configuration must be a JSON object")
        }
        if let unknown = object.keys.filter({ !keys.contains($0) }).sorted().first {
            throw .invalidConfig("unknown key '\(unknown)' (known: \(keys.sorted().joined(separator: ", ")))")
        }
        self.object = object
    }

    public func value(_ key: String) -> ConfigValue? {
        guard let value = object[key] else { return nil }
        if case .null = value { return nil }
        return value
    }

    public func string(_ key: String) throws(DriverFailure) -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value.string else { throw .invalidConfig("\(key) must be a string") }
        return text
    }

    public func strings(_ key: String, allowEmpty: Bool = false) throws(DriverFailure) -> [String]? {
        guard let value = value(key) else { return nil }
        let expected = allowEmpty ? "a list of strings" : "a non-empty list of strings"
        guard case .array(let items) = value, allowEmpty || !items.isEmpty else { throw .invalidConfig("\(key) must be \(expected)") }
        let list = items.compactMap(\.string)
        guard list.count == items.count else { throw .invalidConfig("\(key) must be \(expected)") }
        return list
    }

    public func bool(_ key: String) throws(DriverFailure) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else { throw .invalidConfig("\(key) must be true or false") }
        return flag
    }

    public func seconds(_ key: String, allowZero: Bool = false) throws(DriverFailure) -> Double? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value, number.isFinite, allowZero ? number >= 0 : number > 0, number <= 86_400 else {
            throw .invalidConfig("\(key) must be a number of seconds, \(allowZero ? "0" : "above 0") to 86400")
        }
        return number
    }

    public func integer(_ key: String, in range: ClosedRange<Int>) throws(DriverFailure) -> Int? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value, number == number.rounded(), number >= Double(range.lowerBound),
              number <= Double(range.upperBound) else {
            throw .invalidConfig("\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return Int(number)
    }

    public func table(_ key: String) throws(DriverFailure) -> [String: String]? {
        guard let value = value(key) else { return nil }
        guard case .object(let table) = value else { throw .invalidConfig("\(key) must be a table of strings") }
        var result: [String: String] = [:]
        for (name, item) in table {
            guard let text = item.string else { throw .invalidConfig("\(key).\(name) must be a string") }
            result[name] = text
        }
        return result
    }

    public func pattern(_ key: String) throws(DriverFailure) -> NSRegularExpression? {
        guard let text = try string(key) else { return nil }
        do {
            return try NSRegularExpression(pattern: text)
        } catch {
            throw .invalidConfig("\(key) is not a valid regular expression: \(text)")
        }
    }
}
