import Crypto
import Foundation

/// Checks on a plugin file made before it is opened.
enum SharedObjectFile {
    /// The file exists and is an ELF shared object (`ET_DYN`).
    static func check(_ path: String) throws(PluginLoadError.Reason) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .libraryMissing(path: path)
        }
        guard !isDirectory.boolValue else { throw .notSharedObject(path: path, detail: "it is a directory") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .notSharedObject(path: path, detail: "it cannot be read")
        }
        defer { try? handle.close() }
        let header = [UInt8]((try? handle.read(upToCount: 18)) ?? Data())
        guard header.count == 18, header[0] == 0x7F, header[1] == 0x45, header[2] == 0x4C, header[3] == 0x46 else {
            throw .notSharedObject(path: path, detail: "no ELF header")
        }
        // e_type, in the byte order EI_DATA names (1: little-endian, 2: big-endian).
        let type = header[5] == 2 ? UInt16(header[16]) << 8 | UInt16(header[17]) : UInt16(header[17]) << 8 | UInt16(header[16])
        guard type == 3 else { throw .notSharedObject(path: path, detail: "ELF type \(type), not a shared library (ET_DYN)") }
    }

    /// Lower-case hex SHA-256 of the file's bytes.
    static func sha256(_ path: String) throws(PluginLoadError.Reason) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .notSharedObject(path: path, detail: "it cannot be read")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
            }
        } catch {
            throw .notSharedObject(path: path, detail: "reading it failed: \(error)")
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
