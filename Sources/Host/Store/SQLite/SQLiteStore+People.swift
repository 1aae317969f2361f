import Foundation
import GRDB

extension SQLiteStore: PeopleStore {
    public func createUser(_ user: UserRecord) async throws -> UserRecord {
        var user = user
        user.createdAt = StoreTime.round(user.createdAt)
        let stored = user
        try await write { db in
            try db.execute(sql: "INSERT INTO users (id, email, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [stored.id, stored.email, stored.passwordHash, stored.role.rawValue, StoreTime.encode(stored.createdAt)])
        }
        return stored
    }

    public func user(email: String) async throws -> UserRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM users WHERE email = ?", arguments: [email]).map(UserRecord.init(row:)) }
    }

    public func user(id: String) async throws -> UserRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM users WHERE id = ?", arguments: [id]).map(UserRecord.init(row:)) }
    }

    public func users() async throws -> [UserRecord] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM users ORDER BY created_at, id").map(UserRecord.init(row:)) }
    }

    /// The SQL that holds when a change to user `?` still leaves an admin: either the user is not an
    /// admin now, or another admin exists.
    private static let keepsAnAdmin = "(role != 'admin' OR (SELECT COUNT(*) FROM users WHERE role = 'admin' AND id != ?) > 0)"

    public func updateUser(id: String, role: UserRecord.Role, passwordHash: String?) async throws -> Bool {
        try await write { db in
            guard try Row.fetchOne(db, sql: "SELECT id FROM users WHERE id = ?", arguments: [id]) != nil else { throw StoreError.notFound("user \(id)") }
            try db.execute(sql: """
                UPDATE users SET role = ?, password_hash = COALESCE(?, password_hash)
                WHERE id = ? AND (? = 'admin' OR \(Self.keepsAnAdmin))
                """, arguments: [role.rawValue, passwordHash, id, role.rawValue, id])
            return db.changesCount == 1
        }
    }

    public func deleteUser(id: String) async throws -> Bool {
        try await write { db in
            guard try Row.fetchOne(db, sql: "SELECT id FROM users WHERE id = ?", arguments: [id]) != nil else { throw StoreError.notFound("user \(id)") }
            try db.execute(sql: "DELETE FROM users WHERE id = ? AND \(Self.keepsAnAdmin)", arguments: [id, id])
            return db.changesCount == 1
        }
    }

    public func revokeRefreshTokens(userID: String, at time: Date) async throws -> Int {
        try await write { db in
            try db.execute(sql: "UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                           arguments: [StoreTime.encode(time), userID])
            return db.changesCount
        }
    }

    public func createAPIKey(_ key: APIKeyRecord) async throws -> APIKeyRecord {
        var key = key
        key.createdAt = StoreTime.round(key.createdAt)
        let stored = key
        try await write { db in
            try db.execute(sql: """
                INSERT INTO api_keys (id, user_id, name, key_hash, prefix, created_at, expires_at, last_used_at, revoked_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [stored.id, stored.userID, stored.name, stored.keyHash, stored.prefix, StoreTime.encode(stored.createdAt),
                                 StoreTime.encode(stored.expiresAt), StoreTime.encode(stored.lastUsedAt), StoreTime.encode(stored.revokedAt)])
        }
        return stored
    }

    public func apiKey(hash: String) async throws -> APIKeyRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE key_hash = ?", arguments: [hash]).map(APIKeyRecord.init(row:)) }
    }

    public func apiKey(id: String) async throws -> APIKeyRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE id = ?", arguments: [id]).map(APIKeyRecord.init(row:)) }
    }

    public func apiKeys(userID: String) async throws -> [APIKeyRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at, id", arguments: [userID]).map(APIKeyRecord.init(row:))
        }
    }

    public func revokeAPIKey(id: String, at time: Date) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [StoreTime.encode(time), id])
            return db.changesCount == 1
        }
    }

    public func touchAPIKey(id: String, at time: Date) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE api_keys SET last_used_at = ? WHERE id = ?", arguments: [StoreTime.encode(time), id])
        }
    }

    public func createRefreshToken(_ token: RefreshTokenRecord) async throws -> RefreshTokenRecord {
        var token = token
        token.expiresAt = StoreTime.round(token.expiresAt)
        let stored = token
        try await write { db in
            try Self.insert(stored, db)
        }
        return stored
    }

    public func refreshTokenFamilyRevoked(familyID: String) async throws -> Bool {
        try await read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = ? AND revoked_at IS NOT NULL)",
                              arguments: [familyID]) ?? false
        }
    }

    public func refreshTokens(familyID: String) async throws -> [RefreshTokenRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM refresh_tokens WHERE family_id = ? ORDER BY id", arguments: [familyID])
                .map(RefreshTokenRecord.init(row:))
        }
    }

    private static func insert(_ token: RefreshTokenRecord, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO refresh_tokens (id, user_id, token_hash, family_id, expires_at, used_at, revoked_at, replaced_by)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [token.id, token.userID, token.tokenHash, token.familyID, StoreTime.encode(token.expiresAt),
                             StoreTime.encode(token.usedAt), StoreTime.encode(token.revokedAt), token.replacedBy])
    }

    public func rotateRefreshToken(oldID: String, next: RefreshTokenRecord, at time: Date) async throws -> Bool {
        var next = next
        next.expiresAt = StoreTime.round(next.expiresAt)
        let stored = next
        return try await write { db in
            try db.execute(sql: """
                UPDATE refresh_tokens SET used_at = ?, replaced_by = ?
                WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL
                """, arguments: [StoreTime.encode(time), stored.id, oldID])
            guard db.changesCount == 1 else { return false }
            try Self.insert(stored, db)
            return true
        }
    }

    public func replaceUnusedSuccessor(oldID: String, next: RefreshTokenRecord, at time: Date) async throws -> Bool {
        var next = next
        next.expiresAt = StoreTime.round(next.expiresAt)
        let stored = next
        return try await write { db in
            // The successor as it is now, read in the write transaction: nothing else writes in between,
            // so a grace exchange that committed just before this one is seen, and its token replaced.
            let successorID = try String.fetchOne(db, sql: """
                SELECT successor.id FROM refresh_tokens AS used
                JOIN refresh_tokens AS successor ON successor.id = used.replaced_by
                WHERE used.id = ? AND used.used_at IS NOT NULL AND used.revoked_at IS NULL
                  AND successor.used_at IS NULL AND successor.revoked_at IS NULL
                """, arguments: [oldID])
            guard let successorID else { return false }
            // Used, replaced by nothing: it was never exchanged, so it never gets the grace itself.
            try db.execute(sql: "UPDATE refresh_tokens SET used_at = ? WHERE id = ?", arguments: [StoreTime.encode(time), successorID])
            try db.execute(sql: "UPDATE refresh_tokens SET replaced_by = ? WHERE id = ?", arguments: [stored.id, oldID])
            try Self.insert(stored, db)
            return true
        }
    }

    public func deleteRefreshTokenFamilies(expiredBefore: Date, revokedBefore: Date, limit: Int) async throws -> Int {
        try await write { db in
            try db.execute(sql: """
                DELETE FROM refresh_tokens WHERE family_id IN (
                    SELECT family_id FROM refresh_tokens GROUP BY family_id
                    HAVING MAX(expires_at) < ? OR MIN(revoked_at) < ? LIMIT ?)
                """, arguments: [StoreTime.encode(expiredBefore), StoreTime.encode(revokedBefore), limit])
            return db.changesCount
        }
    }

    public func revokeRefreshTokens(familyID: String, at time: Date) async throws -> Int {
        try await write { db in
            try db.execute(sql: "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
                           arguments: [StoreTime.encode(time), familyID])
            return db.changesCount
        }
    }

    public func refreshToken(hash: String) async throws -> RefreshTokenRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM refresh_tokens WHERE token_hash = ?", arguments: [hash]).map(RefreshTokenRecord.init(row:))
        }
    }
}
