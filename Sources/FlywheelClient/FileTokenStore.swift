import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sign-ins kept in a file only its owner can read (what `flywheel login` writes), one per server:
/// `{"servers": {"https://gw.example.com": {email, token, refreshToken, expiresAt}}}`.
///
/// Several processes may share the file (two `flywheel` commands at once): an update holds an
/// exclusive lock on a lock file beside it, reads the file again, and replaces it atomically, so a
/// refresh token is used by one of them only and the others take the pair it got.
public struct FileTokenStore: TokenStore {
    public let file: URL
    public let server: String
    /// How long an update waits for another process's lock before giving up.
    public var lockTimeout: Duration = .seconds(30)

    /// - Parameters:
    ///   - file: The credentials file; `defaultFile(environment:)` is where the CLI keeps it.
    ///   - server: The server's base URL, as `FlywheelClient.normalized(server:)` writes it.
    public init(file: URL, server: String) {
        self.file = file
        self.server = server
    }

    /// `$XDG_CONFIG_HOME/flywheel/credentials.json`, else `~/.config/flywheel/credentials.json`.
    public static func defaultFile(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        let base: URL
        if let config = environment["XDG_CONFIG_HOME"], config.hasPrefix("/") {
            base = URL(fileURLWithPath: config)
        } else {
            let home = environment["HOME"] ?? NSHomeDirectory()
            base = URL(fileURLWithPath: home).appendingPathComponent(".config")
        }
        return base.appendingPathComponent("flywheel").appendingPathComponent("credentials.json")
    }

    public func current() async throws -> SignIn? {
        let file = self.file, server = self.server
        return try await offThePool { try Self.read(file)[server] }
    }

    public func update(_ change: @Sendable (SignIn?) async throws -> SignIn) async throws -> SignIn {
        let lock = try await acquireLock()
        defer { close(lock) }
        let file = self.file, server = self.server
        let signIn = try await change(try await offThePool { try Self.read(file)[server] })
        try await offThePool {
            var all = try Self.read(file)
            all[server] = signIn
            try Self.write(all, to: file)
        }
        return signIn
    }

    public func remove() async throws {
        let lock = try await acquireLock()
        defer { close(lock) }
        let file = self.file, server = self.server
        try await offThePool {
            var all = try Self.read(file)
            guard all.removeValue(forKey: server) != nil else { return }
            try Self.write(all, to: file)
        }
    }

    private struct Contents: Codable {
        var servers: [String: SignIn]
    }

    private static func read(_ file: URL) throws -> [String: SignIn] {
        var info = stat()
        guard stat(file.path, &info) == 0 else {
            if errno == ENOENT { return [:] }
            throw FlywheelClientError(.credentialsFile, "\(file.path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw FlywheelClientError(.credentialsFile, "\(file.path) can be read by other users: run `chmod 600 \(file.path)` (or delete it and sign in again)")
        }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(Contents.self, from: try Data(contentsOf: file)).servers
        } catch {
            throw FlywheelClientError(.credentialsFile, "\(file.path) is not a credentials file flywheel wrote (\(error)): delete it and sign in again")
        }
    }

    /// Writes the whole file anew beside the old one (mode 0600 from the start), then renames it
    /// over: a crash leaves the old file or the new one, never half of either.
    private static func write(_ servers: [String: SignIn], to file: URL) throws {
        try makeDirectory(file.deletingLastPathComponent())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(Contents(servers: servers))
        let temporary = file.path + ".\(getpid()).tmp"
        // A new file of our own: never one left there, nor a link someone put in its place.
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FlywheelClientError(.credentialsFile, "\(temporary): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { systemWrite(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == data.count, synced == 0, rename(temporary, file.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw FlywheelClientError(.credentialsFile, "\(file.path): could not be written (\(reason))")
        }
    }

    private static func makeDirectory(_ directory: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue {
            // Only its owner may list or add files in the folder that holds sign-ins.
            chmod(directory.path, 0o700)
            return
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw FlywheelClientError(.credentialsFile, "\(directory.path): could not be made (\(error.localizedDescription))")
        }
    }

    /// An exclusive lock on `<file>.lock`, waited for without blocking a thread: held until the
    /// descriptor is closed (also when the process dies).
    private func acquireLock() async throws -> Int32 {
        let path = file.path + ".lock"
        let directory = file.deletingLastPathComponent()
        let descriptor = try await offThePool { () throws -> Int32 in
            try Self.makeDirectory(directory)
            let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw FlywheelClientError(.credentialsFile, "\(path): \(String(cString: strerror(errno)))") }
            return descriptor
        }
        let deadline = ContinuousClock.now + lockTimeout
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, ContinuousClock.now < deadline else {
                let reason = errno == EWOULDBLOCK ? "another flywheel process holds it" : String(cString: strerror(errno))
                close(descriptor)
                throw FlywheelClientError(.credentialsFile, "\(path): could not be locked (\(reason))")
            }
            do {
                try await Task.sleep(for: .milliseconds(5))
            } catch {
                close(descriptor)
                throw error
            }
        }
        return descriptor
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#else
private let systemWrite = Darwin.write
#endif

/// Runs file I/O on a thread of its own, not on Swift's cooperative pool.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        fileQueue.async { continuation.resume(with: Result { try body() }) }
    }
}

private let fileQueue = DispatchQueue(label: "flywheel.client.files", attributes: .concurrent)
