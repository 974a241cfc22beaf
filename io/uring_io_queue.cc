#include "io/uring_io_queue.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "io/ring.h"

namespace shoal::io {
namespace {

constexpr size_t kPieceBytes = 1 << 20;

class UringIoQueue final : public IoQueue {
 public:
  explicit UringIoQueue(std::unique_ptr<Ring> ring) : ring_(std::move(ring)) {}

  Status Write(std::span<WriteOp> ops) override {
    pending_.clear();
    for (size_t i = 0; i < ops.size(); ++i) {
      ops[i].status = Status::Ok();
      const auto* p = static_cast<const char*>(ops[i].data);
      for (size_t done = 0; done < ops[i].len; done += kPieceBytes) {
        pending_.push_back(Piece{i, ops[i].offset + done, p + done,
                                 std::min(kPieceBytes, ops[i].len - done)});
      }
    }
    Status first;
    size_t next = 0;
    unsigned inflight = 0;
    // Pieces re-queued after a short write go to the back of pending_.
    while (next < pending_.size() || inflight > 0) {
      while (next < pending_.size() && inflight < ring_->entries()) {
        Piece& pc = pending_[next];
        io_uring_sqe* sqe = ring_->GetSqe();
        if (!sqe) return Status(Code::kIOError, "io_uring submission queue is full and cannot be submitted");
        io_uring_prep_write(sqe, ops[pc.op].fd, pc.data, static_cast<unsigned>(pc.len), pc.offset);
        io_uring_sqe_set_data64(sqe, next);
        ++next;
        ++inflight;
      }
      ++stats_.submits;
      io_uring_cqe* cqe = WaitOrDie();
      do {
        size_t idx = io_uring_cqe_get_data64(cqe);
        int res = cqe->res;
        ring_->Seen(cqe);
        --inflight;
        Piece pc = pending_[idx];
        WriteOp& op = ops[pc.op];
        if (res < 0) {
          if (op.status.ok())
            op.status = Status::FromErrno(-res, fmt::format("write of {} bytes at offset {}", pc.len, pc.offset));
          if (first.ok()) first = op.status;
        } else if (static_cast<size_t>(res) < pc.len) {
          if (res == 0) {
            if (op.status.ok()) op.status = Status(Code::kIOError, "write made no progress");
            if (first.ok()) first = op.status;
          } else {
            ++stats_.short_writes;
            stats_.bytes += static_cast<uint64_t>(res);
            pending_.push_back(Piece{pc.op, pc.offset + static_cast<uint64_t>(res), pc.data + res,
                                     pc.len - static_cast<size_t>(res)});
          }
        } else {
          ++stats_.writes;
          stats_.bytes += pc.len;
        }
      } while (inflight > 0 && Peek(&cqe));
    }
    return first;
  }

  Status Sync(std::span<SyncOp> ops) override {
    Status first;
    size_t next = 0;
    unsigned inflight = 0;
    while (next < ops.size() || inflight > 0) {
      while (next < ops.size() && inflight < ring_->entries()) {
        io_uring_sqe* sqe = ring_->GetSqe();
        if (!sqe) return Status(Code::kIOError, "io_uring submission queue is full and cannot be submitted");
        io_uring_prep_fsync(sqe, ops[next].fd, IORING_FSYNC_DATASYNC);
        io_uring_sqe_set_data64(sqe, next);
        ops[next].status = Status::Ok();
        ++next;
        ++inflight;
      }
      ++stats_.submits;
      io_uring_cqe* cqe = WaitOrDie();
      do {
        size_t idx = io_uring_cqe_get_data64(cqe);
        int res = cqe->res;
        ring_->Seen(cqe);
        --inflight;
        if (res < 0) {
          ops[idx].status = Status::FromErrno(-res, "fdatasync");
          if (first.ok()) first = ops[idx].status;
        } else {
          ++stats_.syncs;
        }
      } while (inflight > 0 && Peek(&cqe));
    }
    return first;
  }

  const IoQueueStats& stats() const override { return stats_; }

 private:
  struct Piece {
    size_t op;
    uint64_t offset;
    const char* data;
    size_t len;
  };

  bool Peek(io_uring_cqe** cqe) { return ring_->PeekCqe(cqe); }

  // Waiting for a completion can only fail if the ring itself is broken. Returning then
  // would leave the kernel holding pointers into the caller's buffers, so it is fatal.
  io_uring_cqe* WaitOrDie() {
    auto r = ring_->WaitCqe();
    if (!r.ok()) {
      fmt::print(stderr, "shoal: io_uring wait failed with operations in flight: {}\n", r.status());
      std::abort();
    }
    return *r;
  }

  std::unique_ptr<Ring> ring_;
  std::vector<Piece> pending_;  // reused across calls: no allocation once warm
  IoQueueStats stats_;
};

}  // namespace

Result<std::unique_ptr<IoQueue>> NewUringIoQueue(unsigned depth) {
  SHOAL_ASSIGN_OR_RETURN(std::unique_ptr<Ring> ring, Ring::Create(std::max(depth, 4u)));
  return std::unique_ptr<IoQueue>(std::make_unique<UringIoQueue>(std::move(ring)));
}

}  // namespace shoal::io
