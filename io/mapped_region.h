// MappedRegion: owns one read-only shared mapping of a file; munmap on destruction.
//
// A mapping stays valid after its file is unlinked (the inode lives until the last
// mapping goes), which is what lets retention trim a segment that a reader still holds.
// Callers must not touch bytes past the file's size (SIGBUS); Shoal maps segment files
// only over fallocate()d lengths, so the whole mapping is always backed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "io/status.h"

namespace shoal::io {

class MappedRegion {
 public:
  MappedRegion() = default;
  ~MappedRegion() { Reset(); }
  MappedRegion(MappedRegion&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  MappedRegion& operator=(MappedRegion&& o) noexcept {
    if (this != &o) {
      Reset();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;

  // Maps [0, len) of `fd` read-only, MAP_SHARED. len == 0 gives an empty region.
  static Result<MappedRegion> Map(int fd, size_t len, const char* what);

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  void Reset();

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace shoal::io
