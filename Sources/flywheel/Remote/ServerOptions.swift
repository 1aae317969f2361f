import ArgumentParser
import FlywheelClient
import Foundation
import Host

/// `--server`: send the command to a running `flywheel serve` instead of working on the local data
/// directory. Credentials: `FLYWHEEL_TOKEN` (an API key) when set, else the sign-in `flywheel login`
/// kept for that server.
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A gateway server to send the command to (default: FLYWHEEL_URL); without one, the command works on the local data directory.", valueName: "url"))
    var server: String?

    /// The server given by flag or environment, if any.
    var url: String? {
        if let server { return server }
        let fromEnvironment = ProcessInfo.processInfo.environment["FLYWHEEL_URL"] ?? ""
        return fromEnvironment.isEmpty ? nil : fromEnvironment
    }

    /// A client of the server, when one is given; nil for the local data directory.
    func client() throws -> FlywheelClient? {
        guard let server = try normalizedServer() else { return nil }
        if let token = ProcessInfo.processInfo.environment["FLYWHEEL_TOKEN"], !token.isEmpty {
            return try FlywheelClient(server: server, credentials: .bearer(token))
        }
        return try FlywheelClient(server: server, credentials: .signIn(signInStore(server)))
    }

    /// A client that keeps its sign-in in the credentials file, whatever FLYWHEEL_TOKEN says: for
    /// `login` and `logout`, which manage that sign-in.
    func signInClient(for command: String) throws -> (FlywheelClient, FileTokenStore) {
        guard let server = try normalizedServer() else {
            throw ValidationError("\(command) talks to a server: give --server URL or set FLYWHEEL_URL")
        }
        let store = signInStore(server)
        return (try FlywheelClient(server: server, credentials: .signIn(store)), store)
    }

    private func signInStore(_ server: String) -> FileTokenStore {
        FileTokenStore(file: FileTokenStore.defaultFile(), server: server)
    }

    private func normalizedServer() throws -> String? {
        guard let url else { return nil }
        do {
            return try FlywheelClient.normalized(server: url)
        } catch {
            throw ValidationError("\(server == nil ? "FLYWHEEL_URL" : "--server"): \(error)")
        }
    }
}

extension EventRecord {
    /// An event as the API sent it, for the printers the local commands use.
    init(_ event: Event) {
        self.init(sessionID: event.sessionId, seq: event.seq, type: event.type, time: event.time, payload: event.data.text)
    }
}

/// Pretty JSON of what the API answered, for `--json`.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
