/* Built for ABI 2: the host must refuse another major version. */
#define FIXTURE_MAJOR 2u
#include "fixture_common.h"
