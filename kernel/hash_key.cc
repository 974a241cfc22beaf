// OpenSSL 3 marks the one-shot MD5() deprecated in favour of EVP; routing hashes one short
// key per record, where EVP's provider dispatch and context handling cost more than the
// hash itself (measured here: EVP_Digest 714 ns, a reused EVP context 496 ns, MD5() 317 ns
// for a 16-byte key). MD5() is still part of OpenSSL 3's API at this compatibility level.
#define OPENSSL_API_COMPAT 0x10100000L
#include "kernel/hash_key.h"

#include <openssl/md5.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include "kernel/md5_lanes.h"
#include "kernel/text.h"

namespace shoal {
namespace {

// Broken preconditions are bugs in the caller; crash with the offending values rather
// than route records to the wrong shard.
template <typename... Args>
[[noreturn]] void Die(fmt::format_string<Args...> f, Args&&... args) {
  fmt::print(stderr, "shoal: hash_key: {}\n", fmt::format(f, std::forward<Args>(args)...));
  std::abort();
}

// Echoes caller input in error messages (64 bytes covers every well-formed hash key).
std::string Quote(std::string_view text) { return QuoteInput(text, 64); }

// Names one byte of bad input: "'x'" if printable, "a space", or "0x0a".
std::string DescribeByte(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u == ' ') return "a space";
  if (u > 0x20 && u < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("0x{:02x}", u);
}

constexpr std::string_view kRange = "[0, 2^128-1] = [0, 340282366920938463463374607431768211455]";

}  // namespace

bool MatchesHashKeyPattern(std::string_view text) {
  if (text.empty() || text.size() > kMaxHashKeyDigits) return false;
  if (text.size() > 1 && text[0] == '0') return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<HashKey> ParseHashKey(std::string_view decimal) {
  if (decimal.empty()) {
    return Status::Make(Code::kInvalidArgument,
                        "hash key is empty; expected a decimal integer in {}", kRange);
  }
  for (size_t i = 0; i < decimal.size(); ++i) {
    char c = decimal[i];
    if (c < '0' || c > '9') {
      return Status::Make(Code::kInvalidArgument,
                          "hash key {} is not a decimal integer: byte {} is {}; write digits "
                          "only (no sign, spaces, separators or exponent), in {}",
                          Quote(decimal), i, DescribeByte(c), kRange);
    }
  }
  if (decimal.size() > 1 && decimal[0] == '0') {
    return Status::Make(Code::kInvalidArgument,
                        "hash key {} has a leading zero; Kinesis requires the canonical form "
                        "(pattern 0|([1-9]\\d{{0,38}})), so drop the leading zeros",
                        Quote(decimal));
  }
  if (decimal.size() > kMaxHashKeyDigits) {
    return Status::Make(Code::kInvalidArgument,
                        "hash key {} has {} digits, more than the {} of 2^128-1; hash keys "
                        "must be in {}",
                        Quote(decimal), decimal.size(), kMaxHashKeyDigits, kRange);
  }
  // At most 39 digits: accumulate with an overflow check on each step, since a 39-digit
  // number can still exceed 2^128 - 1 (e.g. 2^128 itself).
  constexpr Uint128 kMax = ~static_cast<Uint128>(0);
  Uint128 v = 0;
  for (char c : decimal) {
    unsigned digit = static_cast<unsigned>(c - '0');
    if (v > (kMax - digit) / 10) {
      return Status::Make(Code::kInvalidArgument, "hash key {} is out of range: must be in {}",
                          Quote(decimal), kRange);
    }
    v = v * 10 + digit;
  }
  return HashKey{v};
}

std::string FormatHashKey(HashKey key) {
  // Peel off 19 decimal digits at a time (10^19 < 2^64) so only three 128-bit divisions
  // are needed instead of one per digit.
  constexpr uint64_t kChunk = 10'000'000'000'000'000'000ULL;
  Uint128 v = key.value;
  uint64_t parts[3];
  int n = 0;
  do {
    parts[n++] = static_cast<uint64_t>(v % kChunk);
    v /= kChunk;
  } while (v != 0);
  std::string out = fmt::format("{}", parts[n - 1]);
  for (int i = n - 2; i >= 0; --i) out += fmt::format("{:019}", parts[i]);
  return out;
}

namespace {
uint64_t LoadBigEndian64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

HashKey FromDigest(const unsigned char* digest) {
  // The digest's bytes read as a big-endian integer, per the spec.
  return HashKey::FromParts(LoadBigEndian64(digest), LoadBigEndian64(digest + 8));
}
}  // namespace

HashKey HashPartitionKey(std::string_view partition_key) {
  unsigned char digest[MD5_DIGEST_LENGTH];
  MD5(reinterpret_cast<const unsigned char*>(partition_key.data()), partition_key.size(), digest);
  return FromDigest(digest);
}

void HashPartitionKeys(std::span<const std::string_view> keys, std::span<HashKey> out) {
  if (keys.size() != out.size()) Die("HashPartitionKeys: {} keys but {} outputs", keys.size(), out.size());
  const size_t lanes = md5_lanes::Lanes();
  std::array<std::string_view, md5_lanes::kMaxLanes> group;
  if (lanes > group.size()) Die("HashPartitionKeys: {} MD5 lanes, room for {}", lanes, group.size());
  // Fill the lanes with one-block keys in order; a longer key is hashed on its own.
  std::array<size_t, md5_lanes::kMaxLanes> where;
  std::array<md5_lanes::Digest, md5_lanes::kMaxLanes> digests;
  size_t filled = 0;
  auto flush = [&](size_t n) {
    for (size_t j = n; j < lanes; ++j) group[j] = {};  // idle lanes hash the empty string
    md5_lanes::HashOneBlock(lanes, group.data(), digests.data());
    for (size_t j = 0; j < n; ++j) out[where[j]] = FromDigest(digests[j].data());
  };
  for (size_t i = 0; i < keys.size(); ++i) {
    if (lanes == 0 || keys[i].size() > md5_lanes::kMaxOneBlockBytes) {
      out[i] = HashPartitionKey(keys[i]);
      continue;
    }
    group[filled] = keys[i];
    where[filled] = i;
    if (++filled == lanes) {
      flush(filled);
      filled = 0;
    }
  }
  // A short tail: vector lanes still beat one-by-one from two keys up.
  if (filled == 1) {
    out[where[0]] = HashPartitionKey(group[0]);
  } else if (filled > 1) {
    flush(filled);
  }
}

Uint128 EvenSplitStep(int64_t shard_count) {
  if (shard_count < 1) Die("EvenSplitStep({}): shard count must be at least 1", shard_count);
  if (shard_count == 1) return ~static_cast<Uint128>(0);
  constexpr Uint128 kMax = ~static_cast<Uint128>(0);
  const Uint128 n = static_cast<Uint128>(shard_count);
  // floor(2^128 / n) = floor((2^128 - 1) / n) + (1 if n divides 2^128, i.e. if
  // (2^128 - 1) mod n == n - 1).
  Uint128 step = kMax / n;
  if (kMax % n == n - 1) ++step;
  return step;
}

HashKeyRange EvenSplitRange(int64_t shard_count, int64_t index) {
  if (shard_count < 1 || index < 0 || index >= shard_count) {
    Die("EvenSplitRange({}, {}): need 1 <= shard_count and 0 <= index < shard_count", shard_count,
        index);
  }
  if (shard_count == 1) return HashKeyRange::Everything();
  const Uint128 step = EvenSplitStep(shard_count);
  const Uint128 start = static_cast<Uint128>(index) * step;  // < 2^128: index < n
  const Uint128 end = index == shard_count - 1 ? HashKey::Max().value : start + step - 1;
  return HashKeyRange{HashKey{start}, HashKey{end}};
}

Result<std::vector<HashKeyRange>> EvenSplit(int64_t shard_count) {
  if (shard_count < 1 || shard_count > kMaxEvenSplitShards) {
    return Status::Make(Code::kInvalidArgument,
                        "cannot divide the hash key space into {} shards: the shard count "
                        "must be between 1 and {}",
                        shard_count, kMaxEvenSplitShards);
  }
  std::vector<HashKeyRange> ranges;
  ranges.reserve(static_cast<size_t>(shard_count));
  for (int64_t i = 0; i < shard_count; ++i) ranges.push_back(EvenSplitRange(shard_count, i));
  return ranges;
}

std::vector<HashKey> TargetBoundariesWithin(HashKeyRange range, int64_t target_count) {
  if (target_count < 1 || !range.Valid()) {
    Die("TargetBoundariesWithin({}, {}): need target_count >= 1 and start <= end", range,
        target_count);
  }
  std::vector<HashKey> out;
  if (target_count == 1) return out;  // one target range: no interior boundaries
  const Uint128 step = EvenSplitStep(target_count);
  // j * step > start  <=>  j >= start / step + 1;  j * step <= end  <=>  j <= end / step.
  const Uint128 first = range.start.value / step + 1;
  Uint128 last = range.end.value / step;
  const Uint128 max_j = static_cast<Uint128>(target_count - 1);
  if (last > max_j) last = max_j;
  for (Uint128 j = first; j <= last; ++j) out.push_back(HashKey{j * step});
  return out;
}

Status CheckTiling(std::span<const HashKeyRange> ranges) {
  if (ranges.empty()) {
    return Status::Make(Code::kInternal,
                        "no hash key ranges: the open shards must cover [0, 2^128-1]");
  }
  for (size_t i = 0; i < ranges.size(); ++i) {
    const HashKeyRange& r = ranges[i];
    if (!r.Valid()) {
      return Status::Make(Code::kInternal, "hash key range #{} {} is inverted (start > end)", i, r);
    }
    if (i == 0) {
      if (r.start != HashKey::Min()) {
        return Status::Make(Code::kInternal,
                            "hash key ranges leave a gap: the first range {} does not start at 0",
                            r);
      }
    } else {
      const HashKeyRange& prev = ranges[i - 1];
      // prev.end < Max here, else it would have been the last range checked below.
      if (prev.end == HashKey::Max() || r.start.value != prev.end.value + 1) {
        return Status::Make(
            Code::kInternal, "hash key range #{} {} does not start right after range #{} {} ({})",
            i, r, i - 1, prev,
            prev.end == HashKey::Max() || r.start.value <= prev.end.value ? "they overlap"
                                                                          : "there is a gap");
      }
    }
  }
  if (ranges.back().end != HashKey::Max()) {
    return Status::Make(Code::kInternal,
                        "hash key ranges leave a gap: the last range {} does not end at "
                        "2^128-1",
                        ranges.back());
  }
  return Status::Ok();
}

}  // namespace shoal
