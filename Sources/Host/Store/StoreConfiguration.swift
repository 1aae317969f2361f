import Foundation

/// Where and how the SQLite store keeps its data.
public struct StoreConfiguration: Sendable {
    /// How hard a commit tries to reach the disk.
    public enum Durability: String, Sendable {
        /// WAL with synchronous=NORMAL: a committed transaction survives a crash of the process (kill -9),
        /// and is only at risk if the machine loses power before the next checkpoint.
        case normal
        /// synchronous=FULL: every commit is flushed to disk before it returns; survives power loss.
        case full
    }

    public var databaseFile: URL
    public var durability: Durability
    /// How many readers may run at once.
    public var maximumReaders: Int
    /// Keep session rows in memory between reads. Only for the one process that makes every change
    /// to the database (the owner of the data directory): another writer's changes would not be seen.
    public var cachesSessions: Bool
    /// Upgrade a database that already has a schema. Only the owner of the data directory should:
    /// another process is a client of a running owner, which may be an older version, and must not
    /// have the schema changed under it. A database with no schema yet is set up by anyone.
    public var upgradesSchema: Bool

    public init(databaseFile: URL, durability: Durability = .normal, maximumReaders: Int = 4, cachesSessions: Bool = false,
                upgradesSchema: Bool = true) {
        self.databaseFile = databaseFile
        self.durability = durability
        self.maximumReaders = maximumReaders
        self.cachesSessions = cachesSessions
        self.upgradesSchema = upgradesSchema
    }
}
