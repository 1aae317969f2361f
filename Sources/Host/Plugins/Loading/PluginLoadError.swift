import Foundation

/// Why a plugin was refused. Every reason names what was wrong so the operator can fix it.
public struct PluginLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Error, Sendable, Equatable {
        case manifestUnreadable(String)
        case manifestSyntax(String)
        case manifestInvalid(String)
        case libraryMissing(path: String)
        case notSharedObject(path: String, detail: String)
        case checksumMismatch(expected: String, actual: String)
        case openFailed(String)
        case entrySymbolMissing(String)
        case entryReturnedNull
        case abiMajorMismatch(plugin: String, host: String)
        case abiMinorTooNew(plugin: String, host: String)
        case structTooSmall(name: String, size: Int, minimum: Int)
        case requiredFunctionMissing(String)
        case initFailed(status: Int32, message: String?)
        case descriptorMissing
        case descriptorInvalid(String)
        case invalidJSON(field: String, detail: String)
        case driverIDMismatch(expected: String, actual: String)
        case duplicateDriverID(id: String, firstFile: String)
    }

    /// The file the problem is about: the manifest, or the library when there is no manifest.
    public var file: URL
    /// The manifest line, where one is known.
    public var line: Int?
    public var reason: Reason

    public init(file: URL, line: Int? = nil, reason: Reason) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    /// A stable machine code per reason, for JSON output and the HTTP API.
    public var code: String {
        switch reason {
        case .manifestUnreadable: "manifest_unreadable"
        case .manifestSyntax: "manifest_syntax"
        case .manifestInvalid: "manifest_invalid"
        case .libraryMissing: "library_missing"
        case .notSharedObject: "not_shared_object"
        case .checksumMismatch: "checksum_mismatch"
        case .openFailed: "open_failed"
        case .entrySymbolMissing: "entry_symbol_missing"
        case .entryReturnedNull: "entry_null"
        case .abiMajorMismatch: "abi_major_mismatch"
        case .abiMinorTooNew: "abi_minor_too_new"
        case .structTooSmall: "struct_too_small"
        case .requiredFunctionMissing: "required_function_missing"
        case .initFailed: "init_failed"
        case .descriptorMissing: "descriptor_missing"
        case .descriptorInvalid: "descriptor_invalid"
        case .invalidJSON: "invalid_json"
        case .driverIDMismatch: "driver_id_mismatch"
        case .duplicateDriverID: "duplicate_driver_id"
        }
    }

    /// The reason alone, without the file.
    public var message: String {
        switch reason {
        case .manifestUnreadable(let detail): "cannot read the manifest: \(detail)"
        case .manifestSyntax(let detail): "the manifest is not valid TOML: \(detail)"
        case .manifestInvalid(let detail): detail
        case .libraryMissing(let path): "the plugin library \(path) does not exist"
        case .notSharedObject(let path, let detail): "\(path) is not a shared object (\(detail))"
        case .checksumMismatch(let expected, let actual):
            "sha256 mismatch: the manifest pins \(expected) but the library hashes to \(actual)"
        case .openFailed(let detail): "dlopen failed: \(detail)"
        case .entrySymbolMissing(let symbol): "the library does not export the entry symbol '\(symbol)'"
        case .entryReturnedNull: "flywheel_plugin_entry() returned NULL"
        case .abiMajorMismatch(let plugin, let host):
            "the plugin was built for ABI \(plugin); this host speaks ABI \(host) (different major version)"
        case .abiMinorTooNew(let plugin, let host):
            "the plugin needs ABI \(plugin), newer than this host's ABI \(host); upgrade the gateway"
        case .structTooSmall(let name, let size, let minimum):
            "\(name).struct_size is \(size) bytes; ABI v1.0 needs at least \(minimum)"
        case .requiredFunctionMissing(let name): "required function pointer \(name) is NULL"
        case .initFailed(let status, let message):
            "init failed with \(PluginStatus.name(of: status))" + (message.map { ": \($0)" } ?? "")
        case .descriptorMissing: "get_descriptor() returned NULL"
        case .descriptorInvalid(let detail): "invalid descriptor: \(detail)"
        case .invalidJSON(let field, let detail): "\(field) is not valid JSON: \(detail)"
        case .driverIDMismatch(let expected, let actual):
            "the manifest expects driver id '\(expected)' but the library declares '\(actual)'"
        case .duplicateDriverID(let id, let firstFile): "duplicate driver id '\(id)': already loaded from \(firstFile)"
        }
    }

    public var description: String {
        let location = line.map { "\(file.path):\($0)" } ?? file.path
        return "\(location): \(message)"
    }
}
