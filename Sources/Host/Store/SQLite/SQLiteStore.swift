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
    public let configuration: StoreConfiguration
    /// True when the database could only be opened for reading.
    public let isReadOnly: Bool

    /// Opens (creating if needed) the database and runs pending migrations before returning.
    public init(configuration: StoreConfiguration) throws {
        self.configuration = configuration
        let file = configuration.databaseFile
        let directory = file.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError(kind: .readOnly, message: "cannot create the data directory \(directory.path): \((error as NSError).localizedDescription)")
        }
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
        do {
            let pool = try DatabasePool(path: file.path, configuration: grdb)
            try StoreMigrations.migrator.migrate(pool)
            return pool
        } catch {
            throw classify(error, opening: file)
        }
    }

    private static func openReadOnly(_ file: URL) throws -> DatabaseQueue {
        var grdb = Configuration()
        grdb.readonly = true
        grdb.foreignKeysEnabled = true
        do {
            let queue = try DatabaseQueue(path: file.path, configuration: grdb)
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
