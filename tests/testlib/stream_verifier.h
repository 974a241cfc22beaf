// StreamVerifier: what must hold for the torture streams after any crash, checked through
// a StreamReader (an embedded Engine or shoald over HTTP) against the acknowledgements the
// process under test reported (tests/testlib/torture_records.h).
//
// Fold() the acks of each cycle, then Check() once the process under test is dead and the
// data directory reopened. It verifies:
//   * the topology: the open shards tile [0, 2^128 - 1]; a shard's parents are listed and
//     closed (or expired: closed longer than the retention period ago); every closed shard
//     has children that cover its range; shards seen before keep range and lineage;
//   * every acknowledged record present exactly once at its (shard, offset), byte for byte
//     (the record regenerates from the id it carries); records an earlier Check() saw are
//     still there; nothing that was never sent: every record's id is at or below the
//     highest id its producer announced (kAckSent) before putting it; unacknowledged
//     records that were sent may be present, but at most once;
//   * every record a live consumer read (kAckRead) is still there, unchanged;
//   * a consumer that follows the lineage (parents before children, ChildShards at the end
//     of closed shards) reads every record exactly once, offsets dense in each shard, each
//     record inside its shard's hash range, per producer in put order within a shard and
//     per hash key across the lineage, sequence numbers increasing and children above
//     parents;
//   * the side stream (created, resharded and deleted by the workload, 24 h retention) is
//     absent only if every incarnation created was being deleted, or is one incarnation
//     whose records all carry its uid, holding this cycle's acknowledged records.
// `main_expiring`: the main stream's records may pass retention (soak runs with a fast
// clock): shards may start above offset 0, and acknowledged records below a shard's trim
// horizon, or in an expired shard, may be gone.
//
// Not thread-safe; one verifier per run.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/testlib/stream_reader.h"
#include "tests/testlib/torture_records.h"

namespace shoal::torture {

struct VerifyTotals {
  uint64_t acks = 0;
  uint64_t puts_acked = 0;           // kAckPut entries folded
  uint64_t reads_folded = 0;         // kAckRead entries folded (records a live consumer saw)
  uint64_t lost = 0;                 // acknowledged (or seen) records missing or changed
  uint64_t acked_verified = 0;       // acknowledged records found in place, summed over checks
  uint64_t acked_expired = 0;        // acknowledged main records gone by retention (expiring only)
  uint64_t unacked_found = 0;        // sent, never acknowledged, stored (last check)
  uint64_t records_read = 0;
  uint64_t side_created = 0, side_deleted = 0;
  size_t max_shards = 0;
  size_t side_max_shards = 0;
  uint64_t expired_parents = 0;
  uint64_t ops[6] = {};  // split, merge, UpdateShardCount, retention, side, tick
  uint64_t checks = 0;
};

// Which control operation kind an op code (0..99) of the workload is.
int OpKind(uint32_t op);

class StreamVerifier {
 public:
  using FailFn = std::function<void(const std::string&)>;
  StreamVerifier(FailFn fail, bool main_expiring = false) : fail_(std::move(fail)), main_expiring_(main_expiring) {}

  // Takes this cycle's acknowledgements (call once per cycle, before Check).
  bool Fold(const std::vector<Ack>& acks);
  // Checks everything readable through `reader`. `cycle` seeds the read sizes; `now_ms`
  // is the server's clock (for expiry).
  bool Check(StreamReader& reader, uint64_t cycle, int64_t now_ms);
  // After a clean close: the data directory holds exactly the streams and shards the last
  // Check() listed (leftovers of killed creates, deletes and reshards show here).
  bool CheckDirectories(const std::string& data_dir);

  const VerifyTotals& totals() const { return totals_; }
  size_t main_records() const { return main_seen_.size(); }
  size_t main_shards_known() const { return known_shards_.size(); }
  size_t main_acked() const { return main_expected_.size(); }
  int failures() const { return failures_; }

 private:
  struct KnownShard {
    HashKeyRange range;
    std::optional<std::string> parent, adjacent;
    bool closed = false;
  };
  using At = std::pair<uint32_t, uint64_t>;  // (shard index, offset)
  struct Found {
    std::map<At, uint64_t> at;             // -> id
    std::map<uint32_t, uint64_t> first;    // shard -> first offset read
  };

  bool Fail(const std::string& msg);
  bool CheckRecord(const ReadRecordCopy& r, uint64_t want_uid, const std::string& where, uint64_t* id);
  static constexpr uint64_t kUnknownUid = ~uint64_t{0};
  // `uid`: the incarnation whose uid every record must carry; kUnknownUid: learn it from
  // the first record (set on return).
  bool ConsumeLineage(StreamReader& reader, const std::string& stream, uint64_t& uid, const StreamDescription& d,
                      bool expiring, Found* found);
  bool CheckTopology(const StreamDescription& d, const std::string& stream, std::map<std::string, KnownShard>* known,
                     bool expiring, int64_t now_ms);
  bool CheckMain(StreamReader& reader, int64_t now_ms);
  bool CheckSide(StreamReader& reader, int64_t now_ms);
  // An acknowledged record absent at `at`: allowed only if retention removed it.
  bool GoneByRetention(const At& at, const StreamDescription& d, const Found& found) const;

  FailFn fail_;
  const bool main_expiring_;
  int failures_ = 0;
  uint64_t cycle_ = 0;
  VerifyTotals totals_;
  bool main_created_ = false;
  std::map<At, uint64_t> main_expected_;  // acknowledged
  std::map<At, uint64_t> main_seen_;      // found by the last check
  std::map<uint64_t, std::map<At, uint64_t>> side_expected_;  // uid -> this cycle's acks
  std::set<uint64_t> side_created_, side_delete_intent_;
  std::map<uint64_t, uint64_t> max_sent_;        // cycle << 8 | producer -> highest counter announced
  std::map<std::string, std::pair<uint64_t, std::set<uint32_t>>> live_;  // stream -> (uid, listed)
  std::map<std::string, KnownShard> known_shards_;  // main's shards
};

}  // namespace shoal::torture
