import GRDB

/// The schema, as versioned migrations run at open. Never edit a released migration: add one.
enum StoreMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE users (
                    id TEXT PRIMARY KEY NOT NULL,
                    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    password_hash TEXT NOT NULL,
                    role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY NOT NULL,
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    key_hash TEXT NOT NULL UNIQUE,
                    prefix TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER,
                    last_used_at INTEGER,
                    revoked_at INTEGER
                );
                CREATE TABLE refresh_tokens (
                    id TEXT PRIMARY KEY NOT NULL,
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    token_hash TEXT NOT NULL UNIQUE,
                    expires_at INTEGER NOT NULL,
                    revoked_at INTEGER,
                    replaced_by TEXT
                );
                CREATE TABLE agents (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL UNIQUE,
                    driver_id TEXT NOT NULL,
                    config TEXT NOT NULL CHECK (json_valid(config)),
                    environment TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(environment)),
                    workspace TEXT,
                    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE accounts (
                    id TEXT PRIMARY KEY NOT NULL,
                    provider TEXT NOT NULL,
                    label TEXT NOT NULL,
                    encrypted_credentials BLOB NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('verified', 'cooldown', 'disabled', 'invalid')),
                    cooldown_until INTEGER,
                    last_used_at INTEGER,
                    created_at INTEGER NOT NULL,
                    UNIQUE (provider, label)
                );
                CREATE TABLE sessions (
                    id TEXT PRIMARY KEY NOT NULL,
                    agent_id TEXT NOT NULL REFERENCES agents(id),
                    task TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('created', 'queued', 'running', 'paused', 'done', 'failed', 'cancelled')),
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    started_at INTEGER,
                    ended_at INTEGER,
                    error TEXT,
                    waiting_reason TEXT,
                    account_id TEXT REFERENCES accounts(id) ON DELETE SET NULL,
                    last_seq INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX sessions_by_state ON sessions(state, created_at);
                CREATE INDEX sessions_by_created ON sessions(created_at DESC, id DESC);
                CREATE TABLE events (
                    session_id TEXT NOT NULL REFERENCES sessions(id),
                    seq INTEGER NOT NULL CHECK (seq > 0),
                    type TEXT NOT NULL,
                    time INTEGER NOT NULL,
                    payload TEXT NOT NULL,
                    PRIMARY KEY (session_id, seq)
                ) WITHOUT ROWID;
                CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
                    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
                CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
                    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
                CREATE TABLE checkpoints (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    session_id TEXT NOT NULL REFERENCES sessions(id),
                    seq INTEGER NOT NULL,
                    state BLOB NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX checkpoints_by_session ON checkpoints(session_id, id);
                CREATE TABLE command_decisions (
                    id TEXT PRIMARY KEY NOT NULL,
                    session_id TEXT NOT NULL REFERENCES sessions(id),
                    command TEXT NOT NULL,
                    decision TEXT NOT NULL CHECK (decision IN ('allow', 'deny', 'warn', 'log', 'ask')),
                    rule_id TEXT,
                    pack_id TEXT,
                    severity TEXT,
                    reason TEXT,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'blocked', 'ran', 'failed')),
                    exit_code INTEGER,
                    created_at INTEGER NOT NULL,
                    decided_at INTEGER,
                    decided_by TEXT
                );
                CREATE INDEX command_decisions_by_session ON command_decisions(session_id, created_at);
                CREATE INDEX command_decisions_pending ON command_decisions(status) WHERE status = 'pending';
                """)
        }
        migrator.registerMigration("v2") { db in
            // Held and refused commands get statuses of their own and a note of what became of them;
            // SQLite cannot change a CHECK constraint, so the table is rebuilt with its rows.
            try db.execute(sql: """
                CREATE TABLE command_decisions_v2 (
                    id TEXT PRIMARY KEY NOT NULL,
                    session_id TEXT NOT NULL REFERENCES sessions(id),
                    command TEXT NOT NULL,
                    decision TEXT NOT NULL CHECK (decision IN ('allow', 'deny', 'warn', 'log', 'ask')),
                    rule_id TEXT,
                    pack_id TEXT,
                    severity TEXT,
                    reason TEXT,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'blocked', 'ran', 'failed',
                                                           'refused', 'cancelled')),
                    exit_code INTEGER,
                    created_at INTEGER NOT NULL,
                    decided_at INTEGER,
                    decided_by TEXT,
                    outcome TEXT
                );
                INSERT INTO command_decisions_v2 (id, session_id, command, decision, rule_id, pack_id, severity, reason, status,
                                                  exit_code, created_at, decided_at, decided_by)
                    SELECT id, session_id, command, decision, rule_id, pack_id, severity, reason, status,
                           exit_code, created_at, decided_at, decided_by FROM command_decisions;
                DROP TABLE command_decisions;
                ALTER TABLE command_decisions_v2 RENAME TO command_decisions;
                CREATE INDEX command_decisions_by_session ON command_decisions(session_id, created_at, id);
                CREATE INDEX command_decisions_pending ON command_decisions(status, created_at, id) WHERE status = 'pending';
                CREATE INDEX sessions_by_agent ON sessions(agent_id, created_at);
                CREATE INDEX sessions_by_ended ON sessions(ended_at) WHERE ended_at IS NOT NULL;
                CREATE INDEX accounts_by_provider ON accounts(provider, created_at, id);
                """)
        }
        migrator.registerMigration("v3") { db in
            // Retention may delete the history of sessions that have ended, and nothing else.
            try db.execute(sql: """
                DROP TRIGGER events_are_append_only_delete;
                CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
                    WHEN (SELECT ended_at FROM sessions WHERE id = OLD.session_id) IS NULL
                    BEGIN SELECT RAISE(ABORT, 'events of a session that has not ended are append-only'); END;
                ALTER TABLE sessions ADD COLUMN history_pruned_at INTEGER;
                """)
        }
        migrator.registerMigration("v4") { db in
            // Per-agent network for sandboxed commands: 'on', 'off', or NULL for the gateway's default.
            try db.execute(sql: "ALTER TABLE agents ADD COLUMN network TEXT CHECK (network IN ('on', 'off'))")
        }
        migrator.registerMigration("v5") { db in
            // Refresh tokens rotate within a family (one sign-in): a token used twice revokes its
            // whole family. A token from before families is its own family.
            try db.execute(sql: """
                ALTER TABLE refresh_tokens ADD COLUMN family_id TEXT;
                ALTER TABLE refresh_tokens ADD COLUMN used_at INTEGER;
                UPDATE refresh_tokens SET family_id = id WHERE family_id IS NULL;
                CREATE INDEX refresh_tokens_by_family ON refresh_tokens(family_id);
                """)
        }
        migrator.registerMigration("v6") { db in
            // GET /api/dcg/decisions lists every session's decisions, newest first.
            try db.execute(sql: "CREATE INDEX command_decisions_by_time ON command_decisions(created_at, id)")
        }
        migrator.registerMigration("v7") { db in
            // 'delegated': allowed and handed to a driver that asked for the decision only (ABI 1.1).
            // SQLite cannot change a CHECK constraint, so the table is rebuilt with its rows and indexes.
            try db.execute(sql: """
                CREATE TABLE command_decisions_v7 (
                    id TEXT PRIMARY KEY NOT NULL,
                    session_id TEXT NOT NULL REFERENCES sessions(id),
                    command TEXT NOT NULL,
                    decision TEXT NOT NULL CHECK (decision IN ('allow', 'deny', 'warn', 'log', 'ask')),
                    rule_id TEXT,
                    pack_id TEXT,
                    severity TEXT,
                    reason TEXT,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'blocked', 'ran', 'failed',
                                                           'refused', 'cancelled', 'delegated')),
                    exit_code INTEGER,
                    created_at INTEGER NOT NULL,
                    decided_at INTEGER,
                    decided_by TEXT,
                    outcome TEXT
                );
                INSERT INTO command_decisions_v7 (id, session_id, command, decision, rule_id, pack_id, severity, reason, status,
                                                  exit_code, created_at, decided_at, decided_by, outcome)
                    SELECT id, session_id, command, decision, rule_id, pack_id, severity, reason, status,
                           exit_code, created_at, decided_at, decided_by, outcome FROM command_decisions;
                DROP TABLE command_decisions;
                ALTER TABLE command_decisions_v7 RENAME TO command_decisions;
                CREATE INDEX command_decisions_by_session ON command_decisions(session_id, created_at, id);
                CREATE INDEX command_decisions_pending ON command_decisions(status, created_at, id) WHERE status = 'pending';
                CREATE INDEX command_decisions_by_time ON command_decisions(created_at, id);
                """)
        }
        migrator.registerMigration("v8") { db in
            // Why an account is out of rotation (a refused key, no credit left), for an operator to see.
            try db.execute(sql: "ALTER TABLE accounts ADD COLUMN status_reason TEXT")
        }
        return migrator
    }
}
