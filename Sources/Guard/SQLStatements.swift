/// Finds destructive SQL statements in text handed to a database client.
enum SQLStatements {
    enum Kind: String {
        case dropDatabase = "drop-database", dropTable = "drop-table", truncate, deleteWithoutWhere = "delete-without-where"
    }

    /// The destructive kinds present in `text` (statements split on `;`, case-insensitive).
    static func destructive(in text: String) -> Set<Kind> {
        guard !text.isEmpty else { return [] }
        var kinds: Set<Kind> = []
        for statement in text.uppercased().split(separator: ";") {
            let words = statement.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" })
            guard let first = words.first else { continue }
            switch first {
            case "DROP":
                if words.count > 1, words[1] == "DATABASE" || words[1] == "SCHEMA" { kinds.insert(.dropDatabase) }
                if words.count > 1, words[1] == "TABLE" { kinds.insert(.dropTable) }
            case "TRUNCATE":
                kinds.insert(.truncate)
            case "DELETE":
                if words.count > 1, words[1] == "FROM", !words.contains("WHERE") { kinds.insert(.deleteWithoutWhere) }
            default:
                continue
            }
        }
        return kinds
    }

    /// The SQL rules of a database client whose statements come in `flags` (`-c`, `-e`), as
    /// arguments, or on stdin.
    static func rules(flags: Set<String>) -> [PolicyRule] {
        let table: [(Kind, String, String)] = [
            (.dropDatabase, "DROP DATABASE/SCHEMA deletes a whole database", "Take a dump first and drop it by hand after review"),
            (.dropTable, "DROP TABLE deletes a table and its data", "Rename the table or back it up before dropping"),
            (.truncate, "TRUNCATE deletes every row of a table", "DELETE with a WHERE clause inside a transaction"),
            (.deleteWithoutWhere, "DELETE without WHERE deletes every row", "Add a WHERE clause and run it in a transaction"),
        ]
        return table.map { kind, reason, alternative in
            PolicyRule(name: kind.rawValue, severity: .high, reason: reason, alternative: alternative) {
                destructive(in: Match.sqlText($0, flags: flags)).contains(kind)
            }
        }
    }
}
