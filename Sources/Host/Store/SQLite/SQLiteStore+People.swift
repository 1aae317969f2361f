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

    public func createRefreshToken(_ token: RefreshTokenRecord) async throws -> RefreshTokenRecord {
        var token = token
        token.expiresAt = StoreTime.round(token.expiresAt)
        let stored = token
        try await write { db in
            try db.execute(sql: "INSERT INTO refresh_tokens (id, user_id, token_hash, expires_at, revoked_at, replaced_by) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [stored.id, stored.userID, stored.tokenHash, StoreTime.encode(stored.expiresAt),
                                       StoreTime.encode(stored.revokedAt), stored.replacedBy])
        }
        return stored
    }

    public func refreshToken(hash: String) async throws -> RefreshTokenRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM refresh_tokens WHERE token_hash = ?", arguments: [hash]).map(RefreshTokenRecord.init(row:))
        }
    }
}
