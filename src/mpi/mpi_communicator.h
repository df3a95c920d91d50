// The MPI Communicator (eplb/mpi_comm.h): owns a duplicate of an MPI communicator with
// MPI_ERRORS_RETURN and posts each operation as a RequestBatch. Internal (includes <mpi.h>).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "eplb/comm.h"
#include "eplb/mpi_comm.h"
#include "mpi/request_batch.h"

namespace eplb::mpi {

class MpiCommunicator final : public Communicator {
 public:
  // Duplicates `parent`. Throws eplb::Error when MPI is not initialised, an MPI call fails or
  // the options are invalid.
  MpiCommunicator(MPI_Comm parent, const MpiOptions& options);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int num_ranks() const override { return num_ranks_; }
  std::string backend_name() const override { return "mpi"; }

  std::unique_ptr<CommHandle> all_gather(std::span<const double> local,
                                         std::span<double> gathered) override;
  std::unique_ptr<CommHandle> broadcast(std::span<std::byte> data, int root) override;
  std::unique_ptr<CommHandle> exchange(std::span<const SendOp> sends,
                                       std::span<const RecvOp> recvs) override;
  void set_fault_injector(FaultInjector injector) override;

  // The MPI tag an exchange tag travels under (see eplb/mpi_comm.h).
  int mpi_tag(int64_t tag) const;

 private:
  void post_send(RequestBatch& batch, const SendOp& send) const;
  void post_recv(RequestBatch& batch, const RecvOp& recv) const;

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int num_ranks_ = 0;
  int tag_ub_ = 32767;  // MPI_TAG_UB of comm_ (the standard guarantees at least 32767)
  MpiOptions options_;
  FaultInjector fault_injector_;
};

}  // namespace eplb::mpi
