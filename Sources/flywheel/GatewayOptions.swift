import ArgumentParser
import Foundation
import Host

/// Where the gateway's settings and data are, shared by the commands that open the store.
struct GatewayOptions: ParsableArguments {
    @Option(name: .long, help: "The gateway settings file (default: ./flywheel.toml if it exists).")
    var settings: String?

    @Option(name: .long, help: "The data directory (overrides the settings; default ./data).")
    var dataDir: String?

    @Option(name: .long, help: "The plugins directory (overrides the settings; default ./plugins.d).")
    var pluginsDir: String?

    func load() throws -> (GatewayConfiguration, PolicyConfiguration) {
        var configuration = GatewayConfiguration()
        var policy = PolicyConfiguration.default
        let file = settings ?? (FileManager.default.fileExists(atPath: "flywheel.toml") ? "flywheel.toml" : nil)
        if let file {
            guard FileManager.default.fileExists(atPath: file) else { throw ValidationError("\(file): no such file") }
            do {
                configuration = try GatewayConfiguration.load(contentsOf: URL(fileURLWithPath: file))
                policy = try PolicyConfiguration.load(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw ValidationError(error.description)
            }
        }
        if let dataDir { configuration.dataDirectory = URL(fileURLWithPath: dataDir) }
        if let pluginsDir { configuration.pluginsDirectory = URL(fileURLWithPath: pluginsDir) }
        if file == nil {
            policy = try PolicyFiles.load(explicit: nil, pluginsDirectory: configuration.pluginsDirectory.path)
        }
        return (configuration, policy)
    }

    /// Opens the store alone (for commands that only read or answer, and may run beside a host).
    func openStore() throws -> SQLiteStore {
        let (configuration, _) = try load()
        do {
            return try SQLiteStore(configuration: StoreConfiguration(databaseFile: configuration.databaseFile))
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

/// JSON for one stored event, as `sessions run --json` and `sessions events --json` print it.
enum EventPrinting {
    static func json(_ event: EventRecord) -> String {
        let payload = (try? JSONSerialization.jsonObject(with: Data(event.payload.utf8))) ?? event.payload
        let object: [String: Any] = ["session_id": event.sessionID, "seq": Int(event.seq), "type": event.type,
                                     "time": ISO8601DateFormatter().string(from: event.time), "payload": payload]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    static func line(_ event: EventRecord) -> String {
        let object = (try? JSONSerialization.jsonObject(with: Data(event.payload.utf8)) as? [String: Any]) ?? [:]
        let summary: String
        switch event.type {
        case "message": summary = "\(object["role"] as? String ?? "?"): \(object["text"] as? String ?? "")"
        case "status": summary = object["message"] as? String ?? ""
        case "host.command.decision":
            summary = "\(object["decision"] as? String ?? "?") \(object["command"] as? String ?? "")" + ((object["rule_id"] as? String).map { " [\($0)]" } ?? "")
        case "host.command.output": summary = (object["text"] as? String ?? "").trimmingCharacters(in: .newlines)
        case "host.session.state": summary = (object["state"] as? String ?? "") + ((object["error"] as? String).map { ": \($0)" } ?? "")
        case "completed": summary = object["summary"] as? String ?? ""
        case "failed": summary = object["error"] as? String ?? ""
        default: summary = event.payload.count > 160 ? String(event.payload.prefix(160)) + "…" : event.payload
        }
        return "[\(event.seq)] \(event.type) \(summary)"
    }
}
