import ArgumentParser
import FlywheelClient
import Foundation
import Host
import Server

struct SessionsCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Queue a session: a task for an agent. It runs in the server (or the local `flywheel serve`).",
        discussion: "Prints the session id. Follow it with `flywheel sessions tail <id>`.")

    @Option(name: .long, help: "The agent (id or name).") var agent: String
    @Flag(name: .long, help: "Print the session as JSON.") var json = false
    @Argument(help: "The task.") var task: String
    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        if let client = try server.client() {
            try await reportingFailures {
                let agentID = try await client.agent(agent).id
                let session = try await client.createSession(agentId: agentID, task: task)
                if json { return try printJSON(session) }
                print(session.id)
            }
            return
        }
        try await reportingFailures {
            let gateway = try await gateway.openGateway()
            let session = try await gateway.sessions.create(agentID: try await gateway.agents.get(agent).id, task: task)
            if json { return try printJSON(FlywheelClient.decode(Session.self, from: APIShapes.session(session))) }
            print(session.id)
        }
    }
}

struct SessionsTailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail", abstract: "Follow a session live: its events after --after, then each new one as it is stored.",
        discussion: """
            Against a server the events come over its WebSocket; a dropped connection (the server \
            restarting, say) is opened again and resumed from the last event printed, so none is lost or \
            printed twice. Locally it reads the data directory. It ends after the session's final state, \
            with exit status 0 done, 1 failed, 2 cancelled (a paused session is followed until it ends), \
            or 3 when the session cannot be followed (the error is printed).
            """)

    @Argument(help: "The session id.") var id: String
    @Option(name: .long, help: "Start after this seq (0: from the first event).") var after: Int64 = 0
    @Flag(name: .long, help: "Print JSON lines.") var json = false
    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        guard after >= 0 else { throw ValidationError("--after must be 0 or more") }
        let json = self.json
        var final: String?
        do {
            if let client = try server.client() {
                try await reportingFailures {
                    final = try await client.follow(sessionId: id, after: after) { event in
                        let record = EventRecord(event)
                        await writeLine(json ? EventPrinting.json(record) : EventPrinting.line(record))
                    }
                }
            } else {
                try await reportingFailures {
                    let gateway = try await gateway.openGateway(readOnly: true)
                    final = try await followLocally(gateway.events, gateway.sessions, json: json)
                }
            }
        } catch let failure as CommandFailure {
            // Not the session's outcome: it could not be followed.
            FileHandle.standardError.write(Data("Error: \(failure.description)\n".utf8))
            throw ExitCode(3)
        }
        switch final {
        case "done": return
        case "cancelled": throw ExitCode(2)
        default: throw ExitCode(1)
        }
    }

    /// Reads the store for new events: the process that runs the session may be another one.
    private func followLocally(_ events: EventService, _ sessions: SessionService, json: Bool) async throws -> String? {
        var last = after
        while true {
            let page = try await events.events(sessionID: id, after: last, limit: 1000)
            for event in page {
                await writeLine(json ? EventPrinting.json(event) : EventPrinting.line(event))
                last = event.seq
                if event.type == "host.session.state", let state = EventPrinting.state(of: event), state.isTerminal {
                    return state.rawValue
                }
            }
            if page.isEmpty {
                // Ended with nothing after `last` (followed from its end, or its history removed).
                let session = try await sessions.show(id)
                if session.state.isTerminal {
                    // Its last events may have been stored between the two reads.
                    if try await events.events(sessionID: id, after: last, limit: 1).isEmpty { return session.state.rawValue }
                    continue
                }
            }
            if page.count < 1000 { try await Task.sleep(for: .milliseconds(200)) }
        }
    }
}
