import ArgumentParser
import FlywheelClient
import Foundation
import Host
import Server

struct DCGPendingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pending", abstract: "List, approve or deny commands held for an operator (policy mode ask).",
        subcommands: [List.self, Approve.self, Deny.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List held commands.")
        @Flag(name: .long, help: "Print JSON.") var json = false
        @OptionGroup var gateway: GatewayOptions

        @Option(name: .long, help: "Only the held commands of this session.") var session: String?
        @OptionGroup var server: ServerOptions

        func run() async throws {
            if let client = try server.client() {
                try await reportingFailures {
                    let pending = try await client.pendingCommands(sessionId: session)
                    if json { return try printJSON(pending) }
                    if pending.isEmpty { print("no commands are waiting for approval") }
                    for decision in pending {
                        print("\(decision.id)  session \(decision.sessionId)  \(decision.ruleId ?? "-")  \(decision.command)")
                    }
                }
                return
            }
            var pending: [CommandDecisionRecord] = []
            try await reportingFailures { pending = try await gateway.openGateway(readOnly: true).approvals.pending(sessionID: session) }
            if json { return try printJSON(FlywheelClient.decode([CommandDecision].self, from: APIShapes.decisions(pending))) }
            if pending.isEmpty { print("no commands are waiting for approval") }
            for decision in pending {
                print("\(decision.id)  session \(decision.sessionID)  \(decision.ruleID ?? "-")  \(decision.command)")
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "approve", abstract: "Let a held command run, once.")
        @Argument(help: "The decision id (from `flywheel dcg pending`).") var id: String
        @Option(name: .long, help: "Who approves (recorded; on a server, the signed-in user is).") var by = ProcessInfo.processInfo.environment["USER"] ?? "operator"
        @OptionGroup var gateway: GatewayOptions
        @OptionGroup var server: ServerOptions
        func run() async throws { try await DCGPendingCommand.answer(gateway, server, id: id, status: .approved, by: by) }
    }

    struct Deny: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "deny", abstract: "Refuse a held command; it never runs.")
        @Argument(help: "The decision id (from `flywheel dcg pending`).") var id: String
        @Option(name: .long, help: "Who denies (recorded; on a server, the signed-in user is).") var by = ProcessInfo.processInfo.environment["USER"] ?? "operator"
        @OptionGroup var gateway: GatewayOptions
        @OptionGroup var server: ServerOptions
        func run() async throws { try await DCGPendingCommand.answer(gateway, server, id: id, status: .denied, by: by) }
    }

    static func answer(_ gateway: GatewayOptions, _ server: ServerOptions, id: String, status: CommandDecisionRecord.Status, by: String) async throws {
        if let client = try server.client() {
            try await reportingFailures {
                let record = status == .approved ? try await client.approve(id) : try await client.deny(id)
                print("\(id) \(record.status): \(record.command)")
            }
            return
        }
        try await reportingFailures {
            let approvals = try await gateway.openGateway().approvals
            let record = status == .approved ? try await approvals.approve(id, by: by) : try await approvals.deny(id, by: by)
            print("\(id) \(record.status.rawValue): \(record.command)")
        }
    }
}
