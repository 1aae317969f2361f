import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process in its own process group, with pipes for stdout and stderr. Raw descriptors and
/// the pid never leave this type.
final class SpawnedProcess: Sendable {
    enum Event: Sendable {
        case output(CommandOutputChunk)
        case exited(code: Int32?, signal: Int32?)
    }

    let pid: pid_t
    private let stdoutFD: Int32
    private let stderrFD: Int32

    private init(pid: pid_t, stdoutFD: Int32, stderrFD: Int32) {
        self.pid = pid
        self.stdoutFD = stdoutFD
        self.stderrFD = stderrFD
    }

    /// Starts `command` with `/bin/sh -c` in `directory`; with `sandbox`, that is the program to
    /// start instead (`bwrap`, with arguments that end in the shell and the command).
    static func spawn(command: String, directory: String, environment: [String: String],
                      sandbox: (executable: String, arguments: [String])? = nil) throws -> SpawnedProcess {
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        // Pipes are close-on-exec, so commands running at the same time never inherit each other's
        // pipe ends (which would hold a pipe open, and its reader waiting, until the other ended).
        // pipe2 is not visible from Swift; the lock keeps any spawn out of the window before fcntl.
        spawnLock.lock()
        defer { spawnLock.unlock() }
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            throw CommandExecutionError(description: "cannot create pipes: \(String(cString: strerror(errno)))")
        }
        for descriptor in outPipe + errPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for descriptor in [outPipe[0], outPipe[1], errPipe[0], errPipe[1]] { posix_spawn_file_actions_addclose(&actions, descriptor) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        sigaddset(&defaultSignals, SIGPIPE)
        sigaddset(&defaultSignals, SIGINT)
        sigaddset(&defaultSignals, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        // The outer shell changes directory and replaces itself with the command's shell, so the
        // command runs exactly as `sh -c command` would in that directory (glibc's addchdir is not
        // visible from Swift).
        let executable = sandbox?.executable ?? "/bin/sh"
        let arguments = sandbox.map { [$0.executable] + $0.arguments }
            ?? ["/bin/sh", "-c", "cd -- \"$1\" && exec /bin/sh -c \"$2\"", "flywheel-command", directory, command]
        let environmentStrings = environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let status = withCStrings(arguments) { argv in
            withCStrings(environmentStrings) { envp in
                posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
            }
        }
        close(outPipe[1])
        close(errPipe[1])
        guard status == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            throw CommandExecutionError(description: "cannot start \(executable) in \(directory): \(String(cString: strerror(status)))")
        }
        return SpawnedProcess(pid: pid, stdoutFD: outPipe[0], stderrFD: errPipe[0])
    }

    /// How long output may go on being read after the command's shell has exited (processes it left
    /// behind may still write), before the host stops reading: a daemonised grandchild that keeps
    /// the pipes open must not keep the command from ending.
    static let outputDrainTime: DispatchTimeInterval = .seconds(1)

    /// Output as it arrives, then the exit status. Blocking reads and the wait run on threads of
    /// their own, so no Swift concurrency thread ever blocks on the child.
    func events() -> AsyncStream<Event> {
        AsyncStream { continuation in
            // Written to once the host stops reading; the readers poll it beside their pipe.
            var stop: [Int32] = [-1, -1]
            spawnLock.withLock {
                if pipe(&stop) == 0 { for descriptor in stop { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) } }
            }
            let stopRead = stop[0], stopWrite = stop[1]
            let group = DispatchGroup()
            for (descriptor, stream) in [(stdoutFD, CommandOutputChunk.Stream.stdout), (stderrFD, .stderr)] {
                group.enter()
                Thread.detachNewThread {
                    Self.read(descriptor, stopWhenReadable: stopRead) { bytes in
                        continuation.yield(.output(CommandOutputChunk(stream: stream, bytes: bytes)))
                    }
                    close(descriptor)
                    group.leave()
                }
            }
            let pid = self.pid
            Thread.detachNewThread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                let exitCode: Int32? = (status & 0x7f) == 0 ? (status >> 8) & 0xff : nil
                let signal: Int32? = (status & 0x7f) != 0 ? status & 0x7f : nil
                if group.wait(timeout: .now() + Self.outputDrainTime) == .timedOut {
                    // Processes the command left behind hold the pipes: end its group, stop reading.
                    kill(-pid, SIGKILL)
                    var byte: UInt8 = 1
                    _ = Glibc.write(stopWrite, &byte, 1)
                    group.wait()
                }
                close(stopRead)
                close(stopWrite)
                continuation.yield(.exited(code: exitCode, signal: signal))
                continuation.finish()
            }
        }
    }

    /// Reads `descriptor` until end of file, an error, or until `stop` becomes readable.
    private static func read(_ descriptor: Int32, stopWhenReadable stop: Int32, _ deliver: ([UInt8]) -> Void) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var watched = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0), pollfd(fd: stop, events: Int16(POLLIN), revents: 0)]
        while true {
            let ready = poll(&watched, stop >= 0 ? 2 : 1, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if stop >= 0, watched[1].revents != 0 { return }
            guard watched[0].revents != 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                deliver(Array(buffer[0..<count]))
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }

    /// Sends a signal to every process of the command's group.
    func signalGroup(_ signal: Int32) {
        kill(-pid, signal)
    }
}

/// Serialises pipe creation and spawning (see `spawn`).
private let spawnLock = NSLock()

/// Calls `body` with a NULL-terminated array of C strings.
private func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    var pointers = strings.map { strdup($0) }
    pointers.append(nil)
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}
