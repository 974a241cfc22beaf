// Sequence numbers: the public name of a record's position in a shard.
//
// Kinesis hands out a decimal sequence number per record. Clients treat it as opaque but
// compare sequence numbers numerically (KCL checkpoints, AT/AFTER_SEQUENCE_NUMBER
// iterators, SequenceNumberForOrdering), so the contract (spec kinesis-data-streams.md
// §2.5) is:
//   * pattern 0|([1-9]\d{0,128});
//   * strictly increasing within a shard, in commit order;
//   * after a reshard, every number of a child shard exceeds every number of its parents.
// Shoal derives each number from (shard, record offset, arrival second) with no lookup
// table, and can decode a client's number back into those parts; that is how
// GetShardIterator finds the record and how it can tell "this number belongs to
// another shard" (spec §3.9) without an index.
//
// Layout (kinesalite's, which the spec recommends because it yields AWS-shaped numbers).
// The number is a 47-hex-digit (188-bit) integer; hex digits from the most significant:
//
//   digit  0      width 1   constant 2 (format marker)
//   digits 1-9    width 9   shard creation time, whole seconds since the epoch
//   digit  10     width 1   low 4 bits of the shard index
//   digits 11-26  width 16  counter (< 0x8000000000000000)
//   digits 27-28  width 2   reserved, always 00
//   digits 29-37  width 9   arrival time, whole seconds since the epoch
//   digits 38-45  width 8   shard index (32 bits; Shoal's are < 2^31)
//   digit  46     width 1   constant 2 (layout version)
//
// Every such value lies in [2^185, 3 * 16^46), so it always has 56 decimal digits and
// starts with 49, 5x, 6x or 7x, like AWS's own. Ordering of two numbers is therefore
// lexicographic in (creation time, index low bits, counter, arrival time, index), which
// gives the contract:
//   * Within a shard, the counter dominates: counter = record offset + 1, so numbers grow
//     with the offset whatever the arrival times (the arrival field only breaks ties that
//     never occur inside one shard).
//   * The shard's creation time sits on top, so it acts as the shard's epoch: a child
//     whose creation second exceeds each parent's is above all of the parent's numbers,
//     for every offset. ChildShardCreatedSeconds() picks such a second.
//   * The creation time also tells shards of a deleted and re-created stream apart (the
//     spec's "did not come from this stream" check), except when both were created in
//     the same second; shard iterators carry a random stream id for that case.
//
// Counter values (Shoal's choice; kinesalite starts records at 0 or 1 depending on the
// arrival second, which would make the offset of a number depend on per-shard state):
//   0                      the shard's StartingSequenceNumber (arrival = creation second)
//   offset + 1             the record at `offset` (0-based) in the shard
//   0x7fffffffffffffff     the EndingSequenceNumber of a closed shard (arrival = close
//                          second): above every record the shard can hold
// so the first record is strictly above StartingSequenceNumber even when it arrives in
// the shard's creation second.
//
// Resolving AT_SEQUENCE_NUMBER x on its own shard: with c = x's counter, records at
// offsets < c - 1 are below x, offsets > c - 1 above; offset c - 1 itself is >= x exactly
// when RecordSeq(shard, c - 1, its stored arrival) >= x (compare SeqParts directly).
//
// Everything here is a pure function of its arguments and safe to call from any thread.
#pragma once

#include <fmt/format.h>

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "io/status.h"
#include "kernel/stream_name.h"

namespace shoal {

// The shard a sequence number belongs to, as far as the number can tell.
struct ShardIdentity {
  ShardIndex index;
  // Whole seconds since the Unix epoch; also the shard's ordering epoch (see above).
  int64_t created_s = 0;
  friend constexpr bool operator==(const ShardIdentity&, const ShardIdentity&) = default;
};

// The decoded fields of a sequence number. Ordered as the numbers they encode.
struct SeqParts {
  ShardIdentity shard;
  uint64_t counter = 0;   // see "Counter values" above
  int64_t arrival_s = 0;  // whole seconds since the Unix epoch

  friend constexpr bool operator==(const SeqParts&, const SeqParts&) = default;
  friend std::strong_ordering operator<=>(const SeqParts& a, const SeqParts& b);
};

inline constexpr uint64_t kSeqStartCounter = 0;
inline constexpr uint64_t kSeqEndCounter = 0x7fffffffffffffffULL;
// The largest record offset with a sequence number: its counter is kSeqEndCounter - 1.
inline constexpr uint64_t kMaxSeqRecordOffset = kSeqEndCounter - 2;
// kinesalite rejects creation times at or above 16025175000 s (year 2477) when it
// decodes a number; Shoal keeps the same bound so numbers it issues stay valid there.
inline constexpr int64_t kMaxSeqCreatedSeconds = 16025175000 - 1;
// The arrival field is 36 bits wide.
inline constexpr int64_t kMaxSeqArrivalSeconds = (int64_t{1} << 36) - 1;
// Every number is this many decimal digits long (informational; compare numerically).
inline constexpr size_t kSeqDecimalDigits = 56;

// The whole second a sequence number records for an event at `time_ms` on `shard`:
// floor(time_ms / 1000), but never below the shard's creation second (children are
// created a second in the future, see ChildShardCreatedSeconds).
int64_t SeqSeconds(const ShardIdentity& shard, int64_t time_ms);

// The shard's StartingSequenceNumber: counter 0, arrival = creation second.
SeqParts ShardStartSeq(const ShardIdentity& shard);
// The number of the record at `offset` (0-based, <= kMaxSeqRecordOffset) that arrived at
// `arrival_ms` (its ApproximateArrivalTimestamp). A pure function, so the log only has
// to store each record's arrival time to reproduce its number.
SeqParts RecordSeq(const ShardIdentity& shard, uint64_t offset, int64_t arrival_ms);
// The EndingSequenceNumber of a shard closed at `closed_ms`.
SeqParts ShardEndSeq(const ShardIdentity& shard, int64_t closed_ms);
// The record offset a number names, or nullopt for a shard's start or end marker.
std::optional<uint64_t> SeqRecordOffset(const SeqParts& seq);

// The creation second for the child(ren) of a split or merge of `parents` done at
// `now_ms`: one more than the latest second any parent could have stamped (including
// its EndingSequenceNumber), so the children's numbers exceed all of the parents'.
// Spec §2.5 says "closing time + 1 s"; taking the max with the parents' own creation
// seconds keeps that true when a child is resharded again within the same second
// (UpdateShardCount chains splits and merges). Requires at least one parent.
int64_t ChildShardCreatedSeconds(std::span<const ShardIdentity> parents, int64_t now_ms);

// OK if every field fits the layout: index <= kMaxShardIndex, 0 <= created_s <=
// kMaxSeqCreatedSeconds, counter <= kSeqEndCounter, 0 <= arrival_s <=
// kMaxSeqArrivalSeconds. kInvalidArgument naming the field otherwise.
Status ValidateSeqParts(const SeqParts& seq);

// The 56-digit decimal form. Requires ValidateSeqParts(seq).ok(); aborts otherwise (the
// engine only formats numbers it built from its own shard metadata).
std::string FormatSequenceNumber(const SeqParts& seq);
// The same digits written into `out` with no allocation (a server formats a batch's
// numbers straight into its response); the view points into `out`.
using SeqDigits = std::array<char, kSeqDecimalDigits>;
std::string_view FormatSequenceNumber(const SeqParts& seq, SeqDigits& out);

// Decodes a number produced by FormatSequenceNumber. kInvalidArgument, with the reason,
// for anything else: not matching 0|([1-9]\d{0,128}), a value outside the layout's
// range, a wrong format/layout version digit (e.g. AWS's or kinesalite's other
// layouts), a non-zero reserved byte, a counter >= 2^63, a creation time past
// kMaxSeqCreatedSeconds, an index >= 2^31 or index bits that disagree with each other.
// The API layer turns any of these into the operation's "... is invalid." text.
Result<SeqParts> ParseSequenceNumber(std::string_view decimal);

// How a decoded number relates to the shard it was used with (spec §3.9).
enum class SeqOwnership {
  kThisShard,         // same index, same creation second
  kOtherShard,        // "Invalid StartingSequenceNumber. It encodes shardId-..., while ..."
  kOtherIncarnation,  // same index, different creation second: "did not come from this
                      // stream" (an earlier stream of the same name, or a forged number)
};
SeqOwnership ClassifySeqOwner(const SeqParts& seq, const ShardIdentity& shard);

// OK if `seq` belongs to `shard`; otherwise kInvalidArgument naming both shards (and the
// creation seconds when only those differ).
Status CheckSeqBelongsToShard(const SeqParts& seq, const ShardIdentity& shard);

}  // namespace shoal

template <>
struct fmt::formatter<shoal::SeqParts> : fmt::formatter<std::string_view> {
  auto format(const shoal::SeqParts& s, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(
        fmt::format("{{shard={} created_s={} counter={} arrival_s={}}}", s.shard.index,
                    s.shard.created_s, s.counter, s.arrival_s),
        ctx);
  }
};
