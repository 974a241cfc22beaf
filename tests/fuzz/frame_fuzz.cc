// Fuzzes the frame (batch) checks every segment reader relies on, kernel/format.h's
// CheckFrame and CheckRecords, on arbitrary bytes, then walks the records of every frame
// they accept the way the scanner and the read path do (NextRecord trusts the lengths).
//
// Input: byte 0 selects options (bit 0: recompute the frame's CRC so the record checks are
// reached; bit 1: also present the bytes with one byte less readable); the rest is what
// lies at the frame's position, its size the readable bytes.
#include <cstdint>
#include <cstring>
#include <vector>

#include "io/crc32c.h"
#include "kernel/format.h"
#include "tests/fuzz/support/check.h"

namespace {

namespace f = shoal::format;

// Walks an accepted frame: every record must lie inside it, and there are `count` of them.
void WalkRecords(const uint8_t* frame, size_t avail, const f::FrameInfo& fi) {
  FUZZ_CHECK(fi.len <= avail, "accepted frame of {} bytes with {} readable", fi.len, avail);
  FUZZ_CHECK(fi.count >= 1, "accepted frame with no records");
  f::RecordCursor cur = f::Records(frame, fi);
  f::RawRecord r;
  uint32_t n = 0;
  const char* lo = reinterpret_cast<const char*>(frame + f::kFrameHeaderSize);
  const char* hi = reinterpret_cast<const char*>(frame + fi.len);
  while (f::NextRecord(cur, &r)) {
    FUZZ_CHECK(r.offset == fi.base_offset + n, "record {} has offset {}", n, r.offset);
    FUZZ_CHECK(r.key.data() >= lo && r.key.data() + r.key.size() <= hi, "key of record {} outside its frame", n);
    FUZZ_CHECK(r.data.data() >= lo && r.data.data() + r.data.size() <= hi, "data of record {} outside its frame", n);
    ++n;
  }
  FUZZ_CHECK(n == fi.count, "walked {} records of a frame that holds {}", n, fi.count);
  FUZZ_CHECK(cur.p <= frame + fi.len, "cursor ran past the frame");
}

void CheckOne(const uint8_t* p, size_t n) {
  f::FrameInfo quick, full;
  const f::FrameCheck q = f::CheckFrame(p, n, false, &quick);
  const f::FrameCheck c = f::CheckFrame(p, n, true, &full);
  if (c == f::FrameCheck::kOk) {
    FUZZ_CHECK(q == f::FrameCheck::kOk, "CRC check accepted what the header check refused ({})",
               f::FrameCheckName(q));
    FUZZ_CHECK(quick.len == full.len && quick.count == full.count && quick.base_offset == full.base_offset &&
                   quick.base_ts == full.base_ts,
               "the two checks decoded different headers");
    FUZZ_CHECK(f::CheckRecords(p, full) == f::FrameCheck::kOk, "CheckRecords refused a verified frame");
    FUZZ_CHECK(full.len % f::kFrameAlign == 0, "accepted unaligned frame length {}", full.len);
    WalkRecords(p, n, full);
  }
  // The read path with CRC verification off: the header check, then CheckRecords.
  if (q == f::FrameCheck::kOk && f::CheckRecords(p, quick) == f::FrameCheck::kOk) WalkRecords(p, n, quick);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t opts = data[0];
  // An exactly sized heap copy: ASan flags any read past the readable bytes.
  std::vector<uint8_t> buf(data + 1, data + size);
  const size_t n = buf.size();
  if ((opts & 1) && n >= f::kFrameHeaderSize) {
    uint32_t len = f::Load32(buf.data() + f::kFrameLen);
    if (len >= 8 && len <= n) f::Store32(buf.data() + f::kFrameCrc, shoal::io::Crc32c(buf.data() + 8, len - 8));
  }
  CheckOne(buf.data(), n);
  if ((opts & 2) && n > 0) {
    std::vector<uint8_t> shorter(buf.begin(), buf.end() - 1);
    CheckOne(shorter.data(), shorter.size());
  }
  return 0;
}
