import ArgumentParser
import FlywheelClient
import Foundation
import Host

struct AccountsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts", abstract: "Manage BYOA provider accounts (credentials are encrypted at rest and never printed).",
        discussion: "The key comes from FLYWHEEL_SECRET_KEY (base64 of 32 bytes) or <data>/secret.key, created with mode 0600 on first use.",
        subcommands: [Add.self, List.self, Verify.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add an account; credentials are read from standard input (a JSON object).")
        @Option(name: .long, help: "The provider, e.g. anthropic or openai.") var provider: String
        @Option(name: .long, help: "A label unique for the provider.") var label: String
        @OptionGroup var gateway: GatewayOptions
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let input = FileHandle.standardInput.readDataToEndOfFile()
            if let client = try server.client() {
                let credentials: JSONValue
                do {
                    credentials = try JSONValue.parse(String(decoding: input, as: UTF8.self))
                } catch {
                    throw ValidationError("standard input must be a JSON object of credentials, like {\"api_key\": \"…\"}")
                }
                try await reportingFailures {
                    let account = try await client.addAccount(provider: provider, label: label, credentials: credentials)
                    print("\(account.id) \(account.provider)/\(account.label) added")
                }
                return
            }
            try await reportingFailures {
                do {
                    let account = try await gateway.openGateway().accounts.add(provider: provider, label: label,
                                                                               credentialsJSON: String(decoding: input, as: UTF8.self))
                    print("\(account.id) \(account.provider)/\(account.label) added")
                } catch let error as InvalidRequest {
                    throw ValidationError(error.field == "credentials" ? "standard input \(error.reason)" : error.description)
                } catch let error as AccountExists {
                    throw ValidationError(error.description)
                }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify", abstract: "Check an account's key with its provider, and record what it says.",
            discussion: """
                Lists the provider's models with the key (nothing is billed). A refused key makes the account invalid, \
                one out of credit disabled, a rate limit a cooldown; an accepted key puts an invalid account back in rotation. \
                Exits 0 when the provider accepted the key (verified, or rate limited), 1 otherwise.
                """)
        @Argument(help: "The account id (flywheel accounts list).") var id: String
        @OptionGroup var gateway: GatewayOptions
        @OptionGroup var server: ServerOptions

        func run() async throws {
            var accepted = false
            try await reportingFailures {
                let line: String
                if let client = try server.client() {
                    let found = try await client.verifyAccount(id)
                    accepted = found.outcome == "verified" || found.outcome == "rate_limited"
                    line = "\(found.account.id) \(found.account.provider)/\(found.account.label): \(found.outcome): \(found.message) (now \(found.account.status))"
                } else {
                    do {
                        let found = try await gateway.openGateway().accounts.verify(id)
                        accepted = found.outcome == .verified || found.outcome == .rateLimited
                        line = "\(found.account.id) \(found.account.provider)/\(found.account.label): \(found.outcome.rawValue): \(found.message) (now \(found.account.status.rawValue))"
                    } catch let error as AccountNotFound {
                        throw CommandFailure(error.description)
                    } catch let error as ProviderNotConfigured {
                        throw CommandFailure(error.description)
                    }
                }
                print(line)
            }
            if !accepted { throw ExitCode(1) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List accounts (never their credentials).")
        @OptionGroup var gateway: GatewayOptions
        @OptionGroup var server: ServerOptions

        func run() async throws {
            if let client = try server.client() {
                try await reportingFailures {
                    for account in try await client.accounts() {
                        let cooldown = account.cooldownUntil.map { " until \(ISO8601DateFormatter().string(from: $0))" } ?? ""
                        print("\(account.id)  \(account.provider)/\(account.label)  \(account.status)\(cooldown)")
                    }
                }
                return
            }
            try await reportingFailures {
                for account in try await gateway.openGateway(readOnly: true).accounts.list() {
                    let cooldown = account.cooldownUntil.map { " until \(ISO8601DateFormatter().string(from: $0))" } ?? ""
                    print("\(account.id)  \(account.provider)/\(account.label)  \(account.status.rawValue)\(cooldown)")
                }
            }
        }
    }
}
