import ArgumentParser
import Foundation
import Host

/// `flywheel users`: the people who sign in to the HTTP API, managed without a server.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Manage the users of the HTTP API (passwords are stored only as hashes).",
        subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create", abstract: "Create a user.",
            discussion: "The password is read from standard input with --password-stdin; otherwise one is generated and printed once.")
        @Option(name: .long, help: "The email the user signs in with.") var email: String
        @Option(name: .long, help: "admin, operator or viewer.") var role: UserRecord.Role
        @Flag(name: .long, help: "Read the password from standard input (its first line).") var passwordStdin = false
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            var password: String?
            if passwordStdin {
                let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                password = input.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            }
            try await reportingFailures {
                let generated = password == nil ? PeopleService.randomToken(bytes: 18) : nil
                do {
                    let user = try await gateway.openGateway().people.createUser(email: email, password: password ?? generated!, role: role)
                    print("\(user.id) \(user.email) \(user.role.rawValue)" + (generated.map { " password \($0)" } ?? ""))
                } catch let error as InvalidRequest {
                    throw ValidationError(error.field == "password" && passwordStdin ? "the password on standard input \(error.reason)" : error.description)
                } catch let error as EmailTaken {
                    throw CommandFailure(error.description)
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List users (never their passwords).")
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await reportingFailures {
                for user in try await gateway.openGateway(readOnly: true).people.users() {
                    print("\(user.id)  \(user.email)  \(user.role.rawValue)")
                }
            }
        }
    }
}

extension UserRecord.Role: ExpressibleByArgument {}
