#include "mpi/mpi_communicator.h"

#include <algorithm>
#include <climits>
#include <utility>

#include "eplb/error.h"
#include "mpi/mpi_error.h"

namespace eplb::mpi {
namespace {

// "rank 3 -> rank 1, tag 7" / "rank 1 <- rank 3, tag 7": the place of a message in errors.
std::string send_place(int rank, const SendOp& send) {
  return "rank " + std::to_string(rank) + " -> rank " + std::to_string(send.peer) + ", tag " +
         std::to_string(send.tag);
}

std::string recv_place(int rank, const RecvOp& recv) {
  return "rank " + std::to_string(rank) + " <- rank " + std::to_string(recv.peer) + ", tag " +
         std::to_string(recv.tag);
}

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm parent, const MpiOptions& options) : options_(options) {
  int initialized = 0;
  int finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized == 0 || finalized != 0) {
    throw Error("make_mpi_communicator: MPI is not initialised (create an eplb::MpiSession first)");
  }
  if (options.max_message_bytes < static_cast<int64_t>(sizeof(double)) ||
      options.max_message_bytes > INT_MAX) {
    throw Error("make_mpi_communicator: MpiOptions::max_message_bytes=" +
                std::to_string(options.max_message_bytes) + " out of range [8, " +
                std::to_string(INT_MAX) + "]");
  }
  if (options.send_drain_timeout.count() < 0) {
    throw Error("make_mpi_communicator: MpiOptions::send_drain_timeout=" +
                std::to_string(options.send_drain_timeout.count()) + " ms is negative");
  }
  check(MPI_Comm_dup(parent, &comm_), "make_mpi_communicator: MPI_Comm_dup");
  check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN),
        "make_mpi_communicator: MPI_Comm_set_errhandler");
  check(MPI_Comm_rank(comm_, &rank_), "make_mpi_communicator: MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &num_ranks_), "make_mpi_communicator: MPI_Comm_size");
  int* tag_ub = nullptr;
  int found = 0;
  check(MPI_Comm_get_attr(comm_, MPI_TAG_UB, &tag_ub, &found),
        "make_mpi_communicator: MPI_Comm_get_attr(MPI_TAG_UB)");
  if (found != 0 && tag_ub != nullptr) {
    tag_ub_ = *tag_ub;
  }
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized == 0 && comm_ != MPI_COMM_NULL) {
    MPI_Comm_free(&comm_);
  }
}

int MpiCommunicator::mpi_tag(int64_t tag) const {
  if (tag >= 0 && tag <= tag_ub_) {
    return static_cast<int>(tag);
  }
  const int64_t modulus = static_cast<int64_t>(tag_ub_) + 1;
  return static_cast<int>(((tag % modulus) + modulus) % modulus);
}

std::unique_ptr<CommHandle> MpiCommunicator::all_gather(std::span<const double> local,
                                                        std::span<double> gathered) {
  const auto n = static_cast<int64_t>(local.size());
  if (static_cast<int64_t>(gathered.size()) != n * num_ranks_) {
    throw Error("all_gather: gathered has " + std::to_string(gathered.size()) +
                " values, expected num_ranks " + std::to_string(num_ranks_) + " x " +
                std::to_string(n));
  }
  auto batch =
      std::make_unique<RequestBatch>(rank_, /*collective=*/true, options_.send_drain_timeout);
  const int64_t max_count = options_.max_message_bytes / static_cast<int64_t>(sizeof(double));
  const std::string place = "rank " + std::to_string(rank_) + ": MPI_Iallgather: ";
  MPI_Request request = MPI_REQUEST_NULL;
  if (n <= max_count) {
    const int code = MPI_Iallgather(local.data(), static_cast<int>(n), MPI_DOUBLE, gathered.data(),
                                    static_cast<int>(n), MPI_DOUBLE, comm_, &request);
    if (code != MPI_SUCCESS) {
      batch->add_failure(place + error_string(code));
    } else {
      batch->add(request, {.kind = RequestInfo::Kind::kCollective, .call = "MPI_Iallgather"});
    }
    return batch;
  }
  // Chunk [offset, offset + len) of every rank's row: rank r's block lands at
  // gathered[r * n + offset], so the receive type is `len` doubles with an extent of a row.
  for (int64_t offset = 0; offset < n; offset += max_count) {
    const int64_t len = std::min(max_count, n - offset);
    MPI_Datatype block = MPI_DATATYPE_NULL;
    MPI_Datatype row_strided = MPI_DATATYPE_NULL;
    int code = MPI_Type_contiguous(static_cast<int>(len), MPI_DOUBLE, &block);
    if (code == MPI_SUCCESS) {
      code = MPI_Type_create_resized(block, 0, static_cast<MPI_Aint>(n * sizeof(double)),
                                     &row_strided);
    }
    if (code == MPI_SUCCESS) {
      code = MPI_Type_commit(&row_strided);
    }
    if (code == MPI_SUCCESS) {
      code = MPI_Iallgather(local.data() + offset, static_cast<int>(len), MPI_DOUBLE,
                            gathered.data() + offset, 1, row_strided, comm_, &request);
    }
    // Freeing a type in use is allowed: MPI keeps it until the operation completes.
    if (row_strided != MPI_DATATYPE_NULL) {
      MPI_Type_free(&row_strided);
    }
    if (block != MPI_DATATYPE_NULL) {
      MPI_Type_free(&block);
    }
    if (code != MPI_SUCCESS) {
      batch->add_failure(place + error_string(code));
      break;
    }
    batch->add(request, {.kind = RequestInfo::Kind::kCollective, .call = "MPI_Iallgather"});
  }
  return batch;
}

std::unique_ptr<CommHandle> MpiCommunicator::broadcast(std::span<std::byte> data, int root) {
  if (root < 0 || root >= num_ranks_) {
    throw Error("broadcast: root " + std::to_string(root) + " out of range [0, " +
                std::to_string(num_ranks_) + ")");
  }
  auto batch =
      std::make_unique<RequestBatch>(rank_, /*collective=*/true, options_.send_drain_timeout);
  const auto size = static_cast<int64_t>(data.size());
  // One Ibcast even for 0 bytes, so that every rank posts the same sequence of collectives.
  for (int64_t offset = 0; offset == 0 || offset < size; offset += options_.max_message_bytes) {
    const int64_t len = std::min(options_.max_message_bytes, size - offset);
    MPI_Request request = MPI_REQUEST_NULL;
    const int code =
        MPI_Ibcast(data.data() + offset, static_cast<int>(len), MPI_BYTE, root, comm_, &request);
    if (code != MPI_SUCCESS) {
      batch->add_failure("rank " + std::to_string(rank_) + ": MPI_Ibcast from root " +
                         std::to_string(root) + ": " + error_string(code));
      break;
    }
    batch->add(request, {.kind = RequestInfo::Kind::kCollective, .call = "MPI_Ibcast"});
    if (size == 0) {
      break;
    }
  }
  return batch;
}

std::unique_ptr<CommHandle> MpiCommunicator::exchange(std::span<const SendOp> sends,
                                                      std::span<const RecvOp> recvs) {
  for (size_t i = 0; i < sends.size(); ++i) {
    if (sends[i].peer < 0 || sends[i].peer >= num_ranks_) {
      throw Error("exchange: sends[" + std::to_string(i) + "].peer " +
                  std::to_string(sends[i].peer) + " out of range [0, " +
                  std::to_string(num_ranks_) + ")");
    }
  }
  for (size_t i = 0; i < recvs.size(); ++i) {
    if (recvs[i].peer < 0 || recvs[i].peer >= num_ranks_) {
      throw Error("exchange: recvs[" + std::to_string(i) + "].peer " +
                  std::to_string(recvs[i].peer) + " out of range [0, " +
                  std::to_string(num_ranks_) + ")");
    }
  }
  auto batch =
      std::make_unique<RequestBatch>(rank_, /*collective=*/false, options_.send_drain_timeout);
  // Receives first: messages then rarely wait in MPI's unexpected queue.
  for (const RecvOp& recv : recvs) {
    post_recv(*batch, recv);
  }
  for (const SendOp& send : sends) {
    if (fault_injector_ && !fault_injector_(rank_, send)) {
      batch->add_failure(send_place(rank_, send) + ": injected fault");
      continue;
    }
    post_send(*batch, send);
  }
  return batch;
}

void MpiCommunicator::set_fault_injector(FaultInjector injector) {
  fault_injector_ = std::move(injector);
}

void MpiCommunicator::post_send(RequestBatch& batch, const SendOp& send) const {
  const int tag = mpi_tag(send.tag);
  const auto size = static_cast<int64_t>(send.data.size());
  MessageHeader* header = batch.new_header();
  header->tag = send.tag;
  header->bytes = size;
  const RequestInfo info{
      .kind = RequestInfo::Kind::kSend, .call = "MPI_Isend", .peer = send.peer, .tag = send.tag};
  MPI_Request request = MPI_REQUEST_NULL;
  int code = MPI_Isend(header, sizeof(MessageHeader), MPI_BYTE, send.peer, tag, comm_, &request);
  for (int64_t offset = 0; code == MPI_SUCCESS; offset += options_.max_message_bytes) {
    batch.add(request, info);
    if (offset >= size) {
      return;
    }
    const int64_t len = std::min(options_.max_message_bytes, size - offset);
    code = MPI_Isend(send.data.data() + offset, static_cast<int>(len), MPI_BYTE, send.peer, tag,
                     comm_, &request);
  }
  batch.add_failure(send_place(rank_, send) + ": MPI_Isend: " + error_string(code));
}

void MpiCommunicator::post_recv(RequestBatch& batch, const RecvOp& recv) const {
  const int tag = mpi_tag(recv.tag);
  const auto size = static_cast<int64_t>(recv.data.size());
  MessageHeader* header = batch.new_header();
  MPI_Request request = MPI_REQUEST_NULL;
  int code = MPI_Irecv(header, sizeof(MessageHeader), MPI_BYTE, recv.peer, tag, comm_, &request);
  if (code == MPI_SUCCESS) {
    batch.add(request, {.kind = RequestInfo::Kind::kRecvHeader,
                        .call = "MPI_Irecv",
                        .peer = recv.peer,
                        .tag = recv.tag,
                        .message_bytes = size,
                        .header = header});
  }
  for (int64_t offset = 0; code == MPI_SUCCESS && offset < size;
       offset += options_.max_message_bytes) {
    const int64_t len = std::min(options_.max_message_bytes, size - offset);
    code = MPI_Irecv(recv.data.data() + offset, static_cast<int>(len), MPI_BYTE, recv.peer, tag,
                     comm_, &request);
    if (code == MPI_SUCCESS) {
      batch.add(request, {.kind = RequestInfo::Kind::kRecv,
                          .call = "MPI_Irecv",
                          .peer = recv.peer,
                          .tag = recv.tag,
                          .bytes = len});
    }
  }
  if (code != MPI_SUCCESS) {
    batch.add_failure(recv_place(rank_, recv) + ": MPI_Irecv: " + error_string(code));
  }
}

}  // namespace eplb::mpi
