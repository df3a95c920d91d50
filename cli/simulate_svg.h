// The plots of `eplb simulate --svg DIR`, built from the simulator's results.
#pragma once

#include <string>
#include <vector>

#include "eplb/sim/simulator.h"
#include "eplb/sim/trace.h"

namespace eplb::cli {

struct PlottedRun {
  std::string label;  // "none", "online C=50 A=10 U=1", ...
  const sim::SimResult* result = nullptr;
};

// Writes into `dir` (created when missing), each file atomically:
//   imbalance.svg  peak/avg per step, one line per run;
//   heatmap.svg    rank load per (layer, rank) over the last `window` steps, under the default
//                  deployment ("before") and under the placement in force at the end of the
//                  best run ("after": lowest estimated step time among static and online
//                  runs, else the oracle);
//   moves.svg      slots re-filled per re-plan cycle of the online runs (only when there is one).
// `num_ranks`/`num_slots` describe the deployment; `source` names the trace in subtitles.
// Returns the paths written. Throws eplb::Error naming the directory or file on failure.
std::vector<std::string> write_simulate_svgs(const std::string& dir, const sim::LoadTrace& trace,
                                             const std::vector<PlottedRun>& runs, int window,
                                             int num_ranks, int num_slots,
                                             const std::string& source);

}  // namespace eplb::cli
