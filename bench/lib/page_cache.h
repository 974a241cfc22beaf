// Page-cache control for cold-read and recovery measurements: write back and drop a file
// tree's cached pages, and count how much of it is still resident.
//
// Dropping is per file, without root: fdatasync (dirty pages cannot be dropped), then
// posix_fadvise(POSIX_FADV_DONTNEED) over the whole file. The kernel keeps pages that a
// process still has mapped, so callers unmap first (close the log) and check the result
// with ResidentBytes() (mincore) instead of trusting the drop.
#pragma once

#include <cstdint>
#include <string>

#include "io/status.h"

namespace shoal::bench {

// Every regular file under `path` (or `path` itself): fdatasync, then FADV_DONTNEED.
Status DropPageCache(const std::string& path);

// Bytes of the regular files under `path` that are in the page cache now (mincore).
uint64_t ResidentBytes(const std::string& path);

// Sum of the sizes of the regular files under `path`.
uint64_t TreeBytes(const std::string& path);

}  // namespace shoal::bench
