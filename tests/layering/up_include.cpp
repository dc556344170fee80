// A file compiled as part of the nn layer that includes a header of the train layer, above it. The build must
// refuse it: the train layer's include root is not visible to nn (see tests/layering/CMakeLists.txt).
#include "ftmamba/train/trainer.h"

int layering_probe_up() { return 0; }
