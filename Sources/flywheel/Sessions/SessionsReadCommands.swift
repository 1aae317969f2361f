import ArgumentParser
import FlywheelClient
import Foundation
import Host
import Server

struct SessionsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List sessions, newest first.")

    @Option(name: .long, help: "Only sessions in this state (created, queued, running, paused, done, failed, cancelled).")
    var state: [String] = []

    @Option(name: .long, help: "Only sessions of this agent (id).")
    var agent: String?

    @Option(name: .long, help: "How many to show (1-1000; 1-200 on a server).")
    var limit = 50

    @Option(name: .long, help: "Continue after this cursor (printed by the previous page).")
    var cursor: String?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        if let client = try server.client() {
            try await reportingFailures {
                let page = try await client.sessions(states: state, agentId: agent, limit: limit, cursor: cursor)
                if json { return try printJSON(page) }
                for session in page.sessions {
                    print(SessionsListCommand.line(id: session.id, state: session.state, createdAt: session.createdAt, task: session.task))
                }
                if let next = page.nextCursor { print("more: --cursor \(next)") }
            }
            return
        }
        var states: Set<SessionState>?
        if !state.isEmpty {
            states = try Set(state.map { name in
                guard let parsed = SessionState(rawValue: name) else { throw ValidationError("unknown state '\(name)'") }
                return parsed
            })
        }
        var page = SessionPage(sessions: [], nextCursor: nil)
        try await reportingFailures {
            page = try await gateway.openGateway(readOnly: true).sessions.list(SessionFilter(states: states, agentID: agent), limit: limit, cursor: cursor)
        }
        if json { return try printJSON(FlywheelClient.decode(APISessionPage.self, from: APIShapes.sessionPage(page))) }
        for session in page.sessions {
            print(Self.line(id: session.id, state: session.state.rawValue, createdAt: session.createdAt, task: session.task))
        }
        if let next = page.nextCursor { print("more: --cursor \(next)") }
    }

    static func line(id: String, state: String, createdAt: Date, task: String) -> String {
        let firstLine = task.split(separator: "\n", omittingEmptySubsequences: false).first ?? ""
        return "\(id)  \(state.padding(toLength: 9, withPad: " ", startingAt: 0))  \(ISO8601DateFormatter().string(from: createdAt))  \(firstLine.prefix(60))"
    }
}

/// What `sessions show` prints, with or without a server.
struct SessionShown: Encodable {
    var session: Session
    var commandDecisions: [CommandDecision]
}

struct SessionsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one session and its command decisions.")

    @Argument(help: "The session id.")
    var id: String

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        if let client = try server.client() {
            try await reportingFailures {
                try printJSON(SessionShown(session: try await client.session(id), commandDecisions: try await client.decisions(sessionId: id)))
            }
            return
        }
        try await reportingFailures {
            let sessions = try await gateway.openGateway(readOnly: true).sessions
            let session = try await sessions.show(id)
            try printJSON(SessionShown(session: try FlywheelClient.decode(Session.self, from: APIShapes.session(session)),
                                       commandDecisions: try FlywheelClient.decode([CommandDecision].self,
                                                                                   from: APIShapes.decisions(try await sessions.commandDecisions(id)))))
        }
    }
}

struct SessionsEventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Print a session's stored events in order.")

    @Argument(help: "The session id.")
    var id: String

    @Option(name: .long, help: "Only events after this seq.")
    var after: Int64 = 0

    @Flag(name: .long, help: "Print JSON lines.")
    var json = false

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        if let client = try server.client() {
            try await reportingFailures {
                var cursor = after
                while true {
                    let page = try await client.events(sessionId: id, after: cursor, limit: 1000)
                    for event in page { print(json ? EventPrinting.json(EventRecord(event)) : EventPrinting.line(EventRecord(event))) }
                    guard let last = page.last, page.count == 1000 else { break }
                    cursor = last.seq
                }
            }
            return
        }
        try await reportingFailures {
            let events = try await gateway.openGateway(readOnly: true).events
            var cursor = after
            while true {
                let page = try await events.events(sessionID: id, after: cursor, limit: 1000)
                for event in page { print(json ? EventPrinting.json(event) : EventPrinting.line(event)) }
                guard let last = page.last, page.count == 1000 else { break }
                cursor = last.seq
            }
        }
    }
}

struct SessionsCancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel a session, whichever process runs it.",
        discussion: """
            A session that is not running ends at once. A running one is asked to stop: when another \
            flywheel process runs it, the request goes to that process through its control socket in the \
            data directory, and the session becomes cancelled when its run has ended.
            """)

    @Argument(help: "The session id.")
    var id: String

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        if let client = try server.client() {
            try await reportingFailures {
                let session = try await client.cancelSession(id)
                print(session.state == "cancelled" ? "\(session.id) cancelled" : "\(session.id) cancel requested (it is \(session.state))")
            }
            return
        }
        try await reportingFailures {
            let session = try await gateway.openGateway().sessions.cancel(id)
            print(session.state == .cancelled ? "\(session.id) cancelled" : "\(session.id) cancel requested (it is \(session.state.rawValue))")
        }
    }
}

struct SessionsPauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Pause a running session: its driver saves a checkpoint and the run stops.")

    @Argument(help: "The session id.")
    var id: String

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        if let client = try server.client() {
            try await reportingFailures {
                let session = try await client.pauseSession(id)
                print("\(session.id) pause requested")
            }
            return
        }
        try await reportingFailures {
            let session = try await gateway.openGateway().sessions.pause(id)
            print("\(session.id) pause requested")
        }
    }
}

struct SessionsResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Resume a paused session from its checkpoint (in the process that owns the data directory).")

    @Argument(help: "The session id.")
    var id: String

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        if let client = try server.client() {
            try await reportingFailures {
                let session = try await client.resumeSession(id)
                print("\(session.id) resume requested")
            }
            return
        }
        try await reportingFailures {
            let session = try await gateway.openGateway().sessions.resume(id)
            print("\(session.id) resume requested")
        }
    }
}
