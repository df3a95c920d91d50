// Plans a small layer through the installed library and prints its balance; references the
// optional backends so that linking them is checked (nothing is run on MPI or a GPU).
#include <eplb/balance.h>
#include <eplb/planner.h>

#include <cstdio>
#include <memory>

#ifdef CONSUMER_HAS_MPI
#include <eplb/mpi_comm.h>
#endif
#ifdef CONSUMER_HAS_CUDA
#include <eplb/cuda/kernels.h>
#endif

int main() {
  eplb::LoadMatrix loads = eplb::LoadMatrix::zeros(1, 8);
  const double tokens[] = {80, 10, 10, 10, 40, 10, 10, 30};
  for (int e = 0; e < 8; ++e) loads.layer(0)[static_cast<size_t>(e)] = tokens[e];
  eplb::PlanOptions options;
  options.num_ranks = 4;
  options.num_slots = 12;
  const eplb::Placement placement = eplb::plan(loads, options);
  const double peak = eplb::balance_report(loads, &placement, 4).average.peak_to_avg;
#ifdef CONSUMER_HAS_MPI
  volatile auto mpi = static_cast<std::unique_ptr<eplb::Communicator> (*)(const eplb::MpiOptions&)>(
      &eplb::make_mpi_communicator);
  (void)mpi;
#endif
#ifdef CONSUMER_HAS_CUDA
  volatile auto cuda =
      static_cast<void (*)(const int32_t*, int64_t, int, int64_t*, int64_t*, cudaStream_t)>(
          &eplb::cuda::count_expert_load);
  (void)cuda;
#endif
  std::printf("consumer: peak/avg %.4f\n", peak);
  return peak > 0 && peak < 1.5 ? 0 : 1;
}
