import Foundation
import GRDB

extension SQLiteStore: AccountStore {
    public func createAccount(_ account: AccountRecord) async throws -> AccountRecord {
        var account = account
        account.createdAt = StoreTime.round(account.createdAt)
        let stored = account
        try await write { db in
            try db.execute(sql: """
                INSERT INTO accounts (id, provider, label, encrypted_credentials, status, cooldown_until, last_used_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [stored.id, stored.provider, stored.label, Data(stored.sealedCredentials), stored.status.rawValue,
                                 StoreTime.encode(stored.cooldownUntil), StoreTime.encode(stored.lastUsedAt), StoreTime.encode(stored.createdAt)])
        }
        return stored
    }

    public func accounts(provider: String?) async throws -> [AccountRecord] {
        try await read { db in
            if let provider {
                return try Row.fetchAll(db, sql: "SELECT * FROM accounts WHERE provider = ? ORDER BY created_at, id", arguments: [provider])
                    .map(AccountRecord.init(row:))
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM accounts ORDER BY provider, created_at, id").map(AccountRecord.init(row:))
        }
    }

    public func account(id: String) async throws -> AccountRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM accounts WHERE id = ?", arguments: [id]).map(AccountRecord.init(row:)) }
    }

    @discardableResult
    public func updateAccount(id: String, status: AccountRecord.Status, statusReason: String?, cooldownUntil: Date?, lastUsedAt: Date?,
                              onlyFrom: Set<AccountRecord.Status>?) async throws -> Bool {
        try await write { db in
            var arguments: StatementArguments = [status.rawValue, statusReason, StoreTime.encode(cooldownUntil), StoreTime.encode(lastUsedAt), id]
            var condition = ""
            if let onlyFrom {
                let states = onlyFrom.map(\.rawValue).sorted()
                condition = " AND status IN (\(states.map { _ in "?" }.joined(separator: ", ")))"
                arguments += StatementArguments(states)
            }
            try db.execute(sql: """
                UPDATE accounts SET status = ?, status_reason = ?, cooldown_until = ?, last_used_at = COALESCE(?, last_used_at) WHERE id = ?\(condition)
                """, arguments: arguments)
            if db.changesCount == 1 { return true }
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM accounts WHERE id = ?", arguments: [id]) == true else {
                throw StoreError.notFound("account \(id)")
            }
            return false
        }
    }

    public func deleteAccount(id: String) async throws -> Bool {
        // Sessions that used the account lose it (ON DELETE SET NULL).
        defer { sessionCache?.invalidateAll() }
        return try await write { db in
            try db.execute(sql: "DELETE FROM accounts WHERE id = ?", arguments: [id])
            return db.changesCount == 1
        }
    }
}
