// Ring: owns one io_uring instance (liburing). Not thread-safe: one thread submits and
// reaps, which is what lets us ask the kernel for IORING_SETUP_SINGLE_ISSUER and
// DEFER_TASKRUN (completions run when that thread waits, never as interrupts).
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>

#include "io/status.h"

namespace shoal::io {

class Ring {
 public:
  Ring() = default;
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Creates a ring with `entries` submission slots. Falls back to plain flags on kernels
  // that reject SINGLE_ISSUER/DEFER_TASKRUN (pre-6.1).
  static Result<std::unique_ptr<Ring>> Create(unsigned entries);

  // Returns a free SQE, submitting queued ones first if the queue is full.
  io_uring_sqe* GetSqe();
  // Submits queued SQEs and waits for at least `wait_nr` completions.
  Status SubmitAndWait(unsigned wait_nr);
  // Waits for one completion (submitting queued SQEs). The CQE must be Seen().
  Result<io_uring_cqe*> WaitCqe();
  void Seen(io_uring_cqe* cqe) { io_uring_cqe_seen(&ring_, cqe); }
  // Takes an already-arrived completion without waiting; false if none.
  bool PeekCqe(io_uring_cqe** cqe) { return io_uring_peek_cqe(&ring_, cqe) == 0; }
  unsigned entries() const { return entries_; }
  bool defer_taskrun() const { return defer_taskrun_; }

 private:
  io_uring ring_{};
  bool initialized_ = false;
  unsigned entries_ = 0;
  bool defer_taskrun_ = false;
};

}  // namespace shoal::io
