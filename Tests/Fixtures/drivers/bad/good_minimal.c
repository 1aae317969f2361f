/* A valid minimal driver, the control for the other fixtures. */
#include "fixture_common.h"
