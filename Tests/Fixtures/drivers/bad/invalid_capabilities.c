/* Declares capabilities that are not valid JSON. */
#define FIXTURE_CAPABILITIES "{\"account_provider\": "
#include "fixture_common.h"
