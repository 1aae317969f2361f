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
        let (client, _) = try server.signInClient(for: "login")
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

    /// Reads a line from the terminal with echo off, restoring the terminal however it ends (also
    /// on Ctrl-C or SIGTERM while it waits).
    static func promptWithoutEcho(_ prompt: String) throws -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        guard tcgetattr(STDIN_FILENO, &savedTerminal) == 0 else { throw CommandFailure("cannot read the terminal's settings") }
        var silent = savedTerminal
        silent.c_lflag &= ~tcflag_t(ECHO)
        let restoreAndExit: @convention(c) (Int32) -> Void = { signal in
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &savedTerminal)
            _exit(128 + signal)
        }
        let previousInterrupt = Glibc.signal(SIGINT, restoreAndExit), previousTerminate = Glibc.signal(SIGTERM, restoreAndExit)
        guard tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent) == 0 else { throw CommandFailure("cannot turn the terminal's echo off") }
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &savedTerminal)
            Glibc.signal(SIGINT, previousInterrupt)
            Glibc.signal(SIGTERM, previousTerminate)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw ValidationError("no password given") }
        return line
    }
}

/// The terminal's settings while a password is read without echo, for the signal handler that
/// puts them back (a C handler cannot capture them).
nonisolated(unsafe) private var savedTerminal = termios()

extension LoginCommand {
}

struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout", abstract: "End the sign-in on the server and forget it here.")

    @OptionGroup var server: ServerOptions

    func run() async throws {
        let (client, store) = try server.signInClient(for: "logout")
        try await reportingFailures {
            guard try await store.current() != nil else {
                print("not signed in to \(client.server)")
                return
            }
            try await client.signOut()
            print("signed out of \(client.server)")
        }
    }
}
