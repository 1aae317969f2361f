/* Declares an id that breaks the id rules. */
#define FIXTURE_ID "Not Valid!"
#include "fixture_common.h"
