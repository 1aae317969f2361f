import ArgumentParser
import FlywheelClient
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login", abstract: "Sign in to a gateway server; later commands with --server (or FLYWHEEL_URL) use the sign-in.",
        discussion: """
            The sign-in (an access token and the refresh token that renews it, never the password) is kept \
            in $XDG_CONFIG_HOME/flywheel/credentials.json (default ~/.config/flywheel), mode 0600, one per \
            server. The password is asked for on the terminal without echo, or read from standard input \
            with --password-stdin. For scripts, an API key in FLYWHEEL_TOKEN needs no sign-in.
            """)

    @Option(name: .long, help: "The email to sign in with.") var email: String
    @Flag(name: .long, help: "Read the password from standard input (one line).") var passwordStdin = false
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let client = try server.requiredClient(for: "login")
        let password = try readPassword()
        try await reportingFailures {
            try await client.signIn(email: email, password: password)
            let user = try await client.me()
            print("signed in to \(client.server) as \(user.email) (\(user.role))")
        }
    }

    private func readPassword() throws -> String {
        if passwordStdin {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw ValidationError("--password-stdin: standard input had no password")
            }
            return line
        }
        guard isatty(STDIN_FILENO) == 1 else {
            throw ValidationError("standard input is not a terminal: pass the password with --password-stdin")
        }
        return try Self.promptWithoutEcho("Password for \(email): ")
    }

    /// Reads a line from the terminal with echo off, restoring the terminal however it ends.
    static func promptWithoutEcho(_ prompt: String) throws -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { throw CommandFailure("cannot read the terminal's settings") }
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw ValidationError("no password given") }
        return line
    }
}

struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout", abstract: "End the sign-in on the server and forget it here.")

    @OptionGroup var server: ServerOptions

    func run() async throws {
        let client = try server.requiredClient(for: "logout")
        try await reportingFailures {
            try await client.signOut()
            print("signed out of \(client.server)")
        }
    }
}
