#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The driver's state folder (output files, hook sockets, the shell's rc file). It lives in a shared
/// place such as /tmp, so it is only used when it is this user's own: a real directory (not a
/// symbolic link), owned by this uid, with no access for anyone else. Otherwise another local user
/// could have made it first and read the output or answer the hook in the gateway's place.
enum StateFolder {
    /// The default: `$XDG_RUNTIME_DIR/flywheel-tmux` when there is one, else `/tmp/flywheel-tmux-<uid>`.
    static var defaultPath: String {
        if let runtime = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") {
            return runtime + "/flywheel-tmux"
        }
        return "/tmp/flywheel-tmux-\(getuid())"
    }

    static func preparePrivate(_ path: String) throws(PaneRun.Failure) {
        if mkdir(path, 0o700) != 0, errno != EEXIST {
            throw PaneRun.Failure(message: "cannot create the driver's state folder \(path): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw PaneRun.Failure(message: "cannot inspect the driver's state folder \(path): \(String(cString: strerror(errno)))")
        }
        let isDirectory = info.st_mode & S_IFMT == S_IFDIR
        guard isDirectory, info.st_uid == getuid(), info.st_mode & 0o077 == 0 else {
            throw PaneRun.Failure(message: "the driver's state folder \(path) is not a private folder of this user (\(isDirectory ? "" : "not a directory, ")owner uid \(info.st_uid), mode \(String(info.st_mode & 0o7777, radix: 8))); remove it or set state_directory")
        }
    }
}

/// Whether bubblewrap can confine a program here (user namespaces may be off, in a container say):
/// tried once per process and bubblewrap path, with the options a pane uses.
enum BubblewrapTrial {
    private static let results = Locked([String: String?]())

    /// Why it cannot, or nil when it can.
    static func problem(_ bubblewrap: String) -> String? {
        if let known = results.withLock({ $0[bubblewrap] }) { return known }
        let problem: String?
        if !bubblewrap.hasPrefix("/") {
            problem = "bubblewrap (Debian package bubblewrap) is not installed"
        } else {
            do {
                let output = try Tmux.runProgram(bubblewrap, ["--ro-bind", "/", "/", "--dev-bind", "/dev", "/dev", "--proc", "/proc",
                                                              "--tmpfs", "/tmp", "--unshare-pid", "--die-with-parent", "--", "/bin/true"])
                problem = output.succeeded ? nil : "bwrap cannot create a sandbox: \(output.stderr.isEmpty ? "status \(output.status)" : output.stderr)"
            } catch {
                problem = error.description
            }
        }
        results.withLock { $0[bubblewrap] = .some(problem) }
        return problem
    }
}
