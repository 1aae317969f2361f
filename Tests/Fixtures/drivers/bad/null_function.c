/* Leaves the required create_driver pointer NULL. */
#define FIXTURE_CREATE NULL
#include "fixture_common.h"
