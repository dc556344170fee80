// The control for up_include.cpp: the same nn-layer probe including headers of nn itself and of layers below it
// compiles, so a failure of the other probe is the layering and not the probe.
#include "ftmamba/core/error.h"
#include "ftmamba/data/preprocess.h"
#include "ftmamba/nn/two_tower.h"
#include "ftmamba/ops/selective_scan.h"

int layering_probe_down() { return 0; }
