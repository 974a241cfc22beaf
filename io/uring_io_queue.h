// UringIoQueue: the IoQueue of the real file system, on one io_uring ring.
#pragma once

#include <memory>

#include "io/file_system.h"

namespace shoal::io {

// `depth` bounds the operations in flight at once (and the ring size). Writes larger
// than 1 MiB are split into 1 MiB pieces submitted together, so an O_DIRECT flush
// keeps the device queue as full as the ceiling probe does.
Result<std::unique_ptr<IoQueue>> NewUringIoQueue(unsigned depth);

}  // namespace shoal::io
