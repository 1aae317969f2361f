import Foundation
import GRDB

extension SQLiteStore: AgentStore {
    public func createAgent(_ agent: AgentRecord) async throws -> AgentRecord {
        var agent = agent
        agent.createdAt = StoreTime.round(agent.createdAt)
        agent.updatedAt = StoreTime.round(agent.updatedAt)
        let stored = agent
        try await write { db in try Self.insert(stored, db) }
        return stored
    }

    public func upsertAgent(_ agent: AgentRecord) async throws -> AgentRecord {
        let now = StoreTime.round(Date())
        return try await write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE name = ?", arguments: [agent.name]) {
                var existing = AgentRecord(row: row)
                existing.driverID = agent.driverID
                existing.configJSON = agent.configJSON
                existing.environmentJSON = agent.environmentJSON
                existing.workspace = agent.workspace
                existing.network = agent.network
                existing.status = agent.status
                existing.updatedAt = now
                try Self.update(existing, db)
                return existing
            }
            var created = agent
            created.createdAt = now
            created.updatedAt = now
            try Self.insert(created, db)
            return created
        }
    }

    public func updateAgent(_ agent: AgentRecord) async throws -> AgentRecord {
        var agent = agent
        agent.updatedAt = StoreTime.round(Date())
        let stored = agent
        try await write { db in try Self.update(stored, db) }
        return stored
    }

    public func deleteAgent(id: String) async throws {
        try await write { db in
            let sessions = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sessions WHERE agent_id = ?", arguments: [id]) ?? 0
            guard sessions == 0 else {
                throw StoreError(kind: .conflict, message: "agent \(id) has \(sessions) session(s); disable it instead to keep their history")
            }
            try db.execute(sql: "DELETE FROM agents WHERE id = ?", arguments: [id])
            if db.changesCount == 0 { throw StoreError.notFound("agent \(id)") }
        }
    }

    public func agent(id: String) async throws -> AgentRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE id = ?", arguments: [id]).map(AgentRecord.init(row:)) }
    }

    public func agent(named name: String) async throws -> AgentRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE name = ?", arguments: [name]).map(AgentRecord.init(row:)) }
    }

    public func agents() async throws -> [AgentRecord] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM agents ORDER BY name").map(AgentRecord.init(row:)) }
    }

    private static func insert(_ agent: AgentRecord, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO agents (id, name, driver_id, config, environment, workspace, network, status, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [agent.id, agent.name, agent.driverID, agent.configJSON, agent.environmentJSON, agent.workspace,
                             agent.network.map { $0 ? "on" : "off" }, agent.status.rawValue, StoreTime.encode(agent.createdAt), StoreTime.encode(agent.updatedAt)])
    }

    private static func update(_ agent: AgentRecord, _ db: Database) throws {
        try db.execute(sql: """
            UPDATE agents SET name = ?, driver_id = ?, config = ?, environment = ?, workspace = ?, network = ?, status = ?, updated_at = ?
            WHERE id = ?
            """, arguments: [agent.name, agent.driverID, agent.configJSON, agent.environmentJSON, agent.workspace,
                             agent.network.map { $0 ? "on" : "off" }, agent.status.rawValue,
                             StoreTime.encode(agent.updatedAt), agent.id])
        if db.changesCount == 0 { throw StoreError.notFound("agent \(agent.id)") }
    }
}
