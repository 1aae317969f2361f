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

    static func rules(prefix: String, flags: Set<String>) -> [PolicyRule] {
        [
            PolicyRule(name: "drop-database", severity: .high, reason: "DROP DATABASE/SCHEMA deletes a whole database",
                       alternative: "Take a dump first and drop it by hand after review") {
                destructive(in: Match.sqlText($0, flags: flags)).contains(.dropDatabase)
            },
            PolicyRule(name: "drop-table", severity: .high, reason: "DROP TABLE deletes a table and its data",
                       alternative: "Rename the table or back it up before dropping") {
                destructive(in: Match.sqlText($0, flags: flags)).contains(.dropTable)
            },
            PolicyRule(name: "truncate", severity: .high, reason: "TRUNCATE deletes every row of a table",
                       alternative: "DELETE with a WHERE clause inside a transaction") {
                destructive(in: Match.sqlText($0, flags: flags)).contains(.truncate)
            },
            PolicyRule(name: "delete-without-where", severity: .high, reason: "DELETE without WHERE deletes every row",
                       alternative: "Add a WHERE clause and run it in a transaction") {
                destructive(in: Match.sqlText($0, flags: flags)).contains(.deleteWithoutWhere)
            },
        ]
    }
}
