import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One host process runs sessions on a data directory at a time: recovery at start-up would
/// otherwise fail the sessions another live process is running. Held with flock, so it is released
/// when the process dies, however it dies.
public final class HostLock: Sendable {
    private let descriptor: Int32

    public struct Busy: Error, CustomStringConvertible {
        public var description: String
    }

    /// The data directory cannot be written by this process, so it cannot own it.
    public struct ReadOnly: Error, CustomStringConvertible {
        public var description: String
    }

    public init(dataDirectory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ReadOnly(description: "cannot create the data directory \(dataDirectory.path): \((error as NSError).localizedDescription)")
        }
        let path = dataDirectory.appendingPathComponent("host.lock").path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            if errno == EACCES || errno == EROFS || errno == EPERM {
                throw ReadOnly(description: "the data directory \(dataDirectory.path) is read-only for this process: reads work, changes are refused")
            }
            throw Busy(description: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            close(descriptor)
            throw Busy(description: "another flywheel process (pid \(holder)) is running sessions on \(dataDirectory.path)")
        }
        ftruncate(descriptor, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(descriptor, $0, strlen($0)) }
        self.descriptor = descriptor
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
