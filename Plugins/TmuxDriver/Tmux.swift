#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The tmux client, on one private server socket (`tmux -L <socket>`).
///
/// Every call starts the tmux client with a clean environment, so a server it starts (and every
/// pane of that server) never inherits the gateway's own variables: its secret key, an admin
/// password, a provider key. Calls block their thread: the driver makes them on its run threads,
/// never on the host's.
struct Tmux: Sendable {
    let executable: String
    let socket: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        var succeeded: Bool { status == 0 }
    }

    /// The variables a tmux server is started with: enough for programs to run and find their tools.
    static let cleanEnvironment: [String: String] = {
        let inherited = ProcessInfo.processInfo.environment
        var environment = ["PATH": inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", "LANG": inherited["LANG"] ?? "C.UTF-8"]
        for name in ["HOME", "USER", "LOGNAME", "TMUX_TMPDIR", "LC_ALL"] {
            if let value = inherited[name] { environment[name] = value }
        }
        return environment
    }()

    /// `text` as one literal argument: a trailing ';' is escaped (tmux would take it for the end of a
    /// command), and with `format`, '#' is doubled (tmux expands formats in directories and shell commands).
    static func literal(_ text: String, format: Bool = false) -> String {
        var value = format ? text.replacingOccurrences(of: "#", with: "##") : text
        if value.hasSuffix(";") { value = String(value.dropLast()) + "\\;" }
        return value
    }

    /// Finds the tmux program: `configured` as a path or a name on PATH.
    static func locate(_ configured: String?) -> String? {
        let name = configured ?? "tmux"
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `tmux -L socket <arguments>`; `input` goes to its standard input.
    ///
    /// Spawned with every descriptor above 2 closed in the child: the client forks the tmux server,
    /// which lives on, and must hold neither this call's pipes (their reader would never see the end)
    /// nor anything of the gateway's (its database, its listening socket).
    func run(_ arguments: [String], input: Data? = nil) throws(Failure) -> Output {
        try Self.runProgram(executable, ["-L", socket] + arguments, input: input)
    }

    /// Runs `executable` with `arguments`, spawned as `run` describes.
    static func runProgram(_ executable: String, _ arguments: [String], input: Data? = nil) throws(Failure) -> Output {
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        // Standard input is a socket pair: a write to it never raises SIGPIPE in the gateway when
        // tmux exits without reading (send with MSG_NOSIGNAL).
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            for descriptor in inPipe + outPipe + errPipe where descriptor >= 0 { close(descriptor) }
            throw Failure(description: "cannot create pipes: \(String(cString: strerror(errno)))")
        }
        for descriptor in inPipe + outPipe + errPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        if let closeFrom = Self.addCloseFrom {
            _ = closeFrom(&actions, 3)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let argv = [executable] + arguments
        let envp = Self.cleanEnvironment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let status = Self.withCStrings(argv) { argv in
            Self.withCStrings(envp) { envp in posix_spawn(&pid, executable, &actions, &attributes, argv, envp) }
        }
        close(inPipe[0])
        close(outPipe[1])
        close(errPipe[1])
        guard status == 0 else {
            close(inPipe[1])
            close(outPipe[0])
            close(errPipe[0])
            throw Failure(description: "cannot start \(executable): \(String(cString: strerror(status)))")
        }
        // The input (a task text for load-buffer) is written from a thread of its own while the
        // output is read here, so neither side can fill a pipe and stall the other.
        let writer = input.map { data in
            let done = DispatchSemaphore(value: 0)
            let descriptor = inPipe[1]
            Thread.detachNewThread {
                Self.writeAll(Array(data), to: descriptor)
                close(descriptor)
                done.signal()
            }
            return done
        }
        if writer == nil { close(inPipe[1]) }
        let stdout = Self.readAll(outPipe[0])
        let stderr = Self.readAll(errPipe[0])
        close(outPipe[0])
        close(errPipe[0])
        writer?.wait()
        var wait: Int32 = 0
        while waitpid(pid, &wait, 0) < 0, errno == EINTR {}
        let exitStatus: Int32 = (wait & 0x7f) == 0 ? (wait >> 8) & 0xff : 128 + (wait & 0x7f)
        return Output(status: exitStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Whether the tmux client (and so the server it may start) gets no descriptor of the gateway's.
    static var closesInheritedDescriptors: Bool { addCloseFrom != nil }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34 and later), which Swift does not see.
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
        unsafeBitCast($0, to: CloseFrom.self)
    }

    private static func readAll(_ descriptor: Int32) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return result }
            result.append(contentsOf: buffer[0..<count])
        }
    }

    /// Sends on the socket-pair end of standard input.
    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return }
            written += count
        }
    }

    private static func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> T) -> T {
        let pointers = strings.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        return (pointers + [nil]).withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Runs a command that must succeed; the failure names the tmux command and what tmux said.
    @discardableResult
    func require(_ arguments: [String], input: Data? = nil) throws(Failure) -> String {
        let output = try run(arguments, input: input)
        guard output.succeeded else {
            throw Failure(description: "tmux \(arguments.first ?? "") failed (status \(output.status)): \(output.stderr.isEmpty ? "no message" : output.stderr)")
        }
        return output.stdout
    }

    func hasSession(_ name: String) -> Bool {
        (try? run(["has-session", "-t", "=\(name)"]))?.succeeded ?? false
    }

    /// Kills a session; true when it existed.
    @discardableResult
    func killSession(_ name: String) -> Bool {
        (try? run(["kill-session", "-t", "=\(name)"]))?.succeeded ?? false
    }

    enum PaneState: Equatable {
        case running
        /// The program exited; its status when tmux knows it.
        case exited(Int32?)
        /// The session is not there (any more); what tmux said.
        case gone(String)
    }

    /// The state of the session's pane.
    func paneState(_ name: String) -> PaneState {
        let output: Output
        do {
            output = try run(["list-panes", "-t", "=\(name)", "-F", "#{pane_dead} #{pane_dead_status} #{pane_dead_signal}"])
        } catch {
            return .gone(error.description)
        }
        guard output.succeeded else { return .gone(output.stderr) }
        let fields = output.stdout.split(separator: "\n").first?.split(separator: " ", omittingEmptySubsequences: false) ?? []
        guard fields.first == "1" else { return .running }
        if fields.count > 1, let status = Int32(fields[1]) { return .exited(status) }
        if fields.count > 2, let signal = Int32(fields[2]) { return .exited(128 + signal) }
        // Empty: status 0 (tmux 3.3 prints nothing for it), or not known yet as the pane dies.
        return .exited(nil)
    }

    /// The current directory of the session's pane (its shell's).
    func currentPath(_ name: String) -> String? {
        guard let output = try? run(["display-message", "-p", "-t", "=\(name):", "#{pane_current_path}"]), output.succeeded else { return nil }
        let path = output.stdout.trimmingCharacters(in: .newlines)
        return path.isEmpty ? nil : path
    }

    /// The visible screen of the session's pane, as text.
    func capture(_ name: String) -> String? {
        guard let output = try? run(["capture-pane", "-p", "-J", "-t", "=\(name):"]), output.succeeded else { return nil }
        return output.stdout
    }

    /// Pastes `text` into the pane in one go (a paste buffer, bracketed when the program asks for it),
    /// never a keystroke per character.
    func paste(_ text: String, into name: String) throws(Failure) {
        let buffer = "flywheel-\(name)"
        try require(["load-buffer", "-b", buffer, "-"], input: Data(text.utf8))
        try require(["paste-buffer", "-d", "-p", "-b", buffer, "-t", "=\(name):"])
    }

    /// Sends key names (`Enter`, `C-c`) to the pane.
    func sendKeys(_ keys: [String], to name: String) throws(Failure) {
        guard !keys.isEmpty else { return }
        try require(["send-keys", "-t", "=\(name):"] + keys)
    }

    /// Names and values of a user option across the server's sessions.
    func sessions(option: String) -> [(name: String, value: String)] {
        guard let output = try? run(["list-sessions", "-F", "#{session_name}\t#{\(option)}"]), output.succeeded else { return [] }
        return output.stdout.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { return nil }
            return (String(parts[0]), String(parts[1]))
        }
    }
}

/// A value behind a lock, for the driver's threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
