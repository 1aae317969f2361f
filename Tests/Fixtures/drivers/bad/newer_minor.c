/* Built for ABI 1.99: newer than the host, which must refuse it. */
#define FIXTURE_MINOR 99u
#include "fixture_common.h"
