/* A valid shared object that exports no flywheel_plugin_entry. */
#define FIXTURE_NO_ENTRY 1
#include "fixture_common.h"
