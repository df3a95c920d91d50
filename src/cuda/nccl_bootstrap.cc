// Bootstrap helpers of the NCCL backend (eplb/cuda/nccl_comm.h): unique id, comm creation.
#include <nccl.h>

#include <cstring>
#include <string>

#include "eplb/cuda/nccl_comm.h"
#include "eplb/error.h"

namespace eplb::cuda {

static_assert(sizeof(ncclUniqueId) == sizeof(NcclUniqueId),
              "NcclUniqueId must hold exactly an ncclUniqueId (NCCL_UNIQUE_ID_BYTES)");

NcclUniqueId make_nccl_unique_id() {
  ncclUniqueId id;
  const ncclResult_t result = ncclGetUniqueId(&id);
  if (result != ncclSuccess) {
    throw Error(std::string("make_nccl_unique_id: ncclGetUniqueId: ") + ncclGetErrorString(result));
  }
  NcclUniqueId bytes;
  std::memcpy(bytes.data(), &id, sizeof(id));
  return bytes;
}

ncclComm_t init_nccl_comm(const NcclUniqueId& id, int rank, int num_ranks) {
  if (num_ranks < 1 || rank < 0 || rank >= num_ranks) {
    throw Error("init_nccl_comm: rank " + std::to_string(rank) + " out of range [0, " +
                std::to_string(num_ranks) + ")");
  }
  ncclUniqueId nccl_id;
  std::memcpy(&nccl_id, id.data(), sizeof(nccl_id));
  ncclComm_t comm = nullptr;
  const ncclResult_t result = ncclCommInitRank(&comm, num_ranks, nccl_id, rank);
  if (result != ncclSuccess) {
    throw Error("init_nccl_comm: rank " + std::to_string(rank) + " of " +
                std::to_string(num_ranks) + ": ncclCommInitRank: " + ncclGetErrorString(result));
  }
  return comm;
}

void destroy_nccl_comm(ncclComm_t comm) {
  if (comm != nullptr) ncclCommDestroy(comm);
}

}  // namespace eplb::cuda
