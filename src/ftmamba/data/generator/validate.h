// defines: gen::validate_spec, the checks of a preset's Spec before anything is drawn: its tables, its
// effects against their columns, the interaction format and the model's parameters.
#pragma once
#include "ftmamba/data/generator/spec.h"

namespace ftmamba::data::gen {

// Throws Error "preset 'NAME': ..." naming the table, column or effect at fault.
void validate_spec(const Spec& spec);

}  // namespace ftmamba::data::gen
