extension PolicyPack {
    static let databasePostgres = PolicyPack(
        id: "database.postgres", summary: "PostgreSQL: dropdb, pg_dropcluster, destructive SQL through psql",
        enabledByDefault: false, commands: ["psql", "dropdb", "pg_dropcluster"],
        safe: [{ Match.has($0, "--help", "--version") }],
        rules: [
            PolicyRule(name: "dropdb", severity: .high, reason: "dropdb deletes a database", alternative: "pg_dump it first") {
                $0.name == "dropdb"
            },
            PolicyRule(name: "dropcluster", severity: .critical, reason: "pg_dropcluster deletes a whole PostgreSQL cluster", alternative: nil) {
                $0.name == "pg_dropcluster"
            },
        ] + SQLStatements.rules(flags: ["-c", "--command"]).map { rule in
            var rule = rule
            let matches = rule.matches
            rule.matches = { $0.name == "psql" && matches($0) }
            return rule
        })

    static let databaseMySQL = PolicyPack(
        id: "database.mysql", summary: "MySQL and MariaDB: mysqladmin drop, destructive SQL through mysql",
        enabledByDefault: false, commands: ["mysql", "mariadb", "mysqladmin"],
        safe: [{ Match.has($0, "--help", "--version") }],
        rules: [
            PolicyRule(name: "mysqladmin-drop", severity: .high, reason: "mysqladmin drop deletes a database", alternative: "mysqldump it first") {
                $0.name == "mysqladmin" && Match.verbs($0, 1, skipping: ["-u", "-h", "-P", "-S", "--user", "--host", "--port", "--socket"]) == ["drop"]
            },
        ] + SQLStatements.rules(flags: ["-e", "--execute"]).map { rule in
            var rule = rule
            let matches = rule.matches
            rule.matches = { ($0.name == "mysql" || $0.name == "mariadb") && matches($0) }
            return rule
        })

    static let databaseSQLite = PolicyPack(
        id: "database.sqlite", summary: "SQLite: destructive SQL through sqlite3", enabledByDefault: false, commands: ["sqlite3"],
        rules: SQLStatements.rules(flags: ["-cmd"]))

    static let databaseRedis = PolicyPack(
        id: "database.redis", summary: "Redis: FLUSHALL, FLUSHDB, SHUTDOWN and CONFIG SET through redis-cli",
        enabledByDefault: false, commands: ["redis-cli"],
        rules: [
            PolicyRule(name: "flush", severity: .high, reason: "FLUSHALL / FLUSHDB deletes every key", alternative: "Delete the keys you mean with SCAN and DEL") {
                let words = Set($0.args.map { $0.lowercased() }) .union(($0.stdinText ?? "").lowercased().split(whereSeparator: \.isWhitespace).map(String.init))
                return words.contains("flushall") || words.contains("flushdb")
            },
            PolicyRule(name: "shutdown", severity: .medium, reason: "SHUTDOWN stops the Redis server", alternative: nil) {
                $0.args.contains { $0.lowercased() == "shutdown" }
            },
            PolicyRule(name: "config-set", severity: .medium, reason: "CONFIG SET changes a running server's configuration", alternative: nil) {
                let args = $0.args.map { $0.lowercased() }
                guard let index = args.firstIndex(of: "config") else { return false }
                return args.dropFirst(index + 1).first == "set"
            },
        ])

    static let databaseMongo = PolicyPack(
        id: "database.mongodb", summary: "MongoDB: dropDatabase, drop and unfiltered deletes through mongosh; mongorestore --drop",
        enabledByDefault: false, commands: ["mongo", "mongosh", "mongorestore"],
        rules: [
            PolicyRule(name: "drop-database", severity: .high, reason: "dropDatabase() deletes a whole database", alternative: "mongodump it first") {
                ($0.args.joined(separator: " ") + ($0.stdinText ?? "")).contains("dropDatabase(")
            },
            PolicyRule(name: "drop-collection", severity: .high, reason: "drop() deletes a collection", alternative: "mongodump it first") {
                ($0.args.joined(separator: " ") + ($0.stdinText ?? "")).contains(".drop(")
            },
            PolicyRule(name: "delete-all", severity: .high, reason: "deleteMany({}) / remove({}) deletes every document", alternative: "Pass a filter") {
                let text = ($0.args.joined(separator: " ") + ($0.stdinText ?? "")).replacingOccurrences(of: " ", with: "")
                return text.contains("deleteMany({})") || text.contains("remove({})")
            },
            PolicyRule(name: "restore-drop", severity: .medium, reason: "mongorestore --drop deletes collections before restoring", alternative: nil) {
                $0.name == "mongorestore" && $0.args.contains("--drop")
            },
        ])
}
