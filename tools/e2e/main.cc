// eplb-e2e: the end-to-end proof of the online balancer over MPI (docs/e2e.md).
//   mpirun -np 4 eplb-e2e --steps 60 --json
// Exit status: 0 when every output and every weight checksum matched, 1 on a mismatch,
// 2 on an error (bad flags, a failed exchange), after which MPI_Abort ends all ranks.
#include <mpi.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "e2e/e2e_options.h"
#include "e2e/e2e_report.h"
#include "e2e/e2e_run.h"
#include "eplb/mpi_comm.h"

int main(int argc, char** argv) {
  eplb::MpiSession session(&argc, &argv);
  const int rank = session.world_rank();
  eplb::e2e::E2eOptions options;
  CLI::App app(
      "eplb-e2e: MoE layers served through the online balancer over MPI, checked "
      "bit for bit against a reference without expert parallelism",
      "eplb-e2e");
  eplb::e2e::add_e2e_flags(app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Every rank parses the same flags; one message (or --help) is enough.
    if (rank == 0) {
      return app.exit(e);
    }
    return e.get_exit_code();
  }
  try {
    // Two communicators: the balancer's (loads, votes, weights) and the tokens'.
    auto balancer_comm = eplb::make_mpi_communicator();
    auto data_comm = eplb::make_mpi_communicator();
    const eplb::e2e::RankResult result = eplb::e2e::run_rank(options, *balancer_comm, *data_comm);
    const eplb::e2e::E2eSummary summary = eplb::e2e::summarize(result, *data_comm);
    if (rank == 0) {
      const std::string text = options.json ? eplb::e2e::format_json(summary, options) + "\n"
                                            : eplb::e2e::format_text(summary, options);
      std::fputs(text.c_str(), stdout);
      std::fflush(stdout);
    }
    return summary.passed() ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "eplb-e2e: rank %d: %s\n", rank, e.what());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 2);
    return 2;
  }
}
