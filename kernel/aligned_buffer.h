// AlignedBuffer: a growable byte buffer aligned to 4 KiB (O_DIRECT needs it). It only
// grows, and is reused flush after flush, so the append path allocates nothing once warm
// (fresh memory costs well under 1 GB/s to touch on this VM kind; reuse is the point).
#pragma once

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "io/file_system.h"

namespace shoal {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(AlignedBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), cap_(std::exchange(o.cap_, 0)),
        size_(std::exchange(o.size_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(cap_, o.cap_);
    std::swap(size_, o.size_);
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return cap_; }
  bool empty() const { return size_ == 0; }
  void clear() { size_ = 0; }

  // Makes room for `more` bytes past size(); returns a pointer to them and grows size.
  uint8_t* Append(size_t more) {
    Reserve(size_ + more);
    uint8_t* p = data_ + size_;
    size_ += more;
    return p;
  }
  void Reserve(size_t want) {
    if (want <= cap_) return;
    size_t cap = cap_ ? cap_ : io::kDirectAlign;
    while (cap < want) cap *= 2;
    void* p = nullptr;
    if (::posix_memalign(&p, io::kDirectAlign, cap) != 0) throw std::bad_alloc();
    if (size_) std::memcpy(p, data_, size_);
    std::free(data_);
    data_ = static_cast<uint8_t*>(p);
    cap_ = cap;
  }

 private:
  uint8_t* data_ = nullptr;
  size_t cap_ = 0;
  size_t size_ = 0;
};

}  // namespace shoal
