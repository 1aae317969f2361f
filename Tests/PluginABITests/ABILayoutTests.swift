import PluginABI
import Testing

/// Pins the frozen v1.0 layouts: any change here is an ABI break that third-party drivers would feel.
@Suite("ABI v1 layout")
struct ABILayoutTests {
    @Test("the header declares ABI 1.2.0")
    func version() {
        #expect(FLYWHEEL_ABI_VERSION_MAJOR == 1)
        #expect(FLYWHEEL_ABI_VERSION_MINOR == 2)
        #expect(FLYWHEEL_ABI_VERSION_PATCH == 0)
        #expect(FLYWHEEL_PLUGIN_ENTRY_SYMBOL == "flywheel_plugin_entry")
    }

    @Test("flywheel_abi_version_t is three uint32")
    func abiVersion() {
        #expect(MemoryLayout<flywheel_abi_version_t>.size == 12)
        #expect(MemoryLayout<flywheel_abi_version_t>.offset(of: \.minor) == 4)
        #expect(MemoryLayout<flywheel_abi_version_t>.offset(of: \.patch) == 8)
    }

    @Test("flywheel_plugin_entry_t starts with the version")
    func entry() {
        typealias T = flywheel_plugin_entry_t
        #expect(MemoryLayout<T>.size == 48)
        #expect(MemoryLayout<T>.offset(of: \.abi_version) == 0)
        #expect(MemoryLayout<T>.offset(of: \.struct_size) == 12)
        #expect(MemoryLayout<T>.offset(of: \.`init`) == 16)
        #expect(MemoryLayout<T>.offset(of: \.deinit) == 24)
        #expect(MemoryLayout<T>.offset(of: \.get_descriptor) == 32)
        #expect(MemoryLayout<T>.offset(of: \.create_driver) == 40)
    }

    @Test("flywheel_host_t")
    func host() {
        typealias T = flywheel_host_t
        #expect(MemoryLayout<T>.size == 64)
        #expect(MemoryLayout<T>.offset(of: \.struct_size) == 0)
        #expect(MemoryLayout<T>.offset(of: \.abi_version) == 4)
        #expect(MemoryLayout<T>.offset(of: \.host_name) == 16)
        #expect(MemoryLayout<T>.offset(of: \.host_version) == 24)
        #expect(MemoryLayout<T>.offset(of: \.host_data) == 32)
        #expect(MemoryLayout<T>.offset(of: \.log) == 40)
        #expect(MemoryLayout<T>.offset(of: \.set_error) == 48)
        #expect(MemoryLayout<T>.offset(of: \.get_extension) == 56)
    }

    @Test("flywheel_run_host_t")
    func runHost() {
        typealias T = flywheel_run_host_t
        #expect(MemoryLayout<T>.size == 40)
        #expect(MemoryLayout<T>.offset(of: \.struct_size) == 0)
        #expect(MemoryLayout<T>.offset(of: \.reserved) == 4)
        #expect(MemoryLayout<T>.offset(of: \.run_id) == 8)
        #expect(MemoryLayout<T>.offset(of: \.host_data) == 16)
        #expect(MemoryLayout<T>.offset(of: \.emit) == 24)
        #expect(MemoryLayout<T>.offset(of: \.request_command) == 32)
    }

    @Test("flywheel_driver_descriptor_t")
    func descriptor() {
        typealias T = flywheel_driver_descriptor_t
        #expect(MemoryLayout<T>.size == 56)
        #expect(MemoryLayout<T>.offset(of: \.id) == 8)
        #expect(MemoryLayout<T>.offset(of: \.name) == 16)
        #expect(MemoryLayout<T>.offset(of: \.version) == 24)
        #expect(MemoryLayout<T>.offset(of: \.vendor) == 32)
        #expect(MemoryLayout<T>.offset(of: \.description) == 40)
        #expect(MemoryLayout<T>.offset(of: \.capabilities_json) == 48)
    }

    @Test("flywheel_driver_t")
    func driver() {
        typealias T = flywheel_driver_t
        #expect(MemoryLayout<T>.size == 48)
        #expect(MemoryLayout<T>.offset(of: \.driver_data) == 8)
        #expect(MemoryLayout<T>.offset(of: \.execute) == 16)
        #expect(MemoryLayout<T>.offset(of: \.cancel) == 24)
        #expect(MemoryLayout<T>.offset(of: \.destroy) == 32)
        #expect(MemoryLayout<T>.offset(of: \.get_extension) == 40)
    }

    @Test("checkpoint extensions")
    func extensions() {
        #expect(MemoryLayout<flywheel_checkpoint_extension_t>.size == 24)
        #expect(MemoryLayout<flywheel_checkpoint_extension_t>.offset(of: \.save) == 8)
        #expect(MemoryLayout<flywheel_checkpoint_extension_t>.offset(of: \.resume) == 16)
        #expect(MemoryLayout<flywheel_host_checkpoint_extension_t>.size == 16)
        #expect(MemoryLayout<flywheel_host_checkpoint_extension_t>.offset(of: \.offer) == 8)
        #expect(FLYWHEEL_EXT_CHECKPOINT == "flywheel.checkpoint/1")
        #expect(FLYWHEEL_HOST_EXT_CHECKPOINT == "flywheel.host.checkpoint/1")
    }

    @Test("status codes keep their values")
    func statusCodes() {
        #expect([FLYWHEEL_OK, FLYWHEEL_ERR_INVALID_ARGUMENT, FLYWHEEL_ERR_INVALID_CONFIG, FLYWHEEL_ERR_UNSUPPORTED,
                 FLYWHEEL_ERR_NOT_FOUND, FLYWHEEL_ERR_BUSY, FLYWHEEL_ERR_CLOSED, FLYWHEEL_ERR_OUT_OF_MEMORY,
                 FLYWHEEL_ERR_INTERNAL] == Array(0...8))
    }

    @Test("flywheel_instance_extension_t (1.2)")
    func instanceExtension() {
        typealias T = flywheel_instance_extension_t
        #expect(MemoryLayout<T>.size == 16)
        #expect(MemoryLayout<T>.offset(of: \.reserved) == 4)
        #expect(MemoryLayout<T>.offset(of: \.capabilities_json) == 8)
        #expect(FLYWHEEL_EXT_INSTANCE == "flywheel.instance/1")
    }
}
