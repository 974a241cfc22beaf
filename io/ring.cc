#include "io/ring.h"

#include <memory>

namespace shoal::io {

Ring::~Ring() {
  if (initialized_) io_uring_queue_exit(&ring_);
}

Result<std::unique_ptr<Ring>> Ring::Create(unsigned entries) {
  auto r = std::make_unique<Ring>();
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  int rc = io_uring_queue_init_params(entries, &r->ring_, &p);
  if (rc == -EINVAL) {
    p = io_uring_params{};
    rc = io_uring_queue_init_params(entries, &r->ring_, &p);
  } else if (rc == 0) {
    r->defer_taskrun_ = true;
  }
  if (rc < 0) {
    return Status::FromErrno(-rc, "io_uring_queue_init (is io_uring disabled? check "
                                  "/proc/sys/kernel/io_uring_disabled)");
  }
  r->initialized_ = true;
  r->entries_ = entries;
  return r;
}

io_uring_sqe* Ring::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

Status Ring::SubmitAndWait(unsigned wait_nr) {
  int rc;
  do {
    rc = io_uring_submit_and_wait(&ring_, wait_nr);
  } while (rc == -EINTR);
  if (rc < 0) return Status::FromErrno(-rc, "io_uring_submit_and_wait");
  return Status::Ok();
}

Result<io_uring_cqe*> Ring::WaitCqe() {
  io_uring_cqe* cqe = nullptr;
  int rc;
  do {
    rc = io_uring_submit_and_wait(&ring_, 1);
    if (rc >= 0 || rc == -EINTR) rc = io_uring_peek_cqe(&ring_, &cqe);
    if (rc == -EAGAIN) rc = io_uring_wait_cqe(&ring_, &cqe);
  } while (rc == -EINTR);
  if (rc < 0) return Status::FromErrno(-rc, "io_uring_wait_cqe");
  return cqe;
}

}  // namespace shoal::io
