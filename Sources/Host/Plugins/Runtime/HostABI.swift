import PluginABI

/// The ABI version this host implements, from the header it was compiled with.
public enum HostABI {
    public static let version = flywheel_abi_version_t(
        major: FLYWHEEL_ABI_VERSION_MAJOR, minor: FLYWHEEL_ABI_VERSION_MINOR, patch: FLYWHEEL_ABI_VERSION_PATCH)

    public static var versionString: String { string(version) }

    static func string(_ version: flywheel_abi_version_t) -> String {
        "\(version.major).\(version.minor).\(version.patch)"
    }

    /// Smallest sizes a v1.0 driver may declare for the structs it fills.
    static let minimumEntrySize = MemoryLayout<flywheel_plugin_entry_t>.size
    static let minimumDescriptorSize = MemoryLayout<flywheel_driver_descriptor_t>.size
    static let minimumDriverSize = MemoryLayout<flywheel_driver_t>.size
    static let minimumCheckpointExtensionSize = MemoryLayout<flywheel_checkpoint_extension_t>.size
}

/// The gateway's own version.
public enum FlywheelVersion {
    public static let current = "0.1.0"
}
