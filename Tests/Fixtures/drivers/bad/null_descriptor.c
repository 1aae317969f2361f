/* get_descriptor returns NULL. */
#define FIXTURE_NULL_DESCRIPTOR 1
#include "fixture_common.h"
