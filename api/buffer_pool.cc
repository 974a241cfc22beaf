#include "api/buffer_pool.h"

#include <utility>

namespace shoal::api {

std::string BufferPool::Take(size_t min_capacity) {
  std::lock_guard lk(mu_);
  size_t best = free_.size();
  for (size_t i = 0; i < free_.size(); ++i) {
    const size_t cap = free_[i].capacity();
    if (cap >= min_capacity && (best == free_.size() || cap < free_[best].capacity())) best = i;
  }
  if (best == free_.size()) return {};
  std::string out = std::move(free_[best]);
  free_[best] = std::move(free_.back());
  free_.pop_back();
  bytes_ -= out.capacity();
  return out;
}

void BufferPool::Give(std::string* buf) {
  std::string b = std::move(*buf);
  *buf = std::string();
  const size_t cap = b.capacity();
  std::lock_guard lk(mu_);
  if (bytes_ + cap > max_bytes_) return;  // b is freed outside the pool's budget
  bytes_ += cap;
  free_.push_back(std::move(b));
}

size_t BufferPool::pooled_bytes() const {
  std::lock_guard lk(mu_);
  return bytes_;
}

}  // namespace shoal::api
