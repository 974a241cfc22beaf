// Fuzzes the hash-key parser (kernel/hash_key.h): ExplicitHashKey, NewStartingHashKey and
// the catalog's ranges are decimal strings from outside.
//
// Properties: ParseHashKey accepts exactly the strings that match the model's pattern and
// fit in 128 bits, and only canonical ones (Format(Parse(x)) == x); the bytes read as a
// 128-bit number format and parse back to themselves; the even-split helpers keep their
// promises for a shard count taken from the input.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "kernel/hash_key.h"
#include "tests/fuzz/support/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shoal;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = ParseHashKey(text);
  const bool pattern = MatchesHashKeyPattern(text);
  if (r.ok()) {
    FUZZ_CHECK(pattern, "'{}' parsed but does not match the pattern", text);
    FUZZ_CHECK(FormatHashKey(*r) == text, "'{}' parsed to {}", text, FormatHashKey(*r));
  } else {
    FUZZ_CHECK(r.status().code() == Code::kInvalidArgument, "unexpected error {}", r.status().ToString());
    // Only a pattern match that is too large may fail: 39 digits above 2^128 - 1.
    if (pattern)
      FUZZ_CHECK(text.size() == kMaxHashKeyDigits && text > FormatHashKey(HashKey::Max()),
                 "'{}' matches the pattern and fits, but failed: {}", text, r.status().ToString());
  }

  if (size >= 16) {
    uint64_t hi, lo;
    std::memcpy(&hi, data, 8);
    std::memcpy(&lo, data + 8, 8);
    const HashKey k = HashKey::FromParts(hi, lo);
    const std::string s = FormatHashKey(k);
    auto back = ParseHashKey(s);
    FUZZ_CHECK(back.ok() && *back == k, "{} did not parse back", s);

    // A range split: boundaries inside [min(k, k2), max(k, k2)] for a small target count.
    if (size >= 34) {
      uint64_t hi2, lo2;
      std::memcpy(&hi2, data + 16, 8);
      std::memcpy(&lo2, data + 24, 8);
      const HashKey k2 = HashKey::FromParts(hi2, lo2);
      const int64_t count = 1 + (data[32] | data[33] << 8) % 10000;
      HashKeyRange range{std::min(k, k2), std::max(k, k2)};
      HashKey prev = range.start;
      for (HashKey b : TargetBoundariesWithin(range, count)) {
        FUZZ_CHECK(range.start < b && b <= range.end, "boundary {} outside {}", b, range);
        FUZZ_CHECK(prev == range.start || prev < b, "boundaries not ascending at {}", b);
        prev = b;
      }
      const int64_t index = static_cast<int64_t>(lo % static_cast<uint64_t>(count));
      HashKeyRange piece = EvenSplitRange(count, index);
      FUZZ_CHECK(piece.Valid(), "EvenSplitRange({}, {}) = {} is inverted", count, index, piece);
      if (index + 1 == count) FUZZ_CHECK(piece.end == HashKey::Max(), "last range {} does not end at the top", piece);
      if (index == 0) FUZZ_CHECK(piece.start == HashKey::Min(), "first range {} does not start at 0", piece);
    }
  }
  return 0;
}
