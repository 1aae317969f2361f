import Foundation
import GRDB

/// The embedded store: one SQLite file in WAL mode with foreign keys on, migrated at open. Readers
/// run in parallel and never block the single writer. Each concern's queries live in an extension
/// of their own (`SQLiteStore+Sessions.swift`, ...).
///
/// A database in a directory the process cannot write to is opened read-only: reads work, and
/// every write fails with ``StoreError`` `.readOnly`.
public final class SQLiteStore: Sendable {
    let database: any DatabaseWriter
    let eventWriter: EventGroupCommit
    /// Session rows read or written here, when ``StoreConfiguration/cachesSessions`` is on.
    let sessionCache: SessionRecordCache?
    public let configuration: StoreConfiguration
    /// True when the database could only be opened for reading.
    public let isReadOnly: Bool

    /// Opens (creating if needed) the database and runs pending migrations before returning.
    public init(configuration: StoreConfiguration) throws {
        self.configuration = configuration
        sessionCache = configuration.cachesSessions ? SessionRecordCache() : nil
        let file = configuration.databaseFile
        let directory = file.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError(kind: .readOnly, message: "cannot create the data directory \(directory.path): \((error as NSError).localizedDescription)")
        }
        try Self.checkHeader(file)
        if FileManager.default.fileExists(atPath: file.path), !FileManager.default.isWritableFile(atPath: directory.path)
            || !FileManager.default.isWritableFile(atPath: file.path) {
            database = try Self.openReadOnly(file)
            isReadOnly = true
        } else if !FileManager.default.isWritableFile(atPath: directory.path) {
            throw StoreError(kind: .readOnly, message: "the data directory \(directory.path) is not writable and holds no database yet")
        } else {
            database = try Self.openWritable(file, configuration: configuration)
            isReadOnly = false
        }
        eventWriter = EventGroupCommit(writer: database)
    }

    private static func openWritable(_ file: URL, configuration: StoreConfiguration) throws -> DatabasePool {
        var grdb = Configuration()
        grdb.foreignKeysEnabled = true
        grdb.maximumReaderCount = configuration.maximumReaders
        grdb.busyMode = .timeout(10)
        let synchronous = configuration.durability == .full ? "FULL" : "NORMAL"
        grdb.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }
        // Turning a new file into a WAL database is refused (busy) while another process does the
        // same: that settles within milliseconds, so try again a few times before giving up.
        var attempt = 0
        while true {
            do {
                let pool = try DatabasePool(path: file.path, configuration: grdb)
                if !configuration.upgradesSchema { try awaitSchema(pool, file: file) }
                try migrate(pool)
                return pool
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && attempt < 50 {
                attempt += 1
                usleep(20_000)
            } catch {
                throw classify(error, opening: file)
            }
        }
    }

    /// Runs pending migrations. Two processes opening a new database at once can both see a
    /// migration as pending; the one that loses finds its tables made by the other (or, for a
    /// migration that rebuilds a table, the migration already recorded: its transaction rolls back)
    /// and, on the next try, nothing left to do.
    private static func migrate(_ pool: DatabasePool) throws {
        var attempt = 0
        while true {
            do {
                try StoreMigrations.migrator.migrate(pool)
                return
            } catch let error as DatabaseError where (error.resultCode == .SQLITE_ERROR || error.resultCode == .SQLITE_CONSTRAINT) && attempt < 3 {
                attempt += 1
                // The other process has committed by now (this one waited for its write lock).
                guard try pool.read({ try StoreMigrations.migrator.hasBeenSuperseded($0) }) == false else { throw error }
            }
        }
    }

    /// For a process that may not upgrade the schema: a new database (no migration yet) it may set
    /// up; one being set up by another process it waits for, briefly; one that needs an upgrade it
    /// refuses, leaving it as it is.
    private static func awaitSchema(_ pool: DatabasePool, file: URL) throws {
        // Setting up a new database takes milliseconds.
        let deadline = ContinuousClock.now + .milliseconds(500)
        while true {
            let (applied, complete) = try pool.read { db in
                (try StoreMigrations.migrator.appliedIdentifiers(db), try StoreMigrations.migrator.hasCompletedMigrations(db))
            }
            if applied.isEmpty || complete { return }
            guard ContinuousClock.now < deadline else {
                throw StoreError(kind: .database, message: "\(file.path) was made by an older flywheel and needs a schema upgrade, which only "
                    + "the process that owns the data directory makes (flywheel serve, or a command that runs sessions). Stop the one "
                    + "running, then start this version")
            }
            usleep(50_000)
        }
    }

    private static func openReadOnly(_ file: URL) throws -> DatabaseQueue {
        var grdb = Configuration()
        grdb.readonly = true
        grdb.foreignKeysEnabled = true
        do {
            var queue: DatabaseQueue
            do {
                queue = try DatabaseQueue(path: file.path, configuration: grdb)
                _ = try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM sqlite_master") }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_READONLY || error.resultCode == .SQLITE_CANTOPEN {
                // A WAL database that no gateway has open (no -wal file) cannot be read by a process
                // that cannot create its -shm file beside it: read a snapshot copy instead.
                guard !FileManager.default.fileExists(atPath: file.path + "-wal") else { throw error }
                queue = try DatabaseQueue(path: try snapshot(of: file).path, configuration: grdb)
            }
            guard try queue.read({ try StoreMigrations.migrator.hasCompletedMigrations($0) }) else {
                throw StoreError(kind: .readOnly, message: "\(file.path) needs a schema upgrade, but it is read-only here")
            }
            return queue
        } catch let error as StoreError {
            throw error
        } catch {
            throw classify(error, opening: file)
        }
    }

    /// Copies a database nobody writes into a private temporary file, removed when the process ends
    /// or the next snapshot is taken.
    private static func snapshot(of file: URL) throws -> URL {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("flywheel-readonly-\(getpid()).sqlite")
        try? FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(at: file, to: copy)
        atexit { unlink(FileManager.default.temporaryDirectory.appendingPathComponent("flywheel-readonly-\(getpid()).sqlite").path) }
        return copy
    }

    /// Refuses a file that is not a SQLite database, or is shorter than its own header says, before
    /// SQLite opens it: opening a truncated file for writing could make a fresh database of it.
    static func checkHeader(_ file: URL) throws {
        guard let handle = FileHandle(forReadingAtPath: file.path) else { return }  // Missing: a new database.
        defer { try? handle.close() }
        let header = [UInt8]((try? handle.read(upToCount: 100)) ?? Data())
        guard !header.isEmpty else { return }  // Empty: SQLite makes it a new database.
        func damaged(_ detail: String) -> StoreError {
            StoreError(kind: .corrupt, message: "\(file.path) is not a Flywheel database or is damaged (\(detail)); "
                + "restore it from a backup or move it aside to start empty")
        }
        guard header.count == 100, header.starts(with: Array("SQLite format 3\u{0}".utf8)) else { throw damaged("no SQLite header") }
        func integer(_ offset: Int, _ size: Int) -> UInt64 { header[offset..<(offset + size)].reduce(0) { $0 << 8 | UInt64($1) } }
        let pageSize = integer(16, 2) == 1 ? 65_536 : integer(16, 2)
        let pages = integer(28, 4)
        // The page count in the header is valid only when written with the current change counter.
        guard integer(24, 4) == integer(92, 4), pages > 0, let size = try? handle.seekToEnd() else { return }
        if size < pageSize * pages { throw damaged("truncated: \(size) bytes of \(pageSize * pages)") }
    }

    /// Names what is wrong with a database that cannot be opened, so an operator knows what to do.
    static func classify(_ error: any Error, opening file: URL) -> StoreError {
        guard let error = error as? DatabaseError else {
            return StoreError(kind: .database, message: "cannot open \(file.path): \(error)")
        }
        switch error.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return StoreError(kind: .corrupt, message: "\(file.path) is not a Flywheel database or is damaged (\(error.message ?? "corrupt")); "
                + "restore it from a backup or move it aside to start empty")
        case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM:
            return StoreError(kind: .readOnly, message: "cannot write \(file.path): \(error.message ?? "read-only")")
        default:
            return StoreError(kind: .database, message: "cannot open \(file.path): \(error)")
        }
    }

    // MARK: Access

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.read(body)
        } catch let error as DatabaseError {
            throw Self.mapped(error)
        }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        guard !isReadOnly else { throw readOnlyError }
        do {
            return try await database.write(body)
        } catch let error as DatabaseError {
            throw Self.mapped(error)
        }
    }

    var readOnlyError: StoreError {
        StoreError(kind: .readOnly, message: "\(configuration.databaseFile.path) is read-only here: reads work, changes are refused")
    }

    static func mapped(_ error: DatabaseError) -> StoreError {
        switch error.extendedResultCode {
        case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY, .SQLITE_CONSTRAINT_FOREIGNKEY:
            return StoreError(kind: .conflict, message: "\(error)")
        default:
            switch error.resultCode {
            case .SQLITE_READONLY: return StoreError(kind: .readOnly, message: "\(error)")
            case .SQLITE_CORRUPT, .SQLITE_NOTADB: return StoreError(kind: .corrupt, message: "\(error)")
            default: return StoreError(kind: .database, message: "\(error)")
            }
        }
    }
}
