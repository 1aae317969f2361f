/* init fails and says why through set_error. */
#define FIXTURE_INIT_STATUS FLYWHEEL_ERR_INTERNAL
#define FIXTURE_INIT_MESSAGE "no licence"
#include "fixture_common.h"
