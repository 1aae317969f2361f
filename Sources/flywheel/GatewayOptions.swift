import ArgumentParser
import FlywheelClient
import Foundation
import Host
import Logging

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

    /// Opens the gateway's services: as the owner of the data directory when no other process
    /// holds it, or as a client that sends changes to the process that does.
    func openGateway(scope: SessionScheduler.Scope = .all, requireOwnership: Bool = false, readOnly: Bool = false, logger: Logger = LoggingOptions.makeLogger(level: .warning)) async throws -> Gateway {
        let (configuration, policy) = try load()
        do {
            return try await Gateway.open(configuration: configuration, policy: policy, environment: ProcessInfo.processInfo.environment,
                                          scope: scope, requireOwnership: requireOwnership, readOnly: readOnly, logger: logger)
        } catch let error as StoreError {
            throw DataDirectoryFailure(error)
        } catch let error as HostLock.Busy {
            throw CommandFailure(error.description)
        } catch let error as PluginDirectoryError {
            throw CommandFailure(error.description)
        } catch let error as SecretKeyLoader.Failure {
            throw CommandFailure(error.description)
        }
    }
}

/// A command that could not do its work, for a reason other than its arguments: printed as
/// `Error: <reason>` without the usage text, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A data directory the command cannot use: exit status 65 for a damaged database, 73 when it cannot
/// be written, 1 otherwise; never the usage text.
struct DataDirectoryFailure: Error, CustomStringConvertible {
    var error: StoreError
    init(_ error: StoreError) { self.error = error }

    /// The failure for a store error about the data itself (read-only, damaged); nil for others.
    init?(dataError error: StoreError) {
        guard error.kind == .readOnly || error.kind == .corrupt else { return nil }
        self.error = error
    }
    var description: String { error.message }

    var exitCode: ExitCode {
        switch error.kind {
        case .corrupt: ExitCode(65)
        case .readOnly: ExitCode(73)
        default: ExitCode(1)
        }
    }
}

/// Runs a command body, turning the host's typed errors into clear messages and exit statuses.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as StoreError where error.kind == .invalidCursor {
        throw ValidationError(error.message)
    } catch let error as FlywheelAPIError {
        throw CommandFailure(error.description)
    } catch let error as FlywheelClientError {
        throw CommandFailure(error.description)
    } catch {
        let failure = (error as? DataDirectoryFailure) ?? (error as? StoreError).flatMap { DataDirectoryFailure(dataError: $0) }
        if let failure {
            FileHandle.standardError.write(Data("Error: \(failure.description)\n".utf8))
            throw failure.exitCode
        }
        // The host's typed errors say exactly what is wrong; print them as they are, without usage text.
        let known: [any Error.Type] = [SessionNotFound.self, IllegalSessionTransition.self, PauseUnsupported.self, HeldCommandNotFound.self,
                                      HeldCommandAlreadyDecided.self, ControlUnavailable.self, AgentNotFound.self, DriverNotLoaded.self,
                                      AgentConfigurationRejected.self, InvalidRequest.self]
        if known.contains(where: { type(of: error) == $0 }) { throw CommandFailure("\(error)") }
        throw error
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

    /// The state a `host.session.state` event announces.
    static func state(of event: EventRecord) -> SessionState? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(event.payload.utf8)) as? [String: Any] else { return nil }
        return (object["state"] as? String).flatMap(SessionState.init(rawValue:))
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
