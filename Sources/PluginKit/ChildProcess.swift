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
    /// Guards the state below; never held while blocking.
    private let lock = NSLock()
    /// Serialises writes, which may block.
    private let writing = NSLock()
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
        // has exited (send with MSG_NOSIGNAL), and a blocked write ends when the input is shut down.
        // Every descriptor is close-on-exec from its creation: a program another thread starts
        // meanwhile never inherits one (and would otherwise hold the child's output open).
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &inPipe) == 0,
              Self.pipe2(&outPipe, O_CLOEXEC) == 0, Self.pipe2(&errPipe, O_CLOEXEC) == 0 else {
            let reason = String(cString: strerror(errno))
            for descriptor in inPipe + outPipe + errPipe where descriptor >= 0 { close(descriptor) }
            throw Failure(description: "cannot create pipes: \(reason)")
        }
        let closeAll = { for descriptor in inPipe + outPipe + errPipe { close(descriptor) } }
        if directory != nil, Self.addChangeDirectory == nil {
            closeAll()
            throw Failure(description: "this C library cannot start a program in another directory (posix_spawn_file_actions_addchdir_np)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }
        if let directory, let addChangeDirectory = Self.addChangeDirectory {
            let status = directory.withCString { addChangeDirectory(&actions, $0) }
            guard status == 0 else {
                closeAll()
                throw Failure(description: "cannot start a program in \(directory): \(String(cString: strerror(status)))")
            }
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
        close(standardInput)
        close(standardOutput)
        close(standardError)
    }

    /// Writes all of `bytes` to the child's standard input, blocking while the child does not read;
    /// false once it stopped reading for good (it exited or closed its input) or the input was closed.
    /// Writes from several threads do not interleave.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        writing.lock()
        defer { writing.unlock() }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { send(standardInput, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return false }
            written += count
        }
        return true
    }

    /// Ends the child's standard input (it reads end of file). A write blocked on it returns at once.
    public func closeInput() {
        lock.lock()
        defer { lock.unlock() }
        guard !inputClosed else { return }
        inputClosed = true
        _ = shutdown(standardInput, Int32(SHUT_RDWR))
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

    /// Waits for the child to end; blocks the calling thread.
    @discardableResult
    public func wait() -> Status {
        reap(options: 0) ?? .signalled(0)
    }

    /// How the child ended, if it has, without reaping it: its process id (and so its group's id)
    /// stays reserved until it is reaped, so the group can still be signalled safely.
    public func peekExit() -> Status? {
        lock.lock()
        if let exitStatus {
            lock.unlock()
            return exitStatus
        }
        lock.unlock()
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0, info._sifields._sigchld.si_pid == pid else { return nil }
        let value = info._sifields._sigchld.si_status
        return info.si_code == 1 /* CLD_EXITED */ ? .exited(value) : .signalled(value)
    }

    /// Waits up to `seconds` for the child to end, without reaping it (``peekExit()``).
    public func waitForExit(seconds: Double) -> Status? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let status = peekExit() { return status }
            if Date() >= deadline { return nil }
            usleep(10_000)
        }
    }

    /// Ends the child: closes its input, waits `grace` seconds, then SIGTERM to its group, and SIGKILL
    /// after another `grace`; what it left behind in its group is killed too. Returns how it ended.
    @discardableResult
    public func terminate(grace: Double) -> Status {
        closeInput()
        if waitForExit(seconds: grace) == nil {
            signalGroup(SIGTERM)
            _ = waitForExit(seconds: grace)
        }
        // Before reaping: until then the group's id cannot have been handed out again.
        signalGroup(SIGKILL)
        return wait()
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

    /// glibc's pipe2 (a GNU extension Swift does not see): a pipe whose ends are close-on-exec from the start.
    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private static let pipe2Function: Pipe2? = dlsym(nil, "pipe2").map { unsafeBitCast($0, to: Pipe2.self) }

    private static func pipe2(_ descriptors: inout [Int32], _ flags: Int32) -> Int32 {
        guard let pipe2Function else {
            // Without pipe2: not atomic, but still close-on-exec before any spawn of ours.
            guard pipe(&descriptors) == 0 else { return -1 }
            for descriptor in descriptors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
            return 0
        }
        return descriptors.withUnsafeMutableBufferPointer { pipe2Function($0.baseAddress!, flags) }
    }

    private static func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> T) -> T {
        let pointers = strings.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        return (pointers + [nil]).withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
