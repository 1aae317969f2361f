import Foundation

/// Which gateway process owns a tmux session: its pid and the kernel's start time of that pid, so a
/// pid reused by another program after a crash is not taken for the owner.
enum HostIdentity {
    /// The tmux user option each session carries.
    static let option = "@flywheel_host"

    static let current: String = "\(getpid()):\(startTime(of: getpid()) ?? "0")"

    /// Whether the process named by `identity` still runs.
    static func isAlive(_ identity: String) -> Bool {
        let parts = identity.split(separator: ":")
        guard parts.count == 2, let pid = Int32(parts[0]), pid > 0 else { return false }
        return startTime(of: pid) == String(parts[1])
    }

    /// Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot.
    static func startTime(of pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces): state is field 3, start time 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }
}
