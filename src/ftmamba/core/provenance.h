// defines: utc_now and machine_description, the "created" and "machine" lines that every report (compare,
// compare-finetune, analyze stability) records.
#pragma once
#include <c10/core/Device.h>

#include <string>

namespace ftmamba {

// The current time as ISO 8601 in UTC, e.g. "2026-11-22T19:40:00Z".
std::string utc_now();

// The CPU, and the GPU when the work ran on one: "MODEL (N logical CPUs visible), CPU" or "..., GPU cuda:0 (NAME)".
std::string machine_description(c10::Device device);

}  // namespace ftmamba
