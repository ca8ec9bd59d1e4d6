// ISA selection (dispatch.cpp).
#pragma once
#include <string>
#include <vector>

#include "common.h"

namespace kit {

/** ISA levels this build has and this CPU runs, best first ("scalar" always last). */
std::vector<std::string> available_isas();
/** Selects a level; returns "" or an error naming the available ones. */
std::string set_isa(const std::string& isa);
/** The active kernel table (chosen on first use; ADAPTERKIT_CPU_ISA caps it). */
const KernelTable& kernels();

}  // namespace kit
