#include "kernel/sequence_number.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <tuple>

#include "kernel/hash_key.h"  // Uint128
#include "kernel/text.h"

namespace shoal {
namespace {

template <typename... Args>
[[noreturn]] void Die(fmt::format_string<Args...> f, Args&&... args) {
  fmt::print(stderr, "shoal: sequence_number: {}\n", fmt::format(f, std::forward<Args>(args)...));
  std::abort();
}

// Echoes caller input in error messages. Every well-formed number (<= 129 digits) fits.
std::string Quote(std::string_view text) { return QuoteInput(text, 132); }

// Field widths in bits, most significant first; they add up to 47 hex digits.
constexpr int kMarkerBits = 4;
constexpr int kCreatedBits = 36;
constexpr int kIndexLowBits = 4;
constexpr int kCounterBits = 64;
constexpr int kReservedBits = 8;
constexpr int kArrivalBits = 36;
constexpr int kIndexBits = 32;
constexpr int kVersionBits = 4;
static_assert(kMarkerBits + kCreatedBits + kIndexLowBits + kCounterBits + kReservedBits +
                  kArrivalBits + kIndexBits + kVersionBits ==
              47 * 4);
constexpr uint64_t kMarker = 2;
constexpr uint64_t kVersion = 2;

// The model allows up to 129 digits; any number of ours has 56, and 2^188 has 57.
constexpr size_t kMaxPatternDigits = 129;
constexpr size_t kMaxLayoutDigits = 57;

// A 192-bit unsigned integer, just wide enough for the 188-bit layout. w[2] is the most
// significant limb.
// (hi:lo) / d for hi < d, so the quotient fits in 64 bits; the remainder goes to *rem.
inline uint64_t Div128By64(uint64_t hi, uint64_t lo, uint64_t d, uint64_t* rem) {
#if defined(__x86_64__)
  uint64_t q, r;
  __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(d));
  *rem = r;
  return q;
#else
  const Uint128 cur = (static_cast<Uint128>(hi) << 64) | lo;
  *rem = static_cast<uint64_t>(cur % d);
  return static_cast<uint64_t>(cur / d);
#endif
}

struct U192 {
  uint64_t w[3] = {0, 0, 0};

  bool IsZero() const { return (w[0] | w[1] | w[2]) == 0; }

  // *this = (*this << bits) | v, for 1 <= bits <= 64 and v < 2^bits. The caller keeps
  // the total under 192 bits, so nothing is shifted out.
  void PushLow(uint64_t v, int bits) {
    if (bits == 64) {
      w[2] = w[1];
      w[1] = w[0];
      w[0] = v;
      return;
    }
    w[2] = (w[2] << bits) | (w[1] >> (64 - bits));
    w[1] = (w[1] << bits) | (w[0] >> (64 - bits));
    w[0] = (w[0] << bits) | v;
  }

  // Removes and returns the low `bits` bits (1 <= bits <= 64).
  uint64_t PopLow(int bits) {
    if (bits == 64) {
      uint64_t v = w[0];
      w[0] = w[1];
      w[1] = w[2];
      w[2] = 0;
      return v;
    }
    uint64_t v = w[0] & ((uint64_t{1} << bits) - 1);
    w[0] = (w[0] >> bits) | (w[1] << (64 - bits));
    w[1] = (w[1] >> bits) | (w[2] << (64 - bits));
    w[2] >>= bits;
    return v;
  }

  // *this = *this * 10 + digit; false (and *this unspecified) if it overflows 192 bits.
  bool MulAdd10(unsigned digit) {
    Uint128 carry = digit;
    for (uint64_t& limb : w) {
      Uint128 t = static_cast<Uint128>(limb) * 10 + carry;
      limb = static_cast<uint64_t>(t);
      carry = t >> 64;
    }
    return carry == 0;
  }

  // Writes the decimal digits ending just before `end` (at most 4 * 19 of them); returns
  // the first.
  char* ToDecimalBefore(char* end) const {
    // Peel off 19 digits at a time (10^19 < 2^64); the remainder of each limb division
    // is < 10^19, so (rem << 64 | limb) / 10^19 fits in 64 bits: one hardware 128/64
    // division (a generic 128-bit division is a library call several times slower).
    constexpr uint64_t kChunk = 10'000'000'000'000'000'000ULL;
    U192 v = *this;
    uint64_t parts[4];
    int n = 0;
    do {
      uint64_t rem = 0;
      for (int i = 2; i >= 0; --i) v.w[i] = Div128By64(rem, v.w[i], kChunk, &rem);
      parts[n++] = rem;
    } while (!v.IsZero());
    // Two digits per step from a 200-byte table; every chunk but the most significant is
    // zero-padded to 19 digits.
    static constexpr char kPairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    char* p = end;
    for (int i = 0; i < n; ++i) {
      uint64_t x = parts[i];
      char* const chunk_end = p;
      while (x >= 100) {
        const char* pair = kPairs + 2 * (x % 100);
        x /= 100;
        *--p = pair[1];
        *--p = pair[0];
      }
      if (x >= 10) {
        *--p = kPairs[2 * x + 1];
        *--p = kPairs[2 * x];
      } else {
        *--p = static_cast<char>('0' + x);
      }
      if (i != n - 1)
        while (chunk_end - p < 19) *--p = '0';
    }
    return p;
  }
  std::string ToDecimal() const {
    char buf[4 * 19];
    char* end = buf + sizeof(buf);
    return std::string(ToDecimalBefore(end), end);
  }
};

U192 Pack(const SeqParts& s);

// The decimal form for messages, or the raw fields if `seq` cannot be encoded.
std::string Describe(const SeqParts& seq) {
  return ValidateSeqParts(seq).ok() ? Pack(seq).ToDecimal() : fmt::format("{}", seq);
}

U192 Pack(const SeqParts& s) {
  const uint64_t index = s.shard.index.value;
  U192 x;
  x.PushLow(kMarker, kMarkerBits);
  x.PushLow(static_cast<uint64_t>(s.shard.created_s), kCreatedBits);
  x.PushLow(index & 0xF, kIndexLowBits);
  x.PushLow(s.counter, kCounterBits);
  x.PushLow(0, kReservedBits);
  x.PushLow(static_cast<uint64_t>(s.arrival_s), kArrivalBits);
  x.PushLow(index, kIndexBits);
  x.PushLow(kVersion, kVersionBits);
  return x;
}

}  // namespace

std::strong_ordering operator<=>(const SeqParts& a, const SeqParts& b) {
  // The layout's field order; equal to the numeric order of the encoded values because
  // every field has a fixed width.
  auto key = [](const SeqParts& s) {
    return std::make_tuple(s.shard.created_s, s.shard.index.value & 0xF, s.counter, s.arrival_s,
                           s.shard.index.value);
  };
  return key(a) <=> key(b);
}

int64_t SeqSeconds(const ShardIdentity& shard, int64_t time_ms) {
  // Floor division, so that a (theoretical) pre-1970 time does not round up.
  int64_t s = time_ms / 1000;
  if (time_ms % 1000 < 0) --s;
  return std::max(s, shard.created_s);
}

SeqParts ShardStartSeq(const ShardIdentity& shard) {
  return SeqParts{shard, kSeqStartCounter, shard.created_s};
}

SeqParts RecordSeq(const ShardIdentity& shard, uint64_t offset, int64_t arrival_ms) {
  if (offset > kMaxSeqRecordOffset) {
    Die("record offset {} of {} has no sequence number (limit {})", offset, shard.index,
        kMaxSeqRecordOffset);
  }
  return SeqParts{shard, offset + 1, SeqSeconds(shard, arrival_ms)};
}

SeqParts ShardEndSeq(const ShardIdentity& shard, int64_t closed_ms) {
  return SeqParts{shard, kSeqEndCounter, SeqSeconds(shard, closed_ms)};
}

std::optional<uint64_t> SeqRecordOffset(const SeqParts& seq) {
  if (seq.counter == kSeqStartCounter || seq.counter >= kSeqEndCounter) return std::nullopt;
  return seq.counter - 1;
}

int64_t ChildShardCreatedSeconds(std::span<const ShardIdentity> parents, int64_t now_ms) {
  if (parents.empty()) Die("ChildShardCreatedSeconds: a reshard needs at least one parent");
  int64_t latest = SeqSeconds(parents[0], now_ms);
  for (const ShardIdentity& p : parents) latest = std::max(latest, SeqSeconds(p, now_ms));
  return latest + 1;
}

Status ValidateSeqParts(const SeqParts& s) {
  if (s.shard.index.value > kMaxShardIndex) {
    return Status::Make(Code::kInvalidArgument, "shard index {} is above the limit {}",
                        s.shard.index.value, kMaxShardIndex);
  }
  if (s.shard.created_s < 0 || s.shard.created_s > kMaxSeqCreatedSeconds) {
    return Status::Make(Code::kInvalidArgument,
                        "shard {} creation time {} s is outside [0, {}] and cannot be encoded "
                        "in a sequence number",
                        s.shard.index, s.shard.created_s, kMaxSeqCreatedSeconds);
  }
  if (s.counter > kSeqEndCounter) {
    return Status::Make(Code::kInvalidArgument, "sequence counter {} of {} is above the limit {}",
                        s.counter, s.shard.index, kSeqEndCounter);
  }
  if (s.arrival_s < 0 || s.arrival_s > kMaxSeqArrivalSeconds) {
    return Status::Make(Code::kInvalidArgument,
                        "arrival time {} s on {} is outside [0, {}] and cannot be encoded in a "
                        "sequence number",
                        s.arrival_s, s.shard.index, kMaxSeqArrivalSeconds);
  }
  return Status::Ok();
}

std::string FormatSequenceNumber(const SeqParts& seq) {
  SeqDigits d;
  return std::string(FormatSequenceNumber(seq, d));
}

std::string_view FormatSequenceNumber(const SeqParts& seq, SeqDigits& out) {
  Status st = ValidateSeqParts(seq);
  if (!st.ok()) Die("FormatSequenceNumber({}): {}", seq, st.message());
  // A valid number lies in [2^185, 3 * 16^46): exactly kSeqDecimalDigits digits, so it
  // fills `out` and never runs before it.
  char* const end = out.data() + out.size();
  const char* first = Pack(seq).ToDecimalBefore(end);
  return std::string_view(first, static_cast<size_t>(end - first));
}

Result<SeqParts> ParseSequenceNumber(std::string_view decimal) {
  auto invalid = [&](std::string_view why) {
    return Status::Make(Code::kInvalidArgument, "sequence number {} is invalid: {}", Quote(decimal),
                        why);
  };
  // The model's pattern first: 0|([1-9]\d{0,128}).
  if (decimal.empty()) return invalid("it is empty");
  for (char c : decimal) {
    if (c < '0' || c > '9') {
      return invalid("it is not a decimal integer (digits only, no sign or spaces)");
    }
  }
  if (decimal.size() > 1 && decimal[0] == '0') return invalid("it has a leading zero");
  if (decimal.size() > kMaxPatternDigits) {
    return invalid(
        fmt::format("it has {} digits, more than {}", decimal.size(), kMaxPatternDigits));
  }
  // Well-formed; now it must be a number this engine issued.
  constexpr std::string_view kNotOurs =
      "it was not issued by this engine (its sequence numbers are 56-digit numbers in "
      "layout version 2)";
  if (decimal.size() > kMaxLayoutDigits) return invalid(kNotOurs);
  U192 x;
  for (char c : decimal) {
    if (!x.MulAdd10(static_cast<unsigned>(c - '0'))) return invalid(kNotOurs);
  }
  const uint64_t version = x.PopLow(kVersionBits);
  const uint64_t index = x.PopLow(kIndexBits);
  const uint64_t arrival = x.PopLow(kArrivalBits);
  const uint64_t reserved = x.PopLow(kReservedBits);
  const uint64_t counter = x.PopLow(kCounterBits);
  const uint64_t index_low = x.PopLow(kIndexLowBits);
  const uint64_t created = x.PopLow(kCreatedBits);
  const uint64_t marker = x.PopLow(kMarkerBits);
  if (!x.IsZero() || marker != kMarker) {
    return invalid(fmt::format("{}; its leading hex digit is not {}", kNotOurs, kMarker));
  }
  if (version != kVersion) {
    return invalid(
        fmt::format("it is in layout version {}, but this engine only issues and "
                    "accepts version {}",
                    version, kVersion));
  }
  if (reserved != 0) return invalid("its reserved byte is not zero");
  if (counter > kSeqEndCounter) return invalid("its counter is 2^63 or more");
  if (created > static_cast<uint64_t>(kMaxSeqCreatedSeconds)) {
    return invalid(fmt::format("its shard creation time {} s is past the limit {} s", created,
                               kMaxSeqCreatedSeconds));
  }
  if (index > kMaxShardIndex) {
    return invalid(fmt::format("its shard index {} is above the limit {}", index, kMaxShardIndex));
  }
  if ((index & 0xF) != index_low) {
    return invalid(fmt::format("its two copies of the shard index disagree ({} vs low bits {})",
                               index, index_low));
  }
  return SeqParts{
      ShardIdentity{ShardIndex{static_cast<uint32_t>(index)}, static_cast<int64_t>(created)},
      counter, static_cast<int64_t>(arrival)};
}

SeqOwnership ClassifySeqOwner(const SeqParts& seq, const ShardIdentity& shard) {
  if (seq.shard.index != shard.index) return SeqOwnership::kOtherShard;
  if (seq.shard.created_s != shard.created_s) return SeqOwnership::kOtherIncarnation;
  return SeqOwnership::kThisShard;
}

Status CheckSeqBelongsToShard(const SeqParts& seq, const ShardIdentity& shard) {
  switch (ClassifySeqOwner(seq, shard)) {
    case SeqOwnership::kThisShard:
      return Status::Ok();
    case SeqOwnership::kOtherShard:
      return Status::Make(Code::kInvalidArgument,
                          "sequence number {} encodes {}, but it was used with {}; use a "
                          "sequence number returned for {}",
                          Describe(seq), seq.shard.index, shard.index, shard.index);
    case SeqOwnership::kOtherIncarnation:
      return Status::Make(Code::kInvalidArgument,
                          "sequence number {} encodes {} created at {} s, but this {} was "
                          "created at {} s: the number comes from an earlier stream of the "
                          "same name or another engine",
                          Describe(seq), seq.shard.index, seq.shard.created_s, shard.index,
                          shard.created_s);
  }
  return Status::Make(Code::kInternal, "unknown SeqOwnership");
}

}  // namespace shoal
