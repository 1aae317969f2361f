/* Declares an entry struct of 8 bytes, smaller than any released layout. */
#define FIXTURE_ENTRY_SIZE 8u
#include "fixture_common.h"
