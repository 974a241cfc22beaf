// Fuzzes the sequence-number parser (kernel/sequence_number.h), which reads numbers
// clients send back (StartingSequenceNumber, SequenceNumberForOrdering).
//
// Input: text. Up to the first '\n' is number A, the rest number B. Properties:
//   * ParseSequenceNumber accepts only canonical encodings: Format(Parse(x)) == x, and the
//     parts it returns are valid;
//   * the order of SeqParts is the numeric order of the decimal numbers (clients compare
//     them numerically, the engine compares parts);
//   * ownership checks never fail on a parsed number.
// A: the raw bytes are also read as fields (shard, created, counter, arrival) and, when
// ValidateSeqParts accepts them, Parse(Format(parts)) must give the parts back.
#include <compare>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "kernel/sequence_number.h"
#include "tests/fuzz/support/check.h"

namespace {

using shoal::SeqParts;

// Numeric order of two canonical decimal strings (no leading zeros).
std::strong_ordering DecimalOrder(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() <=> b.size();
  int c = a.compare(b);
  return c <=> 0;
}

std::optional<SeqParts> ParseChecked(std::string_view text) {
  auto r = shoal::ParseSequenceNumber(text);
  if (!r.ok()) {
    FUZZ_CHECK(r.status().code() == shoal::Code::kInvalidArgument, "unexpected error {}", r.status().ToString());
    return std::nullopt;
  }
  FUZZ_CHECK(shoal::ValidateSeqParts(*r).ok(), "parsed invalid parts {}", *r);
  const std::string again = shoal::FormatSequenceNumber(*r);
  FUZZ_CHECK(again == text, "'{}' parsed to {} which formats as '{}'", text, *r, again);
  FUZZ_CHECK(again.size() == shoal::kSeqDecimalDigits, "'{}' has {} digits", again, again.size());
  shoal::Status own = shoal::CheckSeqBelongsToShard(*r, r->shard);
  FUZZ_CHECK(own.ok(), "a number does not belong to its own shard: {}", own.ToString());
  (void)shoal::SeqRecordOffset(*r);
  return *r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  std::string_view a = in.substr(0, nl);
  std::string_view b = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  auto pa = ParseChecked(a);
  auto pb = ParseChecked(b);
  if (pa && pb) {
    FUZZ_CHECK((*pa <=> *pb) == DecimalOrder(a, b), "parts order of {} and {} differs from numeric order", a, b);
    FUZZ_CHECK((*pa == *pb) == (a == b), "equality of {} and {}", a, b);
  }

  // The same bytes as fields.
  if (size >= 28) {
    uint32_t index;
    int64_t created, arrival;
    uint64_t counter;
    std::memcpy(&index, data, 4);
    std::memcpy(&created, data + 4, 8);
    std::memcpy(&counter, data + 12, 8);
    std::memcpy(&arrival, data + 20, 8);
    // Bias towards valid values, or nearly every draw is out of range.
    created = created % (shoal::kMaxSeqCreatedSeconds + 2);
    arrival = arrival % (shoal::kMaxSeqArrivalSeconds + 2);
    counter = counter % (shoal::kSeqEndCounter + 2);
    index = index % (shoal::kMaxShardIndex + 2u);
    SeqParts p{shoal::ShardIdentity{shoal::ShardIndex{index}, created}, counter, arrival};
    if (shoal::ValidateSeqParts(p).ok()) {
      const std::string text = shoal::FormatSequenceNumber(p);
      auto back = shoal::ParseSequenceNumber(text);
      FUZZ_CHECK(back.ok(), "cannot parse {} formatted from {}: {}", text, p, back.status().ToString());
      FUZZ_CHECK(*back == p, "{} parsed back to {}", p, *back);
      if (counter <= shoal::kMaxSeqRecordOffset + 1 && counter > 0) {
        SeqParts rec = shoal::RecordSeq(p.shard, counter - 1, arrival * 1000);
        FUZZ_CHECK(rec > shoal::ShardStartSeq(p.shard), "record {} not above the shard's start", rec);
        FUZZ_CHECK(rec < shoal::ShardEndSeq(p.shard, arrival * 1000), "record {} not below the shard's end", rec);
      }
    }
  }
  return 0;
}
