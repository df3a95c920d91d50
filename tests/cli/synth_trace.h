// The small trace the simulate, tune and plot tests replay, made by `eplb synth`.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "cli_runner.h"

namespace eplb::testing {

// Writes trace.npy in `dir`: 40 steps x 4 layers x 16 experts, top-2, skewed, drifting, with a
// regime change at step 20 (every step has data). Returns its path.
inline std::string make_synth_trace(const ScratchDir& dir) {
  const std::string path = dir.path("trace.npy");
  const CliResult r = run_eplb("synth --out " + path +
                               " --steps 40 --layers 4 --experts 16 --top-k 2 --tokens 800"
                               " --skew 1.2 --drift 0.02 --regime-every 20 --seed 3");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

}  // namespace eplb::testing
