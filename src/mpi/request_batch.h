// The CommHandle of the MPI backend: the MPI requests of one operation (one exchange batch, or
// the chunks of one collective), progressed together. See eplb/mpi_comm.h for the semantics of
// failures, timeouts and cancellation. Internal (includes <mpi.h>).
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "eplb/comm.h"

namespace eplb::mpi {

// Sent before every exchange message on the same MPI tag: lets the receiver check that the
// message it matched is the one it expects (a folded tag may collide) and has its size.
struct MessageHeader {
  int64_t tag = 0;
  int64_t bytes = 0;
};

// What one MPI request of a batch is: for error messages and for checking receives.
struct RequestInfo {
  enum class Kind { kSend, kRecv, kRecvHeader, kCollective };
  Kind kind = Kind::kCollective;
  const char* call = "";                  // the MPI call that started it, e.g. "MPI_Isend"
  int peer = -1;                          // exchange peer rank
  int64_t tag = 0;                        // exchange tag as the caller gave it
  int64_t bytes = 0;                      // kRecv: bytes this chunk must carry
  int64_t message_bytes = 0;              // kRecvHeader: size of the whole message expected
  const MessageHeader* header = nullptr;  // kRecvHeader: where it lands
};

class RequestBatch final : public CommHandle {
 public:
  // `rank`: this process's rank (for messages). `collective`: the requests belong to MPI
  // collectives, which cannot be cancelled.
  RequestBatch(int rank, bool collective, std::chrono::milliseconds send_drain_timeout);
  ~RequestBatch() override;
  RequestBatch(const RequestBatch&) = delete;
  RequestBatch& operator=(const RequestBatch&) = delete;

  // Takes over a started request.
  void add(MPI_Request request, const RequestInfo& info);
  // Records a failure found while posting (a failed MPI call, an injected fault).
  void add_failure(std::string message);
  // Storage for a header that stays put until the batch is destroyed.
  MessageHeader* new_header();

  CommState poll() override;
  CommState wait(std::chrono::milliseconds timeout) override;
  std::string error() const override;

 private:
  void progress();
  void finish_request(int index, const MPI_Status& status, int code);
  void cancel_pending();
  std::string where(const RequestInfo& info) const;

  int rank_;
  bool collective_;
  std::chrono::milliseconds send_drain_timeout_;
  std::vector<MPI_Request> requests_;  // MPI_REQUEST_NULL once finished
  std::vector<RequestInfo> infos_;     // parallel to requests_
  std::vector<int> indices_;           // MPI_Testsome scratch
  std::vector<MPI_Status> statuses_;   // MPI_Testsome scratch
  std::deque<MessageHeader> headers_;  // deque: stable addresses while growing
  int num_active_ = 0;
  int num_cancelled_ = 0;
  bool timed_out_ = false;
  std::vector<std::string> failures_;
  CommState state_ = CommState::kPending;
};

}  // namespace eplb::mpi
