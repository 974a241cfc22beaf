// Hash keys: the 128-bit key space that routes records to shards.
//
// Every record of a stream gets a hash key in [0, 2^128 - 1]: either the caller's
// ExplicitHashKey (a decimal string) or MD5(partition key) read as a big-endian unsigned
// integer (spec kinesis-data-streams.md §2.3). Each OPEN shard owns one inclusive range
// of keys and the open shards' ranges tile the whole space; CreateStream and
// UpdateShardCount divide it with the arithmetic of EvenSplit() (§2.4, and
// resharding-and-limits.md §4).
//
// Everything here is a pure function of its arguments and safe to call from any thread.
#pragma once

#include <fmt/format.h>

#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/status.h"

namespace shoal {

// GCC and Clang have a native 128-bit integer; `__extension__` keeps -Wpedantic quiet
// about it (ISO C++ has no 128-bit type).
__extension__ typedef unsigned __int128 Uint128;

// A point in the hash key space. Ordered as the unsigned integer it is.
struct HashKey {
  Uint128 value = 0;

  static constexpr HashKey FromParts(uint64_t hi, uint64_t lo) {
    return HashKey{(static_cast<Uint128>(hi) << 64) | lo};
  }
  static constexpr HashKey Min() { return HashKey{0}; }
  // 2^128 - 1 = 340282366920938463463374607431768211455.
  static constexpr HashKey Max() { return HashKey{~static_cast<Uint128>(0)}; }

  constexpr uint64_t hi() const { return static_cast<uint64_t>(value >> 64); }
  constexpr uint64_t lo() const { return static_cast<uint64_t>(value); }

  friend constexpr bool operator==(HashKey a, HashKey b) { return a.value == b.value; }
  friend constexpr std::strong_ordering operator<=>(HashKey a, HashKey b) {
    return a.value < b.value   ? std::strong_ordering::less
           : a.value > b.value ? std::strong_ordering::greater
                               : std::strong_ordering::equal;
  }
};

// The longest decimal form of a hash key: 2^128 - 1 has 39 digits.
inline constexpr size_t kMaxHashKeyDigits = 39;

// True if `text` has the shape the Kinesis model requires of a hash key,
// `0|([1-9]\d{0,38})`: ASCII digits only, no sign, no spaces, no leading zero, at most
// 39 digits. Says nothing about the value: "999...9" (39 nines) matches but exceeds
// 2^128 - 1. The API layer uses this to tell a model violation (ValidationException)
// from an out-of-range value (InvalidArgumentException).
bool MatchesHashKeyPattern(std::string_view text);

// Parses a decimal hash key in [0, 2^128 - 1]. Accepts exactly the strings for which
// MatchesHashKeyPattern() holds and whose value fits in 128 bits; everything else
// (empty, signs, spaces, exponents, leading zeros, 40+ digits, 2^128 and above) is
// kInvalidArgument with a message saying what was wrong.
Result<HashKey> ParseHashKey(std::string_view decimal);

// The canonical decimal form: no sign, no leading zeros ("0" for zero).
std::string FormatHashKey(HashKey key);

// MD5 of the partition key's bytes (the caller passes UTF-8, as it arrived on the
// wire), read as a big-endian unsigned 128-bit integer: MD5 hex "0cc175b9..." is the
// number 0x0cc175b9.... Aborts with a message if OpenSSL cannot provide MD5 (e.g. a
// FIPS-only configuration): the engine cannot route records without it, and every
// partition key would fail the same way, so there is nothing useful to return.
HashKey HashPartitionKey(std::string_view partition_key);

// out[i] = HashPartitionKey(keys[i]) for every i (the spans have the same size). The
// batch form a put uses: keys of up to 55 bytes are hashed 16 (AVX-512) or 8 (AVX2) at a
// time in vector lanes (several times the throughput of one by one), the rest one by one.
void HashPartitionKeys(std::span<const std::string_view> keys, std::span<HashKey> out);

// An inclusive range [start, end] of hash keys; a shard's HashKeyRange.
struct HashKeyRange {
  HashKey start;
  HashKey end;

  constexpr bool Contains(HashKey key) const { return start <= key && key <= end; }
  // False for an inverted range (start > end), which owns no key at all.
  constexpr bool Valid() const { return start <= end; }
  friend constexpr bool operator==(const HashKeyRange&, const HashKeyRange&) = default;

  static constexpr HashKeyRange Everything() { return {HashKey::Min(), HashKey::Max()}; }
};

// EvenSplit allocates one range per shard; this cap turns a wild argument into an error
// instead of gigabytes of ranges. It is far above every quota the engine enforces (AWS
// caps UpdateShardCount at 10000 shards per stream, kinesalite's CreateStream at 100000).
inline constexpr int64_t kMaxEvenSplitShards = int64_t{1} << 20;

// The width of every range but the last when [0, 2^128 - 1] is divided into
// `shard_count` shards: floor(2^128 / shard_count). 2^128 itself does not fit in 128
// bits, so it is computed as floor((2^128 - 1) / n), plus one when n divides 2^128
// (n a power of two). For shard_count == 1 the "step" 2^128 does not fit either; the
// result is then HashKey::Max() and only EvenSplit's last-shard rule makes sense of it.
// Requires shard_count >= 1.
Uint128 EvenSplitStep(int64_t shard_count);

// The ranges CreateStream gives a fresh stream of `shard_count` shards, and the target
// ranges of UpdateShardCount with UNIFORM_SCALING (kinesalite's arithmetic, which
// matches what AWS returns; spec §2.4):
//   step = floor(2^128 / N)
//   shard i < N-1 : [i * step, (i+1) * step - 1]
//   shard N-1     : [(N-1) * step, 2^128 - 1]      (the last shard absorbs the remainder)
// kInvalidArgument if shard_count < 1 or > kMaxEvenSplitShards.
Result<std::vector<HashKeyRange>> EvenSplit(int64_t shard_count);

// The ranges of EvenSplit(shard_count) that would be built by hand, one at a time:
// shard `index` of `shard_count`. Requires 1 <= shard_count and 0 <= index < shard_count.
HashKeyRange EvenSplitRange(int64_t shard_count, int64_t index);

// UpdateShardCount's split phase (resharding-and-limits.md §4): the boundaries
// b_j = j * floor(2^128 / target_count), j = 1 .. target_count - 1, that satisfy
// range.start < b_j <= range.end, ascending. An open shard [s, e] is split at each of
// them in turn (the right-hand piece starting at b_j); afterwards every piece lies in
// exactly one target range. O(number of returned boundaries), so it stays cheap for
// 10000-shard streams. Requires target_count >= 1 and range.Valid().
std::vector<HashKey> TargetBoundariesWithin(HashKeyRange range, int64_t target_count);

// OK if `ranges`, in the given order, tile [0, 2^128 - 1] exactly: the first starts at
// 0, each next one starts right after the previous end, the last ends at 2^128 - 1, and
// none is inverted. That is the invariant of a stream's OPEN shards (spec §2.2) sorted
// by start; kInternal otherwise, naming the first offending range.
Status CheckTiling(std::span<const HashKeyRange> ranges);

}  // namespace shoal

template <>
struct fmt::formatter<shoal::HashKey> : fmt::formatter<std::string_view> {
  auto format(shoal::HashKey key, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(shoal::FormatHashKey(key), ctx);
  }
};

template <>
struct fmt::formatter<shoal::HashKeyRange> : fmt::formatter<std::string_view> {
  auto format(const shoal::HashKeyRange& r, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(
        fmt::format("[{}, {}]", shoal::FormatHashKey(r.start), shoal::FormatHashKey(r.end)), ctx);
  }
};
