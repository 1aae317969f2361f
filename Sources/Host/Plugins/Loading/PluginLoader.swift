import Crypto
import Foundation
import Logging
import PluginABI

/// Opens driver plugins and checks them before trusting them (ARCHITECTURE §4 rule 10).
///
/// Every way a plugin can be wrong becomes a ``PluginLoadError`` naming the file and the reason; a
/// rejected plugin never affects the others. A library is opened once per process: loading the same
/// file again returns the plugin already loaded.
public struct PluginLoader: Sendable {
    public var logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    /// Checks and opens the library a manifest names.
    public func load(_ manifest: PluginManifest) throws(PluginLoadError) -> LoadedPlugin {
        do throws(PluginLoadError.Reason) {
            let plugin = try load(library: manifest.libraryPath, sha256: manifest.sha256)
            if let expected = manifest.expectedDriverID, expected != plugin.descriptor.id {
                throw PluginLoadError.Reason.driverIDMismatch(expected: expected, actual: plugin.descriptor.id)
            }
            return plugin
        } catch {
            throw PluginLoadError(file: manifest.file, reason: error)
        }
    }

    /// Checks and opens a library directly (as `flywheel plugins validate lib.so` does).
    public func load(library: URL) throws(PluginLoadError) -> LoadedPlugin {
        do {
            return try load(library: library, sha256: nil)
        } catch {
            throw PluginLoadError(file: library, reason: error)
        }
    }

    private func load(library: URL, sha256: String?) throws(PluginLoadError.Reason) -> LoadedPlugin {
        let path = library.path
        try SharedObjectFile.check(path, entrySymbol: FLYWHEEL_PLUGIN_ENTRY_SYMBOL)
        if let expected = sha256 {
            let actual = try SharedObjectFile.sha256(path)
            guard actual == expected else { throw .checksumMismatch(expected: expected, actual: actual) }
        }
        return try LoadedLibraries.shared.plugin(at: path) { () throws(PluginLoadError.Reason) in
            try open(path, library: library)
        }
    }

    private func open(_ path: String, library: URL) throws(PluginLoadError.Reason) -> LoadedPlugin {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw .openFailed(dlerror().map { String(cString: $0) } ?? "unknown error")
        }
        // From here on the handle is never closed (rule 13), whatever happens.
        guard let symbol = dlsym(handle, FLYWHEEL_PLUGIN_ENTRY_SYMBOL) else {
            throw .entrySymbolMissing(FLYWHEEL_PLUGIN_ENTRY_SYMBOL)
        }
        typealias EntryFunction = @convention(c) () -> UnsafePointer<flywheel_plugin_entry_t>?
        guard let entry = unsafeBitCast(symbol, to: EntryFunction.self)() else { throw .entryReturnedNull }

        let version = entry.pointee.abi_version
        let pluginVersion = HostABI.string(version)
        guard version.major == HostABI.version.major else {
            throw .abiMajorMismatch(plugin: pluginVersion, host: HostABI.versionString)
        }
        guard version.minor <= HostABI.version.minor else {
            throw .abiMinorTooNew(plugin: pluginVersion, host: HostABI.versionString)
        }
        let size = Int(entry.pointee.struct_size)
        guard size >= HostABI.minimumEntrySize else {
            throw .structTooSmall(name: "flywheel_plugin_entry_t", size: size, minimum: HostABI.minimumEntrySize)
        }
        let entryStruct = entry.pointee
        for (name, present) in [("init", entryStruct.`init` != nil), ("get_descriptor", entryStruct.get_descriptor != nil),
                                ("create_driver", entryStruct.create_driver != nil)] where !present {
            throw .requiredFunctionMissing("flywheel_plugin_entry_t.\(name)")
        }

        let hostTable = PluginHostTable(pluginFile: path, logger: logger)
        DriverErrorSlot.clear()
        let status = entryStruct.`init`(hostTable.pointer)
        let message = DriverErrorSlot.take()
        guard status == FLYWHEEL_OK else { throw .initFailed(status: status, message: message) }
        do {
            let descriptor = try Self.readDescriptor(entryStruct.get_descriptor())
            logger.info("loaded driver plugin", metadata: [
                "flywheel.driver.id": .string(descriptor.id), "flywheel.driver.version": .string(descriptor.version),
                "flywheel.plugin.abi": .string(pluginVersion),
            ])
            return LoadedPlugin(descriptor: descriptor, libraryPath: library, abiVersion: pluginVersion,
                                entry: entry, hostTable: hostTable)
        } catch {
            // init succeeded, so the plugin is owed its deinit.
            entryStruct.deinit?()
            throw error
        }
    }

    static func readDescriptor(_ pointer: UnsafePointer<flywheel_driver_descriptor_t>?) throws(PluginLoadError.Reason) -> DriverDescriptor {
        guard let pointer else { throw .descriptorMissing }
        let size = Int(pointer.pointee.struct_size)
        guard size >= HostABI.minimumDescriptorSize else {
            throw .structTooSmall(name: "flywheel_driver_descriptor_t", size: size, minimum: HostABI.minimumDescriptorSize)
        }
        let raw = pointer.pointee
        func required(_ value: UnsafePointer<CChar>?, _ field: String) throws(PluginLoadError.Reason) -> String {
            guard let value else { throw .descriptorInvalid("\(field) is NULL") }
            let text = String(cString: value)
            guard !text.isEmpty else { throw .descriptorInvalid("\(field) is empty") }
            return text
        }
        let id = try required(raw.id, "id")
        guard DriverDescriptor.isValidID(id) else {
            throw .descriptorInvalid("id '\(id)' must be 1 to 64 of [a-z0-9._-] starting with a letter")
        }
        let capabilities = raw.capabilities_json.map { String(cString: $0) } ?? "{}"
        let parsed = try DriverDescriptor.parseCapabilities(capabilities)
        return DriverDescriptor(
            id: id,
            name: try required(raw.name, "name"),
            version: try required(raw.version, "version"),
            vendor: raw.vendor.map { String(cString: $0) },
            description: raw.description.map { String(cString: $0) },
            capabilitiesJSON: capabilities,
            accountProvider: parsed.provider,
            maxConcurrentRuns: parsed.maxRuns)
    }
}
