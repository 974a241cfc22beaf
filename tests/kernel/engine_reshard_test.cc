// Engine resharding (spec resharding-and-limits.md §2-§5): SplitShard, MergeShards and
// UpdateShardCount checked against a model, randomized with fixed seeds (random puts with
// random and explicit keys, random splits at valid keys, merges of adjacent open shards,
// UpdateShardCount within the x2 / /2 rule, invalid requests, engine reopens). After every
// operation: the open shards tile [0, 2^128 - 1], DescribeStream matches the model, every
// record sits in the shard whose range held its hash key when it was put, and a consumer
// that follows the lineage (parents before children, via ChildShards) reads every record
// exactly once and per hash key in put order. Plus the error cases, UpdateShardCount's
// shapes, the UPDATING period (update_delay_ms), and that a reshard copies no data.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kernel/engine.h"
#include "tests/testlib/temp_dir.h"

namespace shoal {

// For gtest messages (found by argument-dependent lookup).
std::ostream& operator<<(std::ostream& os, const HashKeyRange& r) { return os << fmt::format("{}", r); }
std::ostream& operator<<(std::ostream& os, const HashKey& k) { return os << FormatHashKey(k); }

namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1700000000000;
constexpr int64_t kMinuteMs = 60 * 1000;
constexpr int64_t kDayMs = 24 * 3600 * 1000;

HashKey Key(std::string_view decimal) { return ParseHashKey(decimal).value(); }

int CompareDecimal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

std::string ShardIdOf(uint32_t i) { return FormatShardId(ShardIndex{i}); }

// ---------------------------------------------------------------------------------------
// Model

struct MRec {
  std::string key;
  std::string data;
  HashKey hash;
  uint32_t shard;
  uint64_t offset;
};

struct MShard {
  uint32_t index = 0;
  HashKeyRange range;
  bool closed = false;
  uint32_t parent = kNoShard;
  uint32_t adjacent = kNoShard;
  std::vector<uint64_t> ids;         // record ids by offset
  std::vector<uint32_t> children;    // in creation order
};

struct Model {
  std::map<uint32_t, MShard> shards;
  uint32_t next = 0;
  std::vector<MRec> recs;             // by record id
  std::vector<int64_t> usc_calls;     // UpdateShardCount calls that changed the topology

  std::vector<uint32_t> OpenSorted() const {
    std::vector<uint32_t> v;
    for (const auto& [i, s] : shards)
      if (!s.closed) v.push_back(i);
    std::sort(v.begin(), v.end(), [&](uint32_t a, uint32_t b) {
      return shards.at(a).range.start < shards.at(b).range.start;
    });
    return v;
  }
  uint32_t Owner(HashKey h) const {
    for (const auto& [i, s] : shards)
      if (!s.closed && s.range.Contains(h)) return i;
    return kNoShard;
  }
  MShard& Add(HashKeyRange r, uint32_t parent, uint32_t adjacent) {
    MShard s;
    s.index = next++;
    s.range = r;
    s.parent = parent;
    s.adjacent = adjacent;
    if (parent != kNoShard) shards.at(parent).children.push_back(s.index);
    if (adjacent != kNoShard) shards.at(adjacent).children.push_back(s.index);
    return shards[s.index] = s;
  }
};

Uint128 Rand128(std::mt19937_64& rng) { return (static_cast<Uint128>(rng()) << 64) | rng(); }

// ---------------------------------------------------------------------------------------
// Fixture

class EngineReshardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<ManualClock>(kT0);
    Open();
  }
  EngineOptions Options() {
    EngineOptions o;
    o.clock = clock_;
    o.sweep_interval_ms = 0;
    o.log.segment_bytes = 64 << 10;
    o.log.durability = durability_;
    o.update_delay_ms = update_delay_ms_;
    return o;
  }
  void Open() {
    auto e = Engine::Open(dir_.Sub("data"), Options());
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(e).value();
  }
  void Reopen() {
    ASSERT_TRUE(engine_->Close().ok());
    engine_.reset();
    Open();
  }

  // --- model-driven operations (stream "m") ---

  void InitModel(int shards) {
    ASSERT_TRUE(engine_->CreateStream(kName, shards).ok());
    ASSERT_TRUE(engine_->SetRetention(kName, 8760, true).ok());  // nothing expires here
    auto ranges = EvenSplit(shards);
    for (const auto& r : *ranges) model_.Add(r, kNoShard, kNoShard);
  }

  void RandomPuts(std::mt19937_64& rng) {
    const size_t n = 1 + rng() % 25;
    std::vector<std::string> keys(n), datas(n);
    std::vector<PutInput> batch(n);
    std::vector<HashKey> hashes(n);
    const auto open = model_.OpenSorted();
    for (size_t i = 0; i < n; ++i) {
      const uint64_t id = model_.recs.size() + i;
      keys[i] = rng() % 3 ? "key-" + std::to_string(rng() % 40) : "u-" + std::to_string(rng());
      datas[i] = fmt::format("id{}:", id) + std::string(rng() % 200, static_cast<char>('a' + id % 26));
      std::optional<HashKey> ehk;
      const uint64_t pick = rng() % 10;
      if (pick == 0) {
        ehk = HashKey{Rand128(rng)};
      } else if (pick == 1) {
        // A boundary of a random open shard.
        const MShard& s = model_.shards.at(open[rng() % open.size()]);
        switch (rng() % 4) {
          case 0: ehk = s.range.start; break;
          case 1: ehk = s.range.end; break;
          case 2: ehk = s.range.end == HashKey::Max() ? s.range.end : HashKey{s.range.end.value + 1}; break;
          default: ehk = s.range.start == HashKey::Min() ? s.range.start : HashKey{s.range.start.value - 1}; break;
        }
      }
      hashes[i] = ehk ? *ehk : HashPartitionKey(keys[i]);
      batch[i] = PutInput{keys[i], datas[i], ehk};
    }
    Status st;
    auto out = engine_->PutRecords(kName, batch, &st);
    ASSERT_TRUE(st.ok()) << st;
    ASSERT_EQ(out.size(), n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(out[i].status.ok()) << out[i].status;
      const uint32_t owner = model_.Owner(hashes[i]);
      ASSERT_NE(owner, kNoShard);
      ASSERT_EQ(out[i].shard_index, owner) << "record " << i << " hash " << FormatHashKey(hashes[i]);
      MShard& s = model_.shards.at(owner);
      ASSERT_EQ(out[i].offset, s.ids.size());
      SeqParts p = ParseSequenceNumber(out[i].sequence_number()).value();
      EXPECT_EQ(p.shard.index.value, owner);
      EXPECT_EQ(p.counter, out[i].offset + 1);
      s.ids.push_back(model_.recs.size());
      model_.recs.push_back(MRec{keys[i], datas[i], hashes[i], owner, out[i].offset});
    }
  }

  void RandomSplit(std::mt19937_64& rng) {
    const auto open = model_.OpenSorted();
    const uint64_t kind = rng() % 10;
    if (kind == 0) {  // a closed shard
      std::vector<uint32_t> closed;
      for (auto& [i, s] : model_.shards)
        if (s.closed) closed.push_back(i);
      if (closed.empty()) return;
      const MShard& s = model_.shards.at(closed[rng() % closed.size()]);
      Status st = engine_->SplitShard(kName, s.index, HashKey{s.range.start.value + (s.range.end.value - s.range.start.value) / 2});
      EXPECT_EQ(st.code(), Code::kInvalidArgument) << st;
      EXPECT_NE(st.message().find("already been merged or split"), std::string::npos) << st;
      return;
    }
    const MShard& s = model_.shards.at(open[rng() % open.size()]);
    const Uint128 S = s.range.start.value, E = s.range.end.value;
    if (kind == 1) {  // invalid keys: S, S+1, E, E+1, inside another shard
      std::vector<HashKey> bad = {HashKey{S}, HashKey{S + 1}, HashKey{E}};
      if (E != HashKey::Max().value) bad.push_back(HashKey{E + 1});
      if (S != 0) bad.push_back(HashKey{S - 1});
      if (S > 5) bad.push_back(HashKey{0});
      for (HashKey k : bad) {
        Status st = engine_->SplitShard(kName, s.index, k);
        EXPECT_EQ(st.code(), Code::kInvalidArgument) << FormatHashKey(k) << " on " << s.range;
        EXPECT_NE(st.message().find("NewStartingHashKey " + FormatHashKey(k)), std::string::npos) << st;
      }
      return;
    }
    if (open.size() >= 14 || E - S < 3) return;
    // Valid: S + 1 < K < E, including the extremes.
    Uint128 k;
    switch (rng() % 4) {
      case 0: k = S + 2; break;
      case 1: k = E - 1; break;
      default: k = S + 2 + Rand128(rng) % (E - S - 2); break;
    }
    ASSERT_TRUE(engine_->SplitShard(kName, s.index, HashKey{k}).ok()) << "split " << s.index << " at " << FormatHashKey(HashKey{k});
    const uint32_t parent = s.index;
    const HashKeyRange r = s.range;
    model_.shards.at(parent).closed = true;
    model_.Add(HashKeyRange{r.start, HashKey{k - 1}}, parent, kNoShard);
    model_.Add(HashKeyRange{HashKey{k}, r.end}, parent, kNoShard);
  }

  void RandomMerge(std::mt19937_64& rng) {
    const auto open = model_.OpenSorted();
    const uint64_t kind = rng() % 10;
    if (kind == 0 && open.size() >= 3) {  // not adjacent
      size_t i = rng() % (open.size() - 2);
      // The first and the last shard (range end 2^128 - 1 "plus one" wraps to 0) are
      // covered by MergeFirstAndLastShardsAreNotAdjacent; keep the random runs on the
      // rest of the model.
      if (i == 0 && open.size() == 3) return;
      Status st = engine_->MergeShards(kName, open[i], open[i + 2]);
      EXPECT_EQ(st.code(), Code::kInvalidArgument) << st;
      EXPECT_NE(st.message().find("not an adjacent pair"), std::string::npos) << st;
      return;
    }
    if (kind == 1) {  // the same shard twice
      Status st = engine_->MergeShards(kName, open[0], open[0]);
      EXPECT_EQ(st.code(), Code::kInvalidArgument) << st;
      return;
    }
    if (kind == 2) {  // a closed shard with an open neighbour
      for (auto& [i, s] : model_.shards) {
        if (!s.closed) continue;
        for (uint32_t o : open) {
          const MShard& os = model_.shards.at(o);
          if (os.range.end.value + 1 == s.range.start.value || s.range.end.value + 1 == os.range.start.value) {
            Status st = engine_->MergeShards(kName, o, i);
            EXPECT_EQ(st.code(), Code::kInvalidArgument) << st;
            return;
          }
        }
      }
      return;
    }
    if (open.size() < 2) return;
    size_t i = rng() % (open.size() - 1);
    uint32_t a = open[i], b = open[i + 1];
    if (rng() % 2) std::swap(a, b);
    ASSERT_TRUE(engine_->MergeShards(kName, a, b).ok()) << a << "+" << b;
    HashKeyRange r{std::min(model_.shards.at(a).range.start, model_.shards.at(b).range.start),
                   std::max(model_.shards.at(a).range.end, model_.shards.at(b).range.end)};
    model_.shards.at(a).closed = true;
    model_.shards.at(b).closed = true;
    model_.Add(r, a, b);
  }

  void RandomUpdateShardCount(std::mt19937_64& rng) {
    const int64_t c = static_cast<int64_t>(model_.OpenSorted().size());
    int64_t t;
    const uint64_t kind = rng() % 10;
    if (kind == 0) {
      t = 2 * c + 1 + static_cast<int64_t>(rng() % 3);
    } else if (kind == 1) {
      t = (c + 1) / 2 - 1;  // below half (0 when c <= 2)
    } else if (kind == 2) {
      t = c;
    } else {
      const int64_t lo = (c + 1) / 2, hi = std::min<int64_t>(2 * c, 12);
      if (hi < lo) return;
      t = lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
    }
    ApplyUpdateShardCount(t);
  }

  // Calls UpdateShardCount(t) and checks the result against the rules and the model.
  void ApplyUpdateShardCount(int64_t t) {
    const auto before = model_.OpenSorted();
    const int64_t c = static_cast<int64_t>(before.size());
    const int64_t now = clock_->NowMs();
    std::erase_if(model_.usc_calls, [&](int64_t x) { return now - x >= kDayMs; });
    auto r = engine_->UpdateShardCount(kName, t);
    if (t < 1) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << t;
      return;
    }
    if (t > 2 * c || 2 * t < c) {
      EXPECT_EQ(r.status().code(), Code::kLimitExceeded) << c << " -> " << t;
      return;
    }
    if (model_.usc_calls.size() >= 10) {
      EXPECT_EQ(r.status().code(), Code::kLimitExceeded) << "11th call in 24 h";
      return;
    }
    ASSERT_TRUE(r.ok()) << c << " -> " << t << ": " << r.status();
    EXPECT_EQ(*r, static_cast<size_t>(c));
    if (t == c) return;
    model_.usc_calls.push_back(now);
    ++usc_applied_;
    auto d = engine_->DescribeStream(kName);
    ASSERT_TRUE(d.ok());
    const auto targets = EvenSplit(t).value();
    std::vector<HashKeyRange> open_after;
    std::map<uint32_t, const ShardDescription*> by_index;
    for (const auto& s : d->shards) {
      by_index[s.index] = &s;
      if (!s.closed) open_after.push_back(s.range);
    }
    std::sort(open_after.begin(), open_after.end(),
              [](const HashKeyRange& x, const HashKeyRange& y) { return x.start < y.start; });
    ASSERT_EQ(open_after, targets) << c << " -> " << t;
    // Old open shards: kept exactly when their range is a target range.
    for (uint32_t o : before) {
      const bool keep = std::find(targets.begin(), targets.end(), model_.shards.at(o).range) != targets.end();
      ASSERT_TRUE(by_index.count(o));
      EXPECT_EQ(by_index[o]->closed, !keep) << "shard " << o;
      model_.shards.at(o).closed = !keep;
    }
    // New shards: contiguous indices, valid lineage.
    const uint32_t first_new = model_.next;
    for (const auto& s : d->shards) {
      if (s.index < first_new) continue;
      ASSERT_EQ(s.index, model_.next) << "new shard indices must be contiguous";
      ASSERT_TRUE(s.parent.has_value()) << s.shard_id;
      auto parse = [](const std::string& id) { return ParseShardId(id).value().value; };
      const uint32_t p = parse(*s.parent);
      const uint32_t a = s.adjacent_parent ? parse(*s.adjacent_parent) : kNoShard;
      ASSERT_TRUE(model_.shards.count(p)) << s.shard_id << " parent " << p;
      ASSERT_TRUE(model_.shards.at(p).closed || by_index.at(p)->closed);
      const HashKeyRange pr = model_.shards.at(p).range;
      if (a == kNoShard) {
        EXPECT_TRUE(pr.start <= s.range.start && s.range.end <= pr.end) << s.shard_id << " outside its parent";
      } else {
        ASSERT_TRUE(model_.shards.count(a));
        const HashKeyRange ar = model_.shards.at(a).range;
        EXPECT_EQ(pr.end.value + 1, ar.start.value) << "merge parents must be adjacent, left to right";
        EXPECT_EQ(s.range, (HashKeyRange{pr.start, ar.end}));
      }
      MShard& m = model_.Add(s.range, p, a);
      m.closed = s.closed;
    }
    // Every shard closed by this call: its children tile its range (split) or one child
    // covers it and its adjacent partner (merge).
    for (auto& [i, s] : model_.shards) {
      if (!s.closed || s.children.empty()) continue;
      if (s.children.size() == 2) {
        const MShard& l = model_.shards.at(s.children[0]);
        const MShard& rr = model_.shards.at(s.children[1]);
        if (l.adjacent == kNoShard && rr.adjacent == kNoShard) {
          EXPECT_EQ(l.range.start, s.range.start);
          EXPECT_EQ(l.range.end.value + 1, rr.range.start.value);
          EXPECT_EQ(rr.range.end, s.range.end);
        }
      } else {
        ASSERT_EQ(s.children.size(), 1u) << "shard " << i;
        const MShard& ch = model_.shards.at(s.children[0]);
        EXPECT_NE(ch.adjacent, kNoShard) << "a single child must be a merge child";
      }
    }
  }

  // DescribeStream == model; open ranges tile the key space.
  void CheckTopology() {
    auto d = engine_->DescribeStream(kName);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->status, StreamStatus::kActive);
    ASSERT_EQ(d->shards.size(), model_.shards.size());
    std::vector<HashKeyRange> open;
    size_t k = 0;
    for (const auto& [i, m] : model_.shards) {
      const ShardDescription& s = d->shards[k++];
      ASSERT_EQ(s.index, i);
      EXPECT_EQ(s.shard_id, ShardIdOf(i));
      EXPECT_EQ(s.range, m.range) << s.shard_id;
      EXPECT_EQ(s.closed, m.closed) << s.shard_id;
      EXPECT_EQ(s.ending_sequence_number.has_value(), m.closed) << s.shard_id;
      EXPECT_EQ(s.parent, m.parent == kNoShard ? std::nullopt : std::optional<std::string>(ShardIdOf(m.parent)));
      EXPECT_EQ(s.adjacent_parent,
                m.adjacent == kNoShard ? std::nullopt : std::optional<std::string>(ShardIdOf(m.adjacent)));
      EXPECT_EQ(ParseSequenceNumber(s.starting_sequence_number).value().shard.index.value, i);
      if (!s.closed) open.push_back(s.range);
    }
    std::sort(open.begin(), open.end(), [](const HashKeyRange& x, const HashKeyRange& y) { return x.start < y.start; });
    EXPECT_TRUE(CheckTiling(open).ok()) << CheckTiling(open);
    EXPECT_EQ(d->open_shard_count, open.size());
    EXPECT_EQ(engine_->OpenShardCount(), open.size());
  }

  // A lineage-following consumer: starts at shards without a listed parent, reads each
  // shard to its end (closed) or tip (open) in small pages, learns children only from
  // ChildShards, starts a child once all its parents are exhausted. Checks every record.
  void Consume(std::mt19937_64& rng) {
    auto d = engine_->DescribeStream(kName);
    ASSERT_TRUE(d.ok());
    std::map<std::string, const ShardDescription*> listed;
    for (const auto& s : d->shards) listed[s.shard_id] = &s;
    std::deque<std::string> ready;
    std::set<std::string> started, exhausted;
    std::map<std::string, std::vector<std::string>> parents_of;  // from ChildShards
    for (const auto& s : d->shards) {
      const bool has_parent = (s.parent && listed.count(*s.parent)) || (s.adjacent_parent && listed.count(*s.adjacent_parent));
      if (!has_parent) ready.push_back(s.shard_id);
    }
    std::vector<int> seen(model_.recs.size(), 0);
    std::map<Uint128, uint64_t> last_id_by_hash;
    std::map<std::string, std::pair<std::string, std::string>> seq_span;  // shard -> (min, max)
    size_t shards_read = 0;
    while (!ready.empty()) {
      const std::string id = ready.front();
      ready.pop_front();
      ASSERT_TRUE(started.insert(id).second) << id << " started twice";
      ++shards_read;
      const uint32_t idx = ParseShardId(id).value().value;
      const MShard& m = model_.shards.at(idx);
      auto pos = engine_->GetPosition(kName, idx, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
      ASSERT_TRUE(pos.ok()) << pos.status();
      std::optional<ShardPosition> p = *pos;
      uint64_t expect_offset = 0;
      std::string prev_seq;
      for (int guard = 0;; ++guard) {
        ASSERT_LT(guard, 100000);
        auto r = engine_->GetRecords(kName, *p, 1 + rng() % 16);
        ASSERT_TRUE(r.ok()) << r.status();
        for (const ReadRecord& rec : r->records) {
          SeqParts sp = ParseSequenceNumber(rec.sequence_number).value();
          ASSERT_EQ(sp.shard.index.value, idx);
          const uint64_t off = sp.counter - 1;
          ASSERT_EQ(off, expect_offset) << id;
          ++expect_offset;
          ASSERT_LT(off, m.ids.size()) << id << ": a record the model never put there";
          const uint64_t rid = m.ids[off];
          const MRec& mr = model_.recs[rid];
          ASSERT_EQ(rec.data, mr.data) << id << " offset " << off;
          ASSERT_EQ(rec.partition_key, mr.key);
          ASSERT_TRUE(m.range.Contains(mr.hash));
          ++seen[rid];
          // Per hash key, lineage order == put order.
          auto it = last_id_by_hash.find(mr.hash.value);
          if (it != last_id_by_hash.end()) {
            ASSERT_LT(it->second, rid) << "hash " << FormatHashKey(mr.hash) << " read out of put order in " << id;
          }
          last_id_by_hash[mr.hash.value] = rid;
          if (!prev_seq.empty()) {
            ASSERT_GT(CompareDecimal(rec.sequence_number, prev_seq), 0);
          }
          prev_seq = rec.sequence_number;
          auto& span = seq_span[id];
          if (span.first.empty()) span.first = rec.sequence_number;
          span.second = rec.sequence_number;
        }
        if (!r->next) {  // end of a closed shard
          ASSERT_TRUE(m.closed) << id << " has no next position but is open";
          ASSERT_EQ(expect_offset, m.ids.size()) << id;
          exhausted.insert(id);
          std::vector<std::string> want_children;
          for (uint32_t c : m.children) want_children.push_back(ShardIdOf(c));
          std::vector<std::string> got_children;
          for (const ChildShard& c : r->child_shards) {
            got_children.push_back(c.shard_id);
            const MShard& cm = model_.shards.at(ParseShardId(c.shard_id).value().value);
            EXPECT_EQ(c.range, cm.range);
            std::vector<std::string> want_parents = {ShardIdOf(cm.parent)};
            if (cm.adjacent != kNoShard) want_parents.push_back(ShardIdOf(cm.adjacent));
            EXPECT_EQ(c.parents, want_parents) << c.shard_id;
            parents_of[c.shard_id] = c.parents;
          }
          EXPECT_EQ(got_children, want_children) << id;
          for (const std::string& c : got_children) {
            if (started.count(c) || std::find(ready.begin(), ready.end(), c) != ready.end()) continue;
            bool all = true;
            for (const std::string& par : parents_of[c])
              if (listed.count(par) && !exhausted.count(par)) all = false;
            if (all) ready.push_back(c);
          }
          break;
        }
        ASSERT_TRUE(r->child_shards.empty());
        if (r->records.empty()) {  // caught up on an open shard
          ASSERT_FALSE(m.closed) << id << " is closed but returned a next position at its end";
          ASSERT_EQ(expect_offset, m.ids.size()) << id;
          break;
        }
        p = r->next;
      }
    }
    EXPECT_EQ(shards_read, d->shards.size()) << "the lineage walk did not reach every shard";
    for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], 1) << "record " << i << " read " << seen[i] << " times";
    // Children's numbers exceed their parents'.
    for (const auto& s : d->shards) {
      for (const auto& par : {s.parent, s.adjacent_parent}) {
        if (!par) continue;
        const ShardDescription* ps = listed.at(*par);
        ASSERT_TRUE(ps->ending_sequence_number.has_value());
        EXPECT_GT(CompareDecimal(s.starting_sequence_number, *ps->ending_sequence_number), 0) << s.shard_id;
        if (seq_span.count(s.shard_id) && seq_span.count(*par)) {
          EXPECT_GT(CompareDecimal(seq_span[s.shard_id].first, seq_span[*par].second), 0)
              << s.shard_id << " vs parent " << *par;
        }
      }
    }
  }

  void RunRandom(uint64_t seed, int steps) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    InitModel(1 + static_cast<int>(rng() % 4));
    CheckTopology();
    for (int step = 0; step < steps; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      clock_->AdvanceMs(static_cast<int64_t>(rng() % (15 * kMinuteMs)));
      const uint64_t op = rng() % 100;
      if (op < 40) {
        RandomPuts(rng);
      } else if (op < 60) {
        RandomSplit(rng);
      } else if (op < 78) {
        RandomMerge(rng);
      } else if (op < 93) {
        RandomUpdateShardCount(rng);
      } else {
        Reopen();
        ++reopens_;
      }
      if (HasFatalFailure()) return;
      CheckTopology();
      if (HasFatalFailure()) return;
      Consume(rng);
      if (HasFatalFailure() || HasFailure()) return;
    }
    size_t closed = 0;
    for (auto& [i, sh] : model_.shards) closed += sh.closed;
    std::printf("seed %llu: %d steps, %zu records, %zu shards (%zu closed), %d UpdateShardCount applied, %d reopens\n",
                static_cast<unsigned long long>(seed), steps, model_.recs.size(), model_.shards.size(), closed,
                usc_applied_, reopens_);
  }

  // The segment files of a shard directory: name -> (inode, mtime ns, size).
  struct FileId {
    ino_t ino;
    int64_t mtime_ns;
    off_t size;
    bool operator==(const FileId&) const = default;
  };
  static std::map<std::string, FileId> SegmentFiles(const std::string& dir) {
    std::map<std::string, FileId> out;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(dir, ec)) {
      const std::string n = e.path().filename().string();
      if (n.find(".seg") == std::string::npos && n.find(".idx") == std::string::npos) continue;
      struct stat st;
      if (::stat(e.path().c_str(), &st) != 0) continue;
      out[n] = FileId{st.st_ino, st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec, st.st_size};
    }
    return out;
  }
  std::string ShardDir(const std::string& stream, uint32_t shard) {
    auto d = engine_->DescribeStream(stream);
    return fmt::format("{}/streams/{}.{:016x}/{}", dir_.Sub("data"), stream, d->uid, shard);
  }

  static constexpr const char* kName = "m";
  testing::TempDir dir_;
  std::shared_ptr<ManualClock> clock_;
  int64_t update_delay_ms_ = 0;
  Durability durability_ = Durability::kNone;  // process-crash safe; keeps the random runs fast
  std::unique_ptr<Engine> engine_;
  Model model_;
  int usc_applied_ = 0;
  int reopens_ = 0;
};

// --- Randomized model runs -----------------------------------------------------------------

TEST_F(EngineReshardTest, RandomizedSeed1) { RunRandom(1, 90); }
TEST_F(EngineReshardTest, RandomizedSeed2) { RunRandom(2, 90); }
TEST_F(EngineReshardTest, RandomizedSeed3) { RunRandom(0x5eed3, 90); }
TEST_F(EngineReshardTest, RandomizedSeed4) { RunRandom(20240607, 90); }

// --- Deterministic shapes ------------------------------------------------------------------

TEST_F(EngineReshardTest, UpdateShardCount2To4IsTwoSplits) {
  InitModel(2);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5; ++i) RandomPuts(rng);
  ApplyUpdateShardCount(4);
  auto d = engine_->DescribeStream(kName);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->shards.size(), 6u) << "two splits: 2 parents + 4 children, nothing else";
  // 2, 3 from shard 0; 4, 5 from shard 1; no merges.
  for (uint32_t c : {2u, 3u, 4u, 5u}) {
    const auto& s = d->shards[c];
    EXPECT_FALSE(s.closed);
    EXPECT_EQ(s.parent, ShardIdOf(c < 4 ? 0 : 1));
    EXPECT_FALSE(s.adjacent_parent.has_value());
    EXPECT_EQ(s.range, EvenSplitRange(4, c - 2));
  }
  EXPECT_TRUE(d->shards[0].closed);
  EXPECT_TRUE(d->shards[1].closed);
  CheckTopology();
  Consume(rng);
}

TEST_F(EngineReshardTest, UpdateShardCount4To2IsTwoMerges) {
  InitModel(4);
  std::mt19937_64 rng(8);
  for (int i = 0; i < 5; ++i) RandomPuts(rng);
  ApplyUpdateShardCount(2);
  auto d = engine_->DescribeStream(kName);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->shards.size(), 6u) << "two merges: 4 parents + 2 children";
  EXPECT_EQ(d->shards[4].parent, ShardIdOf(0));
  EXPECT_EQ(d->shards[4].adjacent_parent, ShardIdOf(1));
  EXPECT_EQ(d->shards[5].parent, ShardIdOf(2));
  EXPECT_EQ(d->shards[5].adjacent_parent, ShardIdOf(3));
  EXPECT_EQ(d->shards[4].range, EvenSplitRange(2, 0));
  EXPECT_EQ(d->shards[5].range, EvenSplitRange(2, 1));
  for (uint32_t i = 0; i < 4; ++i) EXPECT_TRUE(d->shards[i].closed);
  CheckTopology();
  Consume(rng);
}

TEST_F(EngineReshardTest, UpdateShardCount3To4SplitsThenMerges) {
  InitModel(3);
  std::mt19937_64 rng(9);
  for (int i = 0; i < 5; ++i) RandomPuts(rng);
  ApplyUpdateShardCount(4);
  CheckTopology();
  Consume(rng);
  Reopen();
  CheckTopology();
  Consume(rng);
  // Then back down, and up again: the 10-calls-per-24h budget is per stream.
  ApplyUpdateShardCount(2);
  ApplyUpdateShardCount(3);
  RandomPuts(rng);
  CheckTopology();
  Consume(rng);
}

TEST_F(EngineReshardTest, UpdateShardCountLimits) {
  InitModel(4);
  auto code = [&](int64_t t) { return engine_->UpdateShardCount(kName, t).status().code(); };
  EXPECT_EQ(code(9), Code::kLimitExceeded);  // > 2x
  EXPECT_EQ(code(1), Code::kLimitExceeded);  // < 1/2
  EXPECT_EQ(code(0), Code::kInvalidArgument);
  EXPECT_EQ(code(-3), Code::kInvalidArgument);
  {
    Status st = engine_->UpdateShardCount(kName, 9).status();
    EXPECT_NE(st.message().find("double"), std::string::npos) << st;
    st = engine_->UpdateShardCount(kName, 1).status();
    EXPECT_NE(st.message().find("half"), std::string::npos) << st;
  }
  CheckTopology();  // nothing changed
  // Odd counts: t >= ceil(c / 2).
  ApplyUpdateShardCount(5);
  EXPECT_EQ(code(2), Code::kLimitExceeded);  // 2 * 2 < 5
  ApplyUpdateShardCount(3);
  EXPECT_EQ(code(7), Code::kLimitExceeded);
  ApplyUpdateShardCount(6);
  CheckTopology();
  // Same count: OK, no change.
  auto r = engine_->UpdateShardCount(kName, 6);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 6u);
  CheckTopology();
  // At most 10 topology-changing calls per rolling 24 h.
  for (int i = 0; i < 7; ++i) {
    ApplyUpdateShardCount(i % 2 ? 6 : 5);
    clock_->AdvanceMs(kMinuteMs);
  }
  EXPECT_EQ(code(5), Code::kLimitExceeded) << "11th call within 24 h";
  CheckTopology();
  clock_->AdvanceMs(kDayMs);
  ApplyUpdateShardCount(5);
  CheckTopology();
  std::mt19937_64 rng(10);
  Consume(rng);
}

TEST_F(EngineReshardTest, SplitErrorCases) {
  InitModel(2);
  const HashKeyRange r0 = model_.shards.at(0).range;
  auto split = [&](uint32_t s, HashKey k) { return engine_->SplitShard(kName, s, k); };
  // S + 1 < K < E.
  for (HashKey k : {r0.start, HashKey{r0.start.value + 1}, r0.end, HashKey{r0.end.value + 1}, HashKey::Max()}) {
    Status st = split(0, k);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << FormatHashKey(k);
    EXPECT_EQ(st.message(),
              fmt::format("NewStartingHashKey {} used in SplitShard() on shard shardId-000000000000 in stream m is "
                          "not both greater than one plus the shard's StartingHashKey 0 and less than the shard's "
                          "EndingHashKey 170141183460469231731687303715884105727.",
                          FormatHashKey(k)));
  }
  EXPECT_TRUE(split(0, HashKey{r0.start.value + 2}).ok());  // the smallest valid key
  model_.shards.at(0).closed = true;
  model_.Add(HashKeyRange{r0.start, HashKey{r0.start.value + 1}}, 0, kNoShard);
  model_.Add(HashKeyRange{HashKey{r0.start.value + 2}, r0.end}, 0, kNoShard);
  CheckTopology();
  // Shard 2 is [0, 1]: two keys, no valid split key at all.
  for (uint64_t k : {0u, 1u, 2u}) EXPECT_EQ(split(2, HashKey{k}).code(), Code::kInvalidArgument);
  // A closed shard.
  Status st = split(0, Key("1000"));
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "Shard shardId-000000000000 in stream m has already been merged or split, and thus is not eligible for "
            "merging or splitting.");
  // Not there.
  EXPECT_EQ(split(4, Key("1000")).code(), Code::kNotFound);
  // The largest valid key of shard 1 (E - 1).
  const HashKeyRange r1 = model_.shards.at(1).range;
  EXPECT_TRUE(split(1, HashKey{r1.end.value - 1}).ok());
  model_.shards.at(1).closed = true;
  model_.Add(HashKeyRange{r1.start, HashKey{r1.end.value - 2}}, 1, kNoShard);
  model_.Add(HashKeyRange{HashKey{r1.end.value - 1}, r1.end}, 1, kNoShard);
  CheckTopology();
  std::mt19937_64 rng(11);
  for (int i = 0; i < 4; ++i) RandomPuts(rng);
  Consume(rng);
}

TEST_F(EngineReshardTest, MergeErrorCases) {
  InitModel(4);
  auto merge = [&](uint32_t a, uint32_t b) { return engine_->MergeShards(kName, a, b); };
  Status st = merge(0, 2);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "Shards shardId-000000000000 and shardId-000000000002 in stream m are not an adjacent pair of shards "
            "eligible for merging");
  EXPECT_EQ(merge(1, 1).code(), Code::kInvalidArgument);
  EXPECT_EQ(merge(1, 9).code(), Code::kNotFound);
  EXPECT_EQ(merge(9, 1).code(), Code::kNotFound);
  ASSERT_TRUE(merge(2, 1).ok());  // reversed order
  model_.shards.at(1).closed = model_.shards.at(2).closed = true;
  model_.Add(HashKeyRange{model_.shards.at(1).range.start, model_.shards.at(2).range.end}, 2, 1);
  CheckTopology();
  st = merge(1, 0);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("already been merged or split"), std::string::npos) << st;
  EXPECT_EQ(merge(0, 1).code(), Code::kInvalidArgument);
  // Shard 4 = [S1, E2] merges with 0 and with 3.
  ASSERT_TRUE(merge(0, 4).ok());
  model_.shards.at(0).closed = model_.shards.at(4).closed = true;
  model_.Add(HashKeyRange{model_.shards.at(0).range.start, model_.shards.at(4).range.end}, 0, 4);
  ASSERT_TRUE(merge(3, 5).ok());
  model_.shards.at(3).closed = model_.shards.at(5).closed = true;
  model_.Add(HashKeyRange::Everything(), 3, 5);
  CheckTopology();
  std::mt19937_64 rng(12);
  RandomPuts(rng);
  Consume(rng);
}

// The shard ending at 2^128 - 1 and the shard starting at 0 are the two ends of the key
// space, not neighbours: their union is not contiguous (spec §3 adjacency: A.End + 1 ==
// B.Start, which must not wrap around). Merging them would give a child covering
// everything while the shards between stay open (overlapping ranges).
TEST_F(EngineReshardTest, MergeFirstAndLastShardsAreNotAdjacent) {
  InitModel(4);
  for (auto [a, b] : {std::pair<uint32_t, uint32_t>{3, 0}, {0, 3}}) {
    Status st = engine_->MergeShards(kName, a, b);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << a << "+" << b << ": " << st;
    if (st.ok()) break;
  }
  CheckTopology();
}

TEST_F(EngineReshardTest, MergeFirstAndLastOfThreeShards) {
  InitModel(3);
  Status st = engine_->MergeShards(kName, 0, 2);
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st;
  CheckTopology();
}

TEST_F(EngineReshardTest, OnDemandStreamRejectsResharding) {
  ASSERT_TRUE(engine_->CreateStream("od", 4, CapacityMode::kOnDemand).ok());
  for (Status st : {engine_->SplitShard("od", 0, Key("1000")), engine_->MergeShards("od", 0, 1),
                    engine_->UpdateShardCount("od", 2).status()}) {
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << st;
    EXPECT_NE(st.message().find("ON_DEMAND"), std::string::npos) << st;
  }
  EXPECT_EQ(engine_->DescribeStream("od")->shards.size(), 4u);
}

// --- The UPDATING period ---------------------------------------------------------------------

TEST_F(EngineReshardTest, UpdatingPeriodWithDelay) {
  update_delay_ms_ = 500;
  Reopen();
  InitModel(2);
  std::mt19937_64 rng(13);
  RandomPuts(rng);
  const HashKey k = Key("85070591730234615865843651857942052864");
  ASSERT_TRUE(engine_->SplitShard(kName, 0, k).ok());
  auto d = engine_->DescribeStream(kName);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status, StreamStatus::kUpdating);
  EXPECT_EQ(d->shards.size(), 2u) << "the split applies when the period ends";
  // Reads and writes continue (writes still go to the parent).
  for (int i = 0; i < 3; ++i) RandomPuts(rng);
  Consume(rng);
  // Every reshard and retention change is refused meanwhile.
  EXPECT_EQ(engine_->SplitShard(kName, 1, Key("200000000000000000000000000000000000000")).code(), Code::kInUse);
  EXPECT_EQ(engine_->MergeShards(kName, 0, 1).code(), Code::kInUse);
  EXPECT_EQ(engine_->UpdateShardCount(kName, 3).status().code(), Code::kInUse);
  Status st = engine_->SplitShard(kName, 0, k);
  EXPECT_EQ(st.code(), Code::kInUse);
  EXPECT_EQ(st.message(), "Stream m not ACTIVE, instead in state UPDATING");
  EXPECT_EQ(engine_->SetRetention(kName, 100, true).code(), Code::kInUse);
  // One ms before the end, Tick() changes nothing; survives a reopen (persisted).
  clock_->AdvanceMs(499);
  engine_->Tick();
  EXPECT_EQ(engine_->DescribeStream(kName)->status, StreamStatus::kUpdating);
  Reopen();
  EXPECT_EQ(engine_->DescribeStream(kName)->status, StreamStatus::kUpdating);
  EXPECT_EQ(engine_->DescribeStream(kName)->shards.size(), 2u);
  RandomPuts(rng);
  clock_->AdvanceMs(1);
  engine_->Tick();
  d = engine_->DescribeStream(kName);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status, StreamStatus::kActive);
  model_.shards.at(0).closed = true;
  model_.Add(HashKeyRange{model_.shards.at(0).range.start, HashKey{k.value - 1}}, 0, kNoShard);
  model_.Add(HashKeyRange{k, model_.shards.at(0).range.end}, 0, kNoShard);
  CheckTopology();
  RandomPuts(rng);
  Consume(rng);
  // Merge and UpdateShardCount go through the same period.
  ASSERT_TRUE(engine_->MergeShards(kName, 2, 3).ok());
  EXPECT_EQ(engine_->DescribeStream(kName)->status, StreamStatus::kUpdating);
  RandomPuts(rng);
  clock_->AdvanceMs(500);
  engine_->Tick();
  model_.shards.at(2).closed = model_.shards.at(3).closed = true;
  model_.Add(model_.shards.at(0).range, 2, 3);
  CheckTopology();
  auto usc = engine_->UpdateShardCount(kName, 4);
  ASSERT_TRUE(usc.ok()) << usc.status();
  EXPECT_EQ(*usc, 2u);
  EXPECT_EQ(engine_->DescribeStream(kName)->status, StreamStatus::kUpdating);
  EXPECT_EQ(engine_->DescribeStream(kName)->open_shard_count, 2u);
  RandomPuts(rng);
  clock_->AdvanceMs(500);
  engine_->Tick();
  d = engine_->DescribeStream(kName);
  EXPECT_EQ(d->status, StreamStatus::kActive);
  EXPECT_EQ(d->open_shard_count, 4u);
  // Re-sync the model from the description (UpdateShardCount's shape is checked elsewhere).
  for (const auto& s : d->shards) {
    if (model_.shards.count(s.index)) {
      model_.shards.at(s.index).closed = s.closed;
      continue;
    }
    auto parse = [](const std::string& id) { return ParseShardId(id).value().value; };
    MShard& m = model_.Add(s.range, parse(*s.parent), s.adjacent_parent ? parse(*s.adjacent_parent) : kNoShard);
    m.closed = s.closed;
  }
  CheckTopology();
  RandomPuts(rng);
  Consume(rng);
}

// --- Reshards make progress under a continuous put load --------------------------------------

// "Resharding a stream waits for the puts in flight on it" (engine.h) - only those. Two
// threads put back to back (each put holds the stream lock shared until its records are
// durable); the main thread splits, merges, changes retention and the shard count while
// they run. Every operation must complete while the producers keep going, and the
// records stay consistent. How many puts completed while each operation waited is
// printed: with a lock that lets new readers overtake a waiting writer the numbers are in
// the hundreds or thousands (see the report); a deterministic bound would need a timing
// assumption, so the test asserts completion only.
TEST_F(EngineReshardTest, ReshardIsNotStarvedByConcurrentPuts) {
  durability_ = Durability::kAlways;  // each put holds the stream lock across an fdatasync
  Reopen();
  ASSERT_TRUE(engine_->CreateStream("busy", 2).ok());
  constexpr int kMaxPuts = 2500;  // the producers stop by themselves: bounds the runtime
  std::atomic<int> puts{0};
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < 2; ++t) {
    producers.emplace_back([&, t] {
      const std::string key = "k" + std::to_string(t);
      std::vector<PutInput> batch(4, PutInput{key, "payload", std::nullopt});
      while (!stop.load() && puts.load() < kMaxPuts) {
        Status st;
        auto out = engine_->PutRecords("busy", batch, &st);
        if (!st.ok()) failures.fetch_add(1);
        puts.fetch_add(1);
      }
    });
  }
  while (puts.load() < 50) std::this_thread::yield();
  std::vector<int> waited;
  int starved = 0;
  auto op = [&](const char* what, auto fn) {
    const int before = puts.load();
    Status st = fn();
    const int after = puts.load();
    EXPECT_TRUE(st.ok()) << what << ": " << st;
    waited.push_back(after - before);
    starved += after >= kMaxPuts;
  };
  op("split", [&] { return engine_->SplitShard("busy", 0, Key("85070591730234615865843651857942052864")); });
  op("merge", [&] { return engine_->MergeShards("busy", 2, 3); });
  op("retention", [&] { return engine_->SetRetention("busy", 48, true); });
  op("update shard count", [&] { return engine_->UpdateShardCount("busy", 3).status(); });
  stop = true;
  for (auto& t : producers) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::string w;
  for (int x : waited) w += std::to_string(x) + " ";
  std::printf("puts completed while each operation waited: %s(producers stop after %d; %d operation(s) only got "
              "through once they had stopped)\n",
              w.c_str(), kMaxPuts, starved);
}

// --- A reshard copies no data ----------------------------------------------------------------

TEST_F(EngineReshardTest, SplitAndMergeRewriteNoDataFiles) {
  ASSERT_TRUE(engine_->CreateStream("big", 2).ok());
  const std::string blob(2000, 'd');
  for (int b = 0; b < 30; ++b) {
    std::vector<PutInput> batch;
    for (int i = 0; i < 20; ++i) batch.push_back(PutInput{"k", blob, b % 2 ? HashKey::Max() : HashKey::Min()});
    Status st;
    auto out = engine_->PutRecords("big", batch, &st);
    ASSERT_TRUE(st.ok());
  }
  Reopen();  // background work (sealing rolled segments) done
  const std::string d0 = ShardDir("big", 0), d1 = ShardDir("big", 1);
  const auto before0 = SegmentFiles(d0), before1 = SegmentFiles(d1);
  size_t sealed = 0;
  for (auto& [n, id] : before0) sealed += n.find(".idx") != std::string::npos;
  ASSERT_GE(sealed, 3u) << "expected several sealed segments in shard 0";

  // A file "is not rewritten" if it keeps its inode; a sealed segment (with its .idx)
  // also keeps its size and mtime. The active segment's preallocated tail may be released
  // when the parent is sealed (a truncate, not a rewrite).
  auto check = [&](const std::map<std::string, FileId>& before, const std::string& dir, const std::string& what) {
    const auto after = SegmentFiles(dir);
    for (const auto& [n, id] : before) {
      const bool is_sealed_seg =
          n.find(".idx") != std::string::npos ||
          before.count(n.substr(0, n.find('.')) + ".idx");
      auto it = after.find(n);
      if (is_sealed_seg) {
        ASSERT_TRUE(it != after.end()) << what << ": sealed " << n << " disappeared";
        EXPECT_EQ(it->second, id) << what << ": sealed " << n << " was rewritten (inode/mtime/size changed)";
      } else if (it != after.end()) {
        EXPECT_EQ(it->second.ino, id.ino) << what << ": " << n << " was replaced";
        EXPECT_LE(it->second.size, id.size) << what << ": " << n << " grew";
      }
    }
  };
  ASSERT_TRUE(engine_->SplitShard("big", 0, Key("85070591730234615865843651857942052864")).ok());
  check(before0, d0, "split parent");
  check(before1, d1, "untouched shard");
  ASSERT_TRUE(engine_->MergeShards("big", 3, 1).ok());
  check(before0, d0, "split parent after merge");
  check(before1, d1, "merge parent");
  Reopen();
  check(before0, d0, "split parent after reopen");
  check(before1, d1, "merge parent after reopen");
  // The children hold no copy of the parents' records.
  for (uint32_t c : {2u, 3u, 4u}) {
    auto p = engine_->GetPosition("big", c, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
    ASSERT_TRUE(p.ok());
    auto r = engine_->GetRecords("big", *p, 100);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->records.empty()) << "child " << c;
  }
  // The parents still serve all their records.
  for (uint32_t par : {0u, 1u}) {
    auto p = engine_->GetPosition("big", par, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
    size_t n = 0;
    std::optional<ShardPosition> cur = *p;
    while (cur) {
      auto r = engine_->GetRecords("big", *cur, 10000);
      ASSERT_TRUE(r.ok());
      n += r->records.size();
      cur = r->next;
    }
    EXPECT_EQ(n, 300u) << "parent " << par;
  }
}

}  // namespace
}  // namespace shoal
