/// Finds where a key is written in TOML text, so errors about a value can name its line.
///
/// TOMLKit reports positions only for syntax errors; for errors about a parsed value we look the key
/// up in the source instead. The first line that assigns the key (or opens a table of that name) wins.
package enum TOMLLines {
    package static func line(ofKey key: String, in text: String) -> Int? {
        var number = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = rawLine.drop(while: { $0 == " " || $0 == "\t" })
            if line.hasPrefix("[") {
                let name = line.drop(while: { $0 == "[" }).prefix(while: { $0 != "]" })
                if name.trimmingSpaces == key { return number }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            var name = line[..<equals].trimmingSpaces
            if name.count >= 2, let first = name.first, first == "\"" || first == "'", name.last == first {
                name = String(name.dropFirst().dropLast())
            }
            if name == key { return number }
        }
        return nil
    }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}

extension TOMLLines {
    /// The lines that open `[[name]]` array tables, in order.
    static func lines(ofArrayTable name: String, in text: String) -> [Int] {
        var result: [Int] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.drop(while: { $0 == " " || $0 == "\t" })
            guard line.hasPrefix("[[") else { continue }
            let inner = line.dropFirst(2).prefix(while: { $0 != "]" }).trimmingSpaces
            if inner == name { result.append(index + 1) }
        }
        return result
    }

    /// The first line where a quoted string value appears.
    static func line(ofString value: String, in text: String) -> Int? {
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where line.contains("\"\(value)\"") || line.contains("'\(value)'") {
            return index + 1
        }
        return nil
    }
}
