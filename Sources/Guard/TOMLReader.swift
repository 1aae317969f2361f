import Foundation
import TOMLKit

/// Typed access to a TOML table that turns every mistake into a ``ConfigurationError`` with a line.
package struct TOMLReader {
    package let table: TOMLTable
    package let text: String
    package let file: URL
    package var prefix = ""

    /// Reads and parses a TOML file.
    package static func open(_ file: URL) throws(ConfigurationError) -> TOMLReader {
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw ConfigurationError(file: file.path, reason: "cannot read: \((error as NSError).localizedDescription)")
        }
        return try parse(text, file: file)
    }

    /// Parses TOML text; `file` names it in errors.
    package static func parse(_ text: String, file: URL) throws(ConfigurationError) -> TOMLReader {
        do {
            return TOMLReader(table: try TOMLTable(string: text), text: text, file: file)
        } catch let error as TOMLParseError {
            throw ConfigurationError(file: file.path, line: error.source.begin.line, reason: error.description)
        } catch {
            throw ConfigurationError(file: file.path, reason: String(describing: error))
        }
    }

    package func error(_ key: String, _ reason: String) -> ConfigurationError {
        ConfigurationError(file: file.path, line: TOMLLines.line(ofKey: key, in: text), reason: "\(prefix)\(key): \(reason)")
    }

    package func allowKeys(_ keys: Set<String>) throws(ConfigurationError) {
        for key in table.keys.sorted() where !keys.contains(key) {
            throw error(key, "unknown key (expected one of: \(keys.sorted().joined(separator: ", ")))")
        }
    }

    package func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = table[key] else { return nil }
        guard let text = value.string else { throw error(key, "must be a string") }
        return text
    }

    package func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let flag = value.bool else { throw error(key, "must be true or false") }
        return flag
    }

    package func positiveInt(_ key: String) throws(ConfigurationError) -> Int? {
        guard let value = table[key] else { return nil }
        guard let number = value.int, number > 0 else { throw error(key, "must be a positive integer") }
        return number
    }

    package func positiveNumber(_ key: String) throws(ConfigurationError) -> Double? {
        guard let value = table[key] else { return nil }
        guard let number = value.double ?? value.int.map(Double.init), number > 0, number.isFinite else {
            throw error(key, "must be a positive number")
        }
        return number
    }

    package func nonNegativeNumber(_ key: String) throws(ConfigurationError) -> Double? {
        guard let value = table[key] else { return nil }
        guard let number = value.double ?? value.int.map(Double.init), number >= 0, number.isFinite else {
            throw error(key, "must be zero or a positive number")
        }
        return number
    }

    package func table(_ key: String) throws(ConfigurationError) -> TOMLReader? {
        guard let value = table[key] else { return nil }
        guard let nested = value.table else { throw error(key, "must be a table") }
        return TOMLReader(table: nested, text: text, file: file, prefix: "\(prefix)\(key).")
    }
}
