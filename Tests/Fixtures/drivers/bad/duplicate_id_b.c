/* Claims the same driver id as duplicate_id_a.c. */
#define FIXTURE_ID "test.duplicate"
#include "fixture_common.h"
