import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Checks on a plugin file made from the file alone, before `dlopen` runs any of its code (a
/// library's constructors run at `dlopen`, before any ABI check can; only a sha256 pin keeps unknown
/// code from running at all).
///
/// The file must be a regular file (a FIFO or device named `x.so` would make any reader wait
/// forever), an ELF shared object (`ET_DYN`), and must define `flywheel_plugin_entry` as a function in
/// its dynamic symbol table. Files are opened non-blocking and never followed into anything but a
/// regular file.
enum SharedObjectFile {
    static func check(_ path: String, entrySymbol: String) throws(PluginLoadError.Reason) {
        let file = try open(path)
        defer { close(file) }
        let elf = try ELFReader(descriptor: file, path: path)
        try elf.checkSharedObject()
        try elf.checkDefinesFunction(entrySymbol)
    }

    /// Lower-case hex SHA-256 of the file's bytes.
    static func sha256(_ path: String) throws(PluginLoadError.Reason) -> String {
        let file = try open(path)
        let handle = FileHandle(fileDescriptor: file, closeOnDealloc: true)
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

    /// Opens a regular file for reading without ever blocking on it.
    private static func open(_ path: String) throws(PluginLoadError.Reason) -> Int32 {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { throw .libraryMissing(path: path) }
            throw .notSharedObject(path: path, detail: "it cannot be examined: \(String(cString: strerror(errno)))")
        }
        try requireRegular(info.st_mode, path)
        let descriptor = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw .notSharedObject(path: path, detail: "it cannot be read: \(String(cString: strerror(errno)))") }
        // The path may have been replaced between stat and open: check what was opened.
        guard fstat(descriptor, &info) == 0 else {
            close(descriptor)
            throw .notSharedObject(path: path, detail: "it cannot be examined")
        }
        do {
            try requireRegular(info.st_mode, path)
        } catch {
            close(descriptor)
            throw error
        }
        return descriptor
    }

    private static func requireRegular(_ mode: mode_t, _ path: String) throws(PluginLoadError.Reason) {
        let kind = mode & S_IFMT
        guard kind != S_IFREG else { return }
        let name: String =
            switch kind {
            case S_IFDIR: "a directory"
            case S_IFIFO: "a FIFO"
            case S_IFSOCK: "a socket"
            case S_IFCHR, S_IFBLK: "a device"
            default: "not a regular file"
            }
        throw .notSharedObject(path: path, detail: "it is \(name), not a regular file")
    }
}

/// Just enough of an ELF file to find its type and its dynamic symbols, read with `pread`.
private struct ELFReader {
    let descriptor: Int32
    let path: String
    let is64: Bool
    let bigEndian: Bool
    let header: [UInt8]

    init(descriptor: Int32, path: String) throws(PluginLoadError.Reason) {
        self.descriptor = descriptor
        self.path = path
        var header = [UInt8](repeating: 0, count: 64)
        let count = header.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 64, 0) }
        guard count >= 52, header[0] == 0x7F, header[1] == 0x45, header[2] == 0x4C, header[3] == 0x46,
              header[4] == 1 || header[4] == 2, header[5] == 1 || header[5] == 2 else {
            throw .notSharedObject(path: path, detail: "no ELF header")
        }
        self.header = header
        is64 = header[4] == 2
        bigEndian = header[5] == 2
    }

    func checkSharedObject() throws(PluginLoadError.Reason) {
        let type = integer(header, at: 16, size: 2)
        guard type == 3 else { throw .notSharedObject(path: path, detail: "ELF type \(type), not a shared library (ET_DYN)") }
    }

    /// Finds `name` among the defined global functions of the dynamic symbol table (`.dynsym`).
    /// A file without section headers cannot be checked this way and is left to `dlsym`.
    func checkDefinesFunction(_ name: String) throws(PluginLoadError.Reason) {
        let sectionsAt = integer(header, at: is64 ? 0x28 : 0x20, size: is64 ? 8 : 4)
        let sectionSize = integer(header, at: is64 ? 0x3A : 0x2E, size: 2)
        let sectionCount = integer(header, at: is64 ? 0x3C : 0x30, size: 2)
        guard sectionsAt > 0, sectionCount > 0, sectionSize >= (is64 ? 64 : 40) else { return }
        let sections = try read(at: sectionsAt, count: sectionSize * sectionCount)
        func section(_ index: UInt64) -> (type: UInt64, offset: UInt64, size: UInt64, link: UInt64, entrySize: UInt64) {
            let base = Int(index * sectionSize)
            return is64
                ? (integer(sections, at: base + 4, size: 4), integer(sections, at: base + 24, size: 8), integer(sections, at: base + 32, size: 8),
                   integer(sections, at: base + 40, size: 4), integer(sections, at: base + 56, size: 8))
                : (integer(sections, at: base + 4, size: 4), integer(sections, at: base + 16, size: 4), integer(sections, at: base + 20, size: 4),
                   integer(sections, at: base + 24, size: 4), integer(sections, at: base + 36, size: 4))
        }
        guard let dynsym = (0..<sectionCount).map(section).first(where: { $0.type == 11 }) else {
            throw .entrySymbolMissing(name)
        }
        let symbolSize: UInt64 = is64 ? 24 : 16
        guard dynsym.link < sectionCount, dynsym.entrySize >= symbolSize, dynsym.size <= 64 << 20 else {
            throw .notSharedObject(path: path, detail: "its dynamic symbol table is malformed")
        }
        let strings = section(dynsym.link)
        guard strings.size <= 64 << 20 else { throw .notSharedObject(path: path, detail: "its dynamic string table is malformed") }
        let symbols = try read(at: dynsym.offset, count: dynsym.size)
        let names = try read(at: strings.offset, count: strings.size)
        let wanted = Array(name.utf8)
        for index in 0..<(dynsym.size / dynsym.entrySize) {
            let base = Int(index * dynsym.entrySize)
            let nameAt = Int(integer(symbols, at: base, size: 4))
            let info = symbols[base + (is64 ? 4 : 12)]
            let sectionIndex = integer(symbols, at: base + (is64 ? 6 : 14), size: 2)
            guard nameAt + wanted.count < names.count, names[nameAt..<(nameAt + wanted.count)].elementsEqual(wanted),
                  names[nameAt + wanted.count] == 0 else { continue }
            let binding = info >> 4, type = info & 0x0F
            if sectionIndex != 0, binding == 1 || binding == 2, type == 2 { return }
        }
        throw .entrySymbolMissing(name)
    }

    private func read(at offset: UInt64, count: UInt64) throws(PluginLoadError.Reason) -> [UInt8] {
        guard count < 1 << 30 else { throw .notSharedObject(path: path, detail: "its section tables are malformed") }
        var bytes = [UInt8](repeating: 0, count: Int(count))
        let got = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, Int(count), off_t(offset)) }
        guard got == Int(count) else { throw .notSharedObject(path: path, detail: "it is truncated (section tables past its end)") }
        return bytes
    }

    private func integer(_ bytes: [UInt8], at offset: Int, size: Int) -> UInt64 {
        guard offset >= 0, offset + size <= bytes.count else { return 0 }
        var value: UInt64 = 0
        for index in 0..<size {
            let byte = UInt64(bytes[offset + (bigEndian ? index : size - 1 - index)])
            value = value << 8 | byte
        }
        return value
    }
}
