// BufferPool: big byte buffers kept between the requests that need them.
//
// A PutRecords body is ~700 KB and a GetRecords answer up to ~14 MB (10 MB of data in
// base64). Allocating those per request made the allocator map fresh pages that the kernel
// zeroes and faults in on first touch, every call (perf of shoald under shoal-loadgen: page
// faults, kernel memset and memcg charging were ~15% of the samples). Connections take a
// buffer when a request needs a big one and give it back when they go idle, so steady
// traffic reuses warm memory while idle connections hold none.
//
// Bounded: the pool keeps at most `max_bytes` of capacity; a buffer given beyond that is
// freed. Thread-safe (one mutex; a few operations per request).
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

namespace shoal::api {

class BufferPool {
 public:
  explicit BufferPool(size_t max_bytes) : max_bytes_(max_bytes) {}
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // The smallest pooled buffer of at least `min_capacity` bytes, with the size and stale
  // contents it was given back with (a caller that keeps its buffer's size at the high
  // mark never zero-fills it again); an empty string when none is that big.
  std::string Take(size_t min_capacity);
  // Keeps *buf's storage for a later Take (or frees it when the pool is full); *buf is
  // left empty with no storage either way.
  void Give(std::string* buf);

  size_t pooled_bytes() const;

 private:
  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::vector<std::string> free_;  // few entries (one per recently busy connection)
  size_t bytes_ = 0;               // sum of free_[i].capacity()
};

}  // namespace shoal::api
