/// Finds where a key is written in TOML text, so errors about a value can name its line.
///
/// TOMLKit reports positions only for syntax errors; for errors about a parsed value we look the key
/// up in the source instead. The first line that assigns the key (or opens a table of that name) wins.
enum TOMLLines {
    static func line(ofKey key: String, in text: String) -> Int? {
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
