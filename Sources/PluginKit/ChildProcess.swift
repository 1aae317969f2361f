#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A program a driver starts and talks to over pipes: its standard input, output and error.
///
/// Started with posix_spawn in a process group of its own, with a clean signal mask, default signal
/// handlers, and every descriptor above 2 closed (where glibc can, 2.34 and later): a child never
/// inherits the gateway's database, sockets or another run's pipes, and a long-lived grandchild
/// cannot hold a pipe open. Its environment is only what the caller passes. Reads and waits block
/// their thread: use them on a driver's own threads, never on the host's.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    /// The read ends of the child's standard output and error.
    public let standardOutput: Int32
    public let standardError: Int32
    private let standardInput: Int32
    private let lock = NSLock()
    private var inputClosed = false
    private var exitStatus: Status?

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// How a child ended.
    public enum Status: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        public var description: String {
            switch self {
            case .exited(let code): "exited with status \(code)"
            case .signalled(let signal): "was killed by signal \(signal)"
            }
        }
    }

    /// Starts `executable` (a path, or a name looked up on `environment`'s PATH) with `arguments`, in
    /// `directory`, with exactly `environment`.
    public init(executable: String, arguments: [String], environment: [String: String], directory: String?) throws(Failure) {
        guard let path = Self.locate(executable, path: environment["PATH"]) else {
            throw Failure(description: "program '\(executable)' was not found (PATH: \(environment["PATH"] ?? "unset"))")
        }
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        // Standard input is a socket pair: a write never raises SIGPIPE in the gateway when the child
        // has exited (send with MSG_NOSIGNAL).
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            let reason = String(cString: strerror(errno))
            for descriptor in inPipe + outPipe + errPipe where descriptor >= 0 { close(descriptor) }
            throw Failure(description: "cannot create pipes: \(reason)")
        }
        for descriptor in inPipe + outPipe + errPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }
        if let directory {
            guard let addChangeDirectory = Self.addChangeDirectory else {
                throw Failure(description: "this C library cannot start a program in another directory (posix_spawn_file_actions_addchdir_np)")
            }
            _ = directory.withCString { addChangeDirectory(&actions, $0) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGQUIT] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))
        let argv = [path] + arguments
        let envp = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let status = Self.withCStrings(argv) { argv in
            Self.withCStrings(envp) { envp in posix_spawn(&pid, path, &actions, &attributes, argv, envp) }
        }
        close(inPipe[0])
        close(outPipe[1])
        close(errPipe[1])
        guard status == 0 else {
            close(inPipe[1])
            close(outPipe[0])
            close(errPipe[0])
            let where_ = directory.map { " in \($0)" } ?? ""
            throw Failure(description: "cannot start \(path)\(where_): \(String(cString: strerror(status)))")
        }
        self.pid = pid
        standardInput = inPipe[1]
        standardOutput = outPipe[0]
        standardError = errPipe[0]
    }

    deinit {
        closeInput()
        close(standardOutput)
        close(standardError)
    }

    /// Writes all of `bytes` to the child's standard input; false once the child stopped reading
    /// (it exited or closed it) or the input was closed.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !inputClosed else { return false }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { send(standardInput, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return false }
            written += count
        }
        return true
    }

    /// Closes the child's standard input (it reads end of file).
    public func closeInput() {
        lock.lock()
        defer { lock.unlock() }
        guard !inputClosed else { return }
        inputClosed = true
        close(standardInput)
    }

    /// Sends `signal` to the child's whole process group (what it started too), until it is reaped.
    public func signalGroup(_ signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        guard exitStatus == nil else { return }
        _ = kill(-pid, signal)
    }

    /// Reads up to `maximum` bytes from `descriptor` (one of the child's outputs); empty at end of file.
    public static func read(_ descriptor: Int32, maximum: Int = 65_536) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return [] }
            return Array(buffer[0..<count])
        }
    }

    /// Reads `descriptor` to its end.
    public static func readAll(_ descriptor: Int32) -> [UInt8] {
        var result: [UInt8] = []
        while case let chunk = read(descriptor), !chunk.isEmpty { result.append(contentsOf: chunk) }
        return result
    }

    /// The child's status if it has ended, without waiting.
    public func poll() -> Status? {
        reap(options: WNOHANG)
    }

    /// Waits for the child to end; blocks the calling thread.
    @discardableResult
    public func wait() -> Status {
        reap(options: 0) ?? .signalled(0)
    }

    /// Waits up to `seconds` for the child to end.
    public func wait(seconds: Double) -> Status? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let status = poll() { return status }
            if Date() >= deadline { return nil }
            usleep(10_000)
        }
    }

    /// Ends the child: closes its input, waits `grace` seconds, then SIGTERM to its group, and SIGKILL
    /// after another `grace`. Returns how it ended.
    @discardableResult
    public func terminate(grace: Double) -> Status {
        closeInput()
        var status = wait(seconds: grace)
        if status == nil {
            signalGroup(SIGTERM)
            status = wait(seconds: grace)
        }
        // Whatever the child left behind in its group goes too. The group id cannot have been reused:
        // Linux hands out no pid that is still a live group's id.
        _ = kill(-pid, SIGKILL)
        return status ?? wait()
    }

    private func reap(options: Int32) -> Status? {
        lock.lock()
        if let exitStatus {
            lock.unlock()
            return exitStatus
        }
        lock.unlock()
        var raw: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &raw, options) } while result < 0 && errno == EINTR
        guard result == pid else { return nil }
        let status: Status = (raw & 0x7f) == 0 ? .exited((raw >> 8) & 0xff) : .signalled(raw & 0x7f)
        lock.lock()
        // A second thread may have reaped it first; the status is the same.
        if exitStatus == nil { exitStatus = status }
        let recorded = exitStatus!
        lock.unlock()
        return recorded
    }

    /// `name` as a path when it has a slash, else the first executable of that name on `path`.
    public static func locate(_ name: String, path: String?) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Whether children get no descriptor of the gateway's (glibc 2.34 and later).
    public static var closesInheritedDescriptors: Bool { addCloseFrom != nil }

    /// glibc's posix_spawn_file_actions_addclosefrom_np and addchdir_np, which Swift does not see.
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
        unsafeBitCast($0, to: CloseFrom.self)
    }
    private typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let addChangeDirectory: ChangeDirectory? = dlsym(nil, "posix_spawn_file_actions_addchdir_np").map {
        unsafeBitCast($0, to: ChangeDirectory.self)
    }

    private static func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> T) -> T {
        let pointers = strings.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        return (pointers + [nil]).withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
