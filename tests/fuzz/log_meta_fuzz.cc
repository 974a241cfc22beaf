// Fuzzes the decoder of a shard log's log.meta (format::DecodeMeta) on arbitrary bytes:
// anything it accepts re-encodes to the same 40 bytes, except that the undefined flag bits
// and the reserved tail are not carried (see the check below).
//
// Input: byte 0 bit 0 recomputes the CRC; the rest is the file.
#include <cstdint>
#include <string>

#include "kernel/format.h"
#include "tests/fuzz/support/check.h"
#include "tests/fuzz/support/file_bundle.h"

namespace f = shoal::format;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string file(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) shoal::fuzz::FixChecksums(shoal::fuzz::BundleFile::kMeta, &file);
  auto m = f::DecodeMeta(file, "log.meta");
  if (!m.ok()) {
    FUZZ_CHECK(m.status().code() == shoal::Code::kCorruption, "unexpected error {}", m.status().ToString());
    return 0;
  }
  FUZZ_CHECK(file.size() == f::kMetaSize, "accepted a log.meta of {} bytes", file.size());
  const std::string again = f::EncodeMeta(*m);
  auto m2 = f::DecodeMeta(again, "log.meta");
  FUZZ_CHECK(m2.ok(), "cannot decode an encoded log.meta: {}", m2.status().ToString());
  FUZZ_CHECK(m2->sealed == m->sealed && m2->start_offset == m->start_offset &&
                 m2->sealed_next_offset == m->sealed_next_offset,
             "log.meta changed in a round trip");
  // Only the sealed bit of the flags and nothing of [36, 40) is meaningful.
  FUZZ_CHECK(again.substr(16, 16) == file.substr(16, 16), "offsets changed in a round trip");
  return 0;
}
