#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Reading and writing text files for an agent, confined to the session's workspace: a path must be
/// absolute and resolve (symbolic links followed) inside it; `..` and links that lead out are
/// refused, and so are files over the size limit and writes into `.git`.
public struct WorkspaceFiles: Sendable {
    /// The workspace with every link resolved.
    public let root: String
    public let maxBytes: Int

    public init(workspace: String, maxBytes: Int) {
        root = Self.resolved(workspace) ?? workspace
        self.maxBytes = maxBytes
    }

    /// Why a read or write was refused, and of which kind.
    public struct Refusal: Error, Sendable {
        public enum Kind: Sendable { case invalid, notFound, failed }
        public var message: String
        public var kind: Kind
        init(_ message: String, _ kind: Kind = .invalid) {
            self.message = message
            self.kind = kind
        }
    }

    /// Reads a text file, optionally from 1-based `line` and at most `limit` lines.
    public func read(_ path: String, line: Int?, limit: Int?) throws(Refusal) -> String {
        let target = try inside(path, mustExist: true)
        // Opened without following a link and without blocking (a FIFO swapped in since the check
        // must not hang the run), then checked on the descriptor itself.
        let descriptor = open(target, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw Refusal("cannot read \(path): \(String(cString: strerror(errno)))", .notFound) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { throw Refusal("\(path) is not a regular file") }
        guard Int(info.st_size) <= maxBytes else {
            throw Refusal("\(path) has \(info.st_size) bytes, over the limit of \(maxBytes) (max_file_bytes)")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while bytes.count <= maxBytes {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw Refusal("cannot read \(path): \(String(cString: strerror(errno)))", .failed) }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        guard bytes.count <= maxBytes else { throw Refusal("\(path) grew over the limit of \(maxBytes) bytes (max_file_bytes)") }
        let data = Data(bytes)
        guard let text = String(data: data, encoding: .utf8) else { throw Refusal("\(path) is not UTF-8 text") }
        if line == nil, limit == nil { return text }
        if let line, line < 1 { throw Refusal("line must be 1 or more") }
        if let limit, limit < 0 { throw Refusal("limit must not be negative") }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let first = min((line ?? 1) - 1, lines.count)
        let last = limit.map { min(first + $0, lines.count) } ?? lines.count
        return lines[first..<last].joined(separator: "\n")
    }

    /// Writes `content` to `path`: the folders on the way are created, the file is replaced
    /// atomically (a link at its place is replaced, never followed) and keeps its permissions.
    /// Returns the path relative to the workspace.
    public func write(_ path: String, content: String) throws(Refusal) -> String {
        let bytes = Array(content.utf8)
        guard bytes.count <= maxBytes else {
            throw Refusal("the content has \(bytes.count) bytes, over the limit of \(maxBytes) (max_file_bytes)")
        }
        let target = try inside(path, mustExist: false)
        if target == root { throw Refusal("\(path) is the workspace itself, not a file") }
        // Git's own folder holds configuration and hooks that later git commands run: not a file an
        // agent edits through the gateway.
        if target.utf8.dropFirst(root.utf8.count).split(separator: UInt8(ascii: "/")).contains(where: { $0.elementsEqual(".git".utf8) }) {
            throw Refusal("\(path) is inside a .git folder, which agents may not write through the gateway")
        }
        let folder = (target as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw Refusal("cannot create the folder of \(path): \(error.localizedDescription)", .failed)
        }
        // Created folders are checked again: nothing may have led them outside meanwhile.
        guard let resolvedFolder = Self.resolved(folder), Self.contains(root, resolvedFolder) else {
            throw Refusal("\(path) is outside the session's workspace")
        }
        let name = (target as NSString).lastPathComponent
        let final = resolvedFolder + "/" + name
        var existing = stat()
        let mode: mode_t = lstat(final, &existing) == 0 && (existing.st_mode & S_IFMT) == S_IFREG ? existing.st_mode & 0o7777 : 0o644
        if lstat(final, &existing) == 0, (existing.st_mode & S_IFMT) == S_IFDIR { throw Refusal("\(path) is a folder") }
        let temporary = resolvedFolder + "/.\(name).flywheel-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw Refusal("cannot write \(path): \(String(cString: strerror(errno)))", .failed) }
        var written = 0
        var failure: Int32 = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { failure = errno; break }
            written += count
        }
        if failure == 0, fsync(descriptor) != 0 { failure = errno }
        _ = fchmod(descriptor, mode)
        close(descriptor)
        if failure == 0, rename(temporary, final) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw Refusal("cannot write \(path): \(String(cString: strerror(failure)))", .failed)
        }
        return String(final.dropFirst(root.count + 1))
    }

    /// Whether `path` is one `read` or `write` could be asked about: absolute and inside the workspace.
    public func allows(_ path: String) -> Bool {
        (try? inside(path, mustExist: false)) != nil
    }

    /// `path` made canonical and checked to be inside the workspace. For a file that may not exist
    /// yet, its nearest existing folder is resolved and the rest must be plain names.
    private func inside(_ path: String, mustExist: Bool) throws(Refusal) -> String {
        // On bytes, as the kernel reads paths: a Character split misses a `/` that a combining or
        // prepended mark joins to, and with it a `..` or `.git`.
        guard path.utf8.first == UInt8(ascii: "/") else { throw Refusal("path must be absolute, not \"\(path)\"") }
        guard !path.utf8.contains(0) else { throw Refusal("path contains a NUL character") }
        let components = path.utf8.split(separator: UInt8(ascii: "/")).map { String(decoding: $0, as: UTF8.self) }
        guard !components.contains(where: { $0.utf8.elementsEqual("..".utf8) }) else { throw Refusal("\(path) is outside the session's workspace ('..' is not allowed)") }
        if let resolved = Self.resolved(path) {
            guard Self.contains(root, resolved) else { throw Refusal("\(path) is outside the session's workspace") }
            return resolved
        }
        if mustExist { throw Refusal("\(path) does not exist", .notFound) }
        var existing = components
        var missing: [String] = []
        while let last = existing.popLast() {
            missing.insert(last, at: 0)
            if let resolved = Self.resolved("/" + existing.joined(separator: "/")) {
                let candidate = ([resolved == "/" ? "" : resolved] + missing).joined(separator: "/")
                guard Self.contains(root, candidate) else { throw Refusal("\(path) is outside the session's workspace") }
                return candidate
            }
        }
        throw Refusal("\(path) is outside the session's workspace")
    }

    /// Byte for byte: String equality and `hasPrefix` treat canonically equivalent texts as equal.
    public static func contains(_ root: String, _ path: String) -> Bool {
        if path.utf8.elementsEqual(root.utf8) { return true }
        let folder = root.utf8.last == UInt8(ascii: "/") ? Array(root.utf8) : Array(root.utf8) + [UInt8(ascii: "/")]
        return path.utf8.starts(with: folder)
    }

    public static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
