// Compile-time pins of the frozen ABI v1.0 layouts on LP64 platforms. The test suite pins the same
// numbers from Swift; this file makes a C build of the host fail first if someone edits a struct.
#include "flywheel/driver.h"

#if defined(__LP64__)
#define PIN_SIZE(type, size) _Static_assert(sizeof(type) == (size), #type " size changed: ABI break")
#define PIN_OFFSET(type, field, offset) \
    _Static_assert(offsetof(type, field) == (offset), #type "." #field " moved: ABI break")

PIN_SIZE(flywheel_abi_version_t, 12);
PIN_SIZE(flywheel_host_t, 64);
PIN_OFFSET(flywheel_host_t, abi_version, 4);
PIN_OFFSET(flywheel_host_t, get_extension, 56);
PIN_SIZE(flywheel_run_host_t, 40);
PIN_OFFSET(flywheel_run_host_t, request_command, 32);
PIN_SIZE(flywheel_driver_descriptor_t, 56);
PIN_OFFSET(flywheel_driver_descriptor_t, capabilities_json, 48);
PIN_SIZE(flywheel_driver_t, 48);
PIN_OFFSET(flywheel_driver_t, get_extension, 40);
PIN_SIZE(flywheel_plugin_entry_t, 48);
PIN_OFFSET(flywheel_plugin_entry_t, struct_size, 12);
PIN_OFFSET(flywheel_plugin_entry_t, create_driver, 40);
PIN_SIZE(flywheel_checkpoint_extension_t, 24);
PIN_SIZE(flywheel_host_checkpoint_extension_t, 16);
PIN_SIZE(flywheel_instance_extension_t, 16);
PIN_OFFSET(flywheel_instance_extension_t, capabilities_json, 8);
#endif
