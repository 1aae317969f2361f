import ArgumentParser
import Foundation
import Host

struct SessionsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List sessions, newest first.")

    @Option(name: .long, help: "Only sessions in this state (created, queued, running, paused, done, failed, cancelled).")
    var state: [String] = []

    @Option(name: .long, help: "How many to show.")
    var limit = 50

    @Option(name: .long, help: "Continue after this cursor (printed by the previous page).")
    var cursor: String?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @OptionGroup var gateway: GatewayOptions

    func run() async throws {
        var states: Set<SessionState>?
        if !state.isEmpty {
            states = try Set(state.map { name in
                guard let parsed = SessionState(rawValue: name) else { throw ValidationError("unknown state '\(name)'") }
                return parsed
            })
        }
        let page: SessionPage
        do {
            page = try await gateway.openStore().sessions(states: states, limit: limit, after: cursor)
        } catch let error as StoreError where error.kind == .invalidCursor {
            throw ValidationError(error.message)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            struct Page: Encodable { var sessions: [SessionRecord]; var next_cursor: String? }
            print(String(decoding: try encoder.encode(Page(sessions: page.sessions, next_cursor: page.nextCursor)), as: UTF8.self))
            return
        }
        for session in page.sessions {
            print("\(session.id)  \(session.state.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))  \(ISO8601DateFormatter().string(from: session.createdAt))  \(session.task.prefix(60))")
        }
        if let next = page.nextCursor { print("more: --cursor \(next)") }
    }
}

struct SessionsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one session and its command decisions.")

    @Argument(help: "The session id.")
    var id: String

    @OptionGroup var gateway: GatewayOptions

    func run() async throws {
        let store = try gateway.openStore()
        guard let session = try await store.session(id: id) else { throw ValidationError("no session \(id)") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        struct Shown: Encodable { var session: SessionRecord; var events: Int; var command_decisions: [CommandDecisionRecord] }
        let shown = Shown(session: session, events: try await store.eventCount(sessionID: id),
                          command_decisions: try await store.commandDecisions(sessionID: id))
        print(String(decoding: try encoder.encode(shown), as: UTF8.self))
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

    func run() async throws {
        let store = try gateway.openStore()
        guard try await store.session(id: id) != nil else { throw ValidationError("no session \(id)") }
        var cursor = after
        while true {
            let page = try await store.events(sessionID: id, afterSeq: cursor, limit: 1000)
            for event in page { print(json ? EventPrinting.json(event) : EventPrinting.line(event)) }
            guard let last = page.last, page.count == 1000 else { break }
            cursor = last.seq
        }
    }
}

struct SessionsCancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel a session that is not running (queued, created or paused).",
        discussion: "A running session is cancelled with Ctrl-C in its `sessions run`, or through the API of `flywheel serve`.")

    @Argument(help: "The session id.")
    var id: String

    @OptionGroup var gateway: GatewayOptions

    func run() async throws {
        let store = try gateway.openStore()
        do {
            let session = try await store.transitionSession(id: id, to: .cancelled, error: "cancelled by an operator", accountID: nil)
            _ = try await store.appendEvents([NewEvent(sessionID: id, type: "host.session.state",
                                                       payload: #"{"error":"cancelled by an operator","state":"cancelled","type":"host.session.state"}"#)])
            print("\(session.id) cancelled")
        } catch let error as IllegalSessionTransition {
            throw ValidationError(error.description)
        } catch let error as StoreError where error.kind == .notFound {
            throw ValidationError(error.message)
        }
    }
}
