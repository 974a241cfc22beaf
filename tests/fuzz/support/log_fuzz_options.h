// The shard log options of the recovery fuzz target, from the first byte of its input.
// Shared with the seed generator, so seeds are logs written with the options they are
// replayed with.
#pragma once

#include <cstdint>

#include "kernel/log_options.h"

namespace shoal::fuzz {

// Small segments (the 64 KiB minimum), so a seed of a few hundred KiB holds several.
// bit 0: durability kAlways (else kNone: recovery may drop a torn tail's successors)
// bit 1: O_DIRECT writes (tmpfs falls back to buffered)
// bit 2: an index entry every 256 bytes (else every 4 KiB)
inline LogOptions LogFuzzOptions(uint8_t bits) {
  LogOptions o;
  o.durability = (bits & 1) ? Durability::kAlways : Durability::kNone;
  o.write_mode = (bits & 2) ? WriteMode::kDirect : WriteMode::kBuffered;
  o.index_interval_bytes = (bits & 4) ? 256 : 4096;
  o.segment_bytes = 64 << 10;
  o.staging_bytes = 64 << 10;
  o.max_record_bytes = 16 << 10;
  o.segment_max_age_ms = 0;
  return o;
}

}  // namespace shoal::fuzz
