#include "io/mapped_region.h"

#include <sys/mman.h>

#include <cerrno>

namespace shoal::io {

Result<MappedRegion> MappedRegion::Map(int fd, size_t len, const char* what) {
  MappedRegion r;
  if (len == 0) return r;
  void* p = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return Status::FromErrno(errno, fmt::format("mmap {} ({} bytes)", what, len));
  r.data_ = static_cast<const uint8_t*>(p);
  r.size_ = len;
  return r;
}

void MappedRegion::Reset() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace shoal::io
