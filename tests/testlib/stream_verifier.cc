#include "tests/testlib/stream_verifier.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <filesystem>
#include <cstring>
#include <random>

#include "kernel/sequence_number.h"

namespace shoal::torture {

namespace {

int CompareDecimal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

uint64_t SentKey(uint64_t id) { return IdCycle(id) << 8 | IdProducer(id); }

constexpr int64_t kMinRetentionMs = 24LL * 3600 * 1000;  // Kinesis's minimum retention

}  // namespace

int OpKind(uint32_t op) { return op < 22 ? 0 : op < 40 ? 1 : op < 52 ? 2 : op < 60 ? 3 : op < 88 ? 4 : 5; }

bool StreamVerifier::Fail(const std::string& msg) {
  ++failures_;
  if (failures_ <= 20) fail_("cycle " + std::to_string(cycle_) + ": " + msg);
  return false;
}

bool StreamVerifier::Fold(const std::vector<Ack>& acks) {
  side_expected_.clear();
  for (const Ack& a : acks) {
    ++totals_.acks;
    switch (a.type) {
      case kAckPut:
        ++totals_.puts_acked;
        if (a.stream == 0) {
          auto [it, inserted] = main_expected_.emplace(At{a.shard, a.offset}, a.id);
          if (!inserted && it->second != a.id)
            return Fail("two acks for main shard " + std::to_string(a.shard) + " offset " + std::to_string(a.offset));
        } else {
          // Side records live 24 h, and the embedded workload's clock jumps 25 h a cycle:
          // only this cycle's count.
          side_expected_[a.uid][{a.shard, a.offset}] = a.id;
        }
        break;
      case kAckRead:
        if (a.stream != 0) return Fail("kAckRead for a stream other than main");
        ++totals_.reads_folded;
        if (auto [it, inserted] = main_expected_.emplace(At{a.shard, a.offset}, a.id); !inserted && it->second != a.id)
          return Fail("main shard " + std::to_string(a.shard) + " offset " + std::to_string(a.offset) + " was read as " +
                      std::to_string(a.id) + " but acknowledged or read as " + std::to_string(it->second));
        break;
      case kAckSent: {
        uint64_t& m = max_sent_[SentKey(a.id)];
        m = std::max(m, IdCounter(a.id) + 1);
        break;
      }
      case kAckMainCreated: main_created_ = true; break;
      case kAckSideCreateIntent: break;
      case kAckSideCreated:
        side_created_.insert(a.uid);
        ++totals_.side_created;
        break;
      case kAckSideDeleteIntent:
        side_delete_intent_.insert(a.uid);
        ++totals_.side_deleted;
        break;
      case kAckOpIntent: break;
      case kAckOpDone: ++totals_.ops[OpKind(a.shard)]; break;
      default: return Fail("ack of unknown type " + std::to_string(a.type));
    }
  }
  return true;
}

bool StreamVerifier::CheckRecord(const ReadRecordCopy& r, uint64_t want_uid, const std::string& where, uint64_t* id) {
  if (r.data.size() < 16) return Fail(where + ": record of " + std::to_string(r.data.size()) + " bytes was never sent");
  uint64_t uid;
  std::memcpy(id, r.data.data(), 8);
  std::memcpy(&uid, r.data.data() + 8, 8);
  auto sent = max_sent_.find(SentKey(*id));
  if (sent == max_sent_.end() || IdCounter(*id) >= sent->second)
    return Fail(where + ": record " + std::to_string(*id) + " was never sent (its producer announced only " +
                std::to_string(sent == max_sent_.end() ? 0 : sent->second) + " records)");
  if (uid != want_uid)
    return Fail(where + ": record " + std::to_string(*id) + " belongs to stream incarnation " + std::to_string(uid) +
                ", read from " + std::to_string(want_uid));
  if (r.partition_key != KeyFor(*id)) return Fail(where + ": record " + std::to_string(*id) + " has the wrong key");
  if (r.data != DataFor(*id, uid)) return Fail(where + ": record " + std::to_string(*id) + " bytes differ from what was sent");
  return true;
}

bool StreamVerifier::ConsumeLineage(StreamReader& reader, const std::string& stream, uint64_t& uid,
                                    const StreamDescription& d, bool expiring, Found* found) {
  std::map<std::string, const ShardDescription*> listed;
  for (const auto& s : d.shards) listed[s.shard_id] = &s;
  std::deque<std::string> ready;
  std::set<std::string> started, exhausted;
  std::map<std::string, std::vector<std::string>> parents_of;
  for (const auto& s : d.shards) {
    const bool has_parent = (s.parent && listed.count(*s.parent)) || (s.adjacent_parent && listed.count(*s.adjacent_parent));
    if (!has_parent) ready.push_back(s.shard_id);
  }
  std::set<uint64_t> ids;
  std::map<std::pair<Uint128, uint64_t>, uint64_t> last_by_hash_producer;
  std::map<std::string, std::pair<std::string, std::string>> span;
  std::mt19937_64 rng(cycle_);
  while (!ready.empty()) {
    const std::string sid = ready.front();
    ready.pop_front();
    if (!started.insert(sid).second) return Fail(stream + ": " + sid + " started twice");
    const ShardDescription& sd = *listed.at(sid);
    auto cursor = reader.TrimHorizon(stream, sd);
    if (!cursor.ok()) return Fail(stream + " " + sid + ": TRIM_HORIZON: " + cursor.status().ToString());
    uint64_t expect = 0;
    bool first = true;
    std::string prev;
    std::map<uint64_t, uint64_t> last_by_producer;  // within this shard
    for (int guard = 0;; ++guard) {
      if (guard > 1000000) return Fail(stream + " " + sid + ": the read never ends");
      auto r = (*cursor)->Next(1 + rng() % 700);
      if (!r.ok()) return Fail(stream + " " + sid + ": GetRecords: " + r.status().ToString());
      for (const ReadRecordCopy& rec : r->records) {
        auto sp = ParseSequenceNumber(rec.sequence_number);
        if (!sp.ok()) return Fail(stream + " " + sid + ": bad sequence number " + rec.sequence_number);
        if (sp->shard.index.value != sd.index) return Fail(stream + " " + sid + ": sequence number of another shard");
        const uint64_t off = sp->counter - 1;
        const std::string where = stream + " " + sid + " offset " + std::to_string(off);
        if (first) {
          if (expiring) expect = off;
          found->first[sd.index] = off;
        }
        first = false;
        if (off != expect) return Fail(where + ": expected offset " + std::to_string(expect) + " (dense from 0)");
        ++expect;
        uint64_t id = 0;
        // A reader that cannot tell the incarnation (the HTTP API has no uid): the first
        // record names it, and every other record must agree.
        if (uid == kUnknownUid && rec.data.size() >= 16) std::memcpy(&uid, rec.data.data() + 8, 8);
        if (!CheckRecord(rec, uid, where, &id)) return false;
        if (!ids.insert(id).second) return Fail(where + ": record " + std::to_string(id) + " read twice");
        const HashKey h = HashFor(id);
        if (!sd.range.Contains(h))
          return Fail(where + ": record " + std::to_string(id) + " with hash " + FormatHashKey(h) +
                      " is outside the shard's range " + fmt::format("{}", sd.range));
        const auto hp = std::make_pair(h.value, IdProducer(id));
        auto it = last_by_hash_producer.find(hp);
        if (it != last_by_hash_producer.end() && it->second >= id)
          return Fail(where + ": record " + std::to_string(id) + " read after " + std::to_string(it->second) +
                      " of the same key and producer (put order violated across the lineage)");
        last_by_hash_producer[hp] = id;
        // A producer puts one batch at a time and waits for it: within a shard, its records
        // sit in the order it sent them.
        auto [pit, fresh] = last_by_producer.emplace(IdProducer(id), id);
        if (!fresh) {
          if (pit->second >= id)
            return Fail(where + ": record " + std::to_string(id) + " stored after " + std::to_string(pit->second) +
                        " of the same producer (out of order within the shard)");
          pit->second = id;
        }
        if (!prev.empty() && CompareDecimal(rec.sequence_number, prev) <= 0)
          return Fail(where + ": sequence numbers not increasing");
        prev = rec.sequence_number;
        if (span[sid].first.empty()) span[sid].first = rec.sequence_number;
        span[sid].second = rec.sequence_number;
        found->at[{sd.index, off}] = id;
        ++totals_.records_read;
      }
      if (r->end) {
        if (!sd.closed) return Fail(stream + " " + sid + ": no next position on an open shard");
        exhausted.insert(sid);
        std::set<std::string> want_children;
        for (const auto& s : d.shards)
          if (s.parent == sid || s.adjacent_parent == sid) want_children.insert(s.shard_id);
        std::set<std::string> got_children;
        for (const ChildShard& c : r->child_shards) {
          got_children.insert(c.shard_id);
          parents_of[c.shard_id] = c.parents;
        }
        if (got_children != want_children)
          return Fail(stream + " " + sid + ": ChildShards disagree with DescribeStream's lineage");
        for (const std::string& c : got_children) {
          if (started.count(c) || std::find(ready.begin(), ready.end(), c) != ready.end()) continue;
          bool all = true;
          for (const std::string& par : parents_of[c])
            if (listed.count(par) && !exhausted.count(par)) all = false;
          if (all) ready.push_back(c);
        }
        break;
      }
      if (!r->child_shards.empty()) return Fail(stream + " " + sid + ": ChildShards before the end");
      if (r->records.empty()) {
        if (sd.closed) return Fail(stream + " " + sid + ": closed shard keeps returning a next position");
        break;
      }
    }
  }
  if (started.size() != d.shards.size())
    return Fail(stream + ": the lineage walk reached " + std::to_string(started.size()) + " of " +
                std::to_string(d.shards.size()) + " shards");
  for (const auto& s : d.shards) {
    for (const auto& par : {s.parent, s.adjacent_parent}) {
      if (!par || !listed.count(*par)) continue;
      const ShardDescription* ps = listed.at(*par);
      if (!ps->ending_sequence_number || CompareDecimal(s.starting_sequence_number, *ps->ending_sequence_number) <= 0)
        return Fail(stream + " " + s.shard_id + ": StartingSequenceNumber not above parent's EndingSequenceNumber");
      if (span.count(s.shard_id) && span.count(*par) && CompareDecimal(span[s.shard_id].first, span[*par].second) <= 0)
        return Fail(stream + " " + s.shard_id + ": a record numbered below its parent's");
    }
  }
  return true;
}

bool StreamVerifier::CheckTopology(const StreamDescription& d, const std::string& stream,
                                   std::map<std::string, KnownShard>* known, bool expiring, int64_t now_ms) {
  std::vector<HashKeyRange> open;
  std::map<std::string, const ShardDescription*> listed;
  for (const auto& s : d.shards) listed[s.shard_id] = &s;
  for (const auto& s : d.shards) {
    if (!s.closed) open.push_back(s.range);
    if (s.closed != s.ending_sequence_number.has_value())
      return Fail(stream + " " + s.shard_id + ": closed flag and EndingSequenceNumber disagree");
    for (const auto& par : {s.parent, s.adjacent_parent}) {
      if (!par) continue;
      if (!listed.count(*par)) {
        // A missing parent must have expired: closed (when s was created, one second
        // before s's creation second) at least a retention period ago. The shortest one
        // (24 h), not the current: retention may have been lower when the sweep ran.
        const int64_t created_s = ParseSequenceNumber(s.starting_sequence_number).value().shard.created_s;
        if (!expiring || now_ms - (created_s - 1) * 1000 < kMinRetentionMs)
          return Fail(stream + " " + s.shard_id + ": parent " + *par + " is missing but cannot have expired");
        ++totals_.expired_parents;
        continue;
      }
      if (!listed.at(*par)->closed) return Fail(stream + " " + s.shard_id + ": parent " + *par + " is open");
    }
    if (s.adjacent_parent && !s.parent) return Fail(stream + " " + s.shard_id + ": adjacent parent without parent");
  }
  std::sort(open.begin(), open.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
  if (Status t = CheckTiling(open); !t.ok()) return Fail(stream + ": open shards do not tile the key space: " + t.ToString());
  if (d.open_shard_count != open.size()) return Fail(stream + ": open_shard_count is wrong");
  // Every closed shard: two split children tiling it, or one merge child covering it.
  for (const auto& s : d.shards) {
    if (!s.closed) continue;
    std::vector<const ShardDescription*> kids;
    for (const auto& c : d.shards)
      if (c.parent == s.shard_id || c.adjacent_parent == s.shard_id) kids.push_back(&c);
    if (kids.size() == 2 && !kids[0]->adjacent_parent && !kids[1]->adjacent_parent) {
      auto a = kids[0], b = kids[1];
      if (b->range.start < a->range.start) std::swap(a, b);
      if (a->range.start != s.range.start || a->range.end.value + 1 != b->range.start.value || b->range.end != s.range.end)
        return Fail(stream + " " + s.shard_id + ": split children do not tile the parent's range");
    } else if (kids.size() == 1 && kids[0]->adjacent_parent) {
      if (!(kids[0]->range.start <= s.range.start && s.range.end <= kids[0]->range.end))
        return Fail(stream + " " + s.shard_id + ": merge child does not cover the parent");
    } else {
      return Fail(stream + " " + s.shard_id + ": closed with " + std::to_string(kids.size()) + " children");
    }
  }
  if (!known) return true;
  // Shards seen before keep their identity; closed stays closed.
  for (const auto& s : d.shards) {
    auto it = known->find(s.shard_id);
    if (it == known->end()) continue;
    if (it->second.range != s.range || it->second.parent != s.parent || it->second.adjacent != s.adjacent_parent)
      return Fail(stream + " " + s.shard_id + ": range or lineage changed since the last verification");
    if (it->second.closed && !s.closed) return Fail(stream + " " + s.shard_id + ": was closed, is open again");
  }
  for (auto it = known->begin(); it != known->end();) {
    if (listed.count(it->first)) {
      ++it;
      continue;
    }
    if (!expiring || !it->second.closed)
      return Fail(stream + " " + it->first + ": disappeared (" + (expiring ? "it was open" : "nothing can expire here") + ")");
    it = known->erase(it);
  }
  for (const auto& s : d.shards) (*known)[s.shard_id] = KnownShard{s.range, s.parent, s.adjacent_parent, s.closed};
  totals_.max_shards = std::max(totals_.max_shards, d.shards.size());
  return true;
}

bool StreamVerifier::GoneByRetention(const At& at, const StreamDescription& d, const Found& found) const {
  if (!main_expiring_) return false;
  bool listed = false;
  for (const auto& s : d.shards) listed |= s.index == at.first;
  if (!listed) return true;  // the whole shard expired
  auto f = found.first.find(at.first);
  // Nothing left in the shard, or the record sits below its first readable offset.
  return f == found.first.end() || at.second < f->second;
}

bool StreamVerifier::Check(StreamReader& reader, uint64_t cycle, int64_t now_ms) {
  cycle_ = cycle;
  ++totals_.checks;
  live_.clear();
  auto names = reader.ListStreams();
  if (!names.ok()) return Fail("ListStreams: " + names.status().ToString());
  for (const std::string& n : *names)
    if (n != kMainStream && n != kSideStream) return Fail("unexpected stream '" + n + "'");
  return CheckMain(reader, now_ms) && CheckSide(reader, now_ms);
}

bool StreamVerifier::CheckMain(StreamReader& reader, int64_t now_ms) {
  auto d = reader.Describe(kMainStream);
  if (!d.ok()) {
    if (d.status().code() != Code::kNotFound) return Fail("DescribeStream(main): " + d.status().ToString());
    if (main_created_) return Fail("stream main is gone: " + d.status().ToString());
    if (!main_expected_.empty()) return Fail("acked records but no stream");
    return true;
  }
  {
    std::set<uint32_t> idx;
    for (const auto& sh : d->shards) idx.insert(sh.index);
    live_[kMainStream] = {d->uid, idx};
  }
  if (d->status != StreamStatus::kActive) return Fail("main is not ACTIVE");
  if (d->retention_hours < 24) return Fail("bad retention");
  if (!CheckTopology(*d, kMainStream, &known_shards_, main_expiring_, now_ms)) return false;
  Found found;
  uint64_t main_uid = 0;
  if (!ConsumeLineage(reader, kMainStream, main_uid, *d, main_expiring_, &found)) return false;
  uint64_t present = 0, lost = 0;
  std::string first_loss;
  for (auto it = main_expected_.begin(); it != main_expected_.end();) {
    const auto& [at, id] = *it;
    auto f = found.at.find(at);
    if (f == found.at.end() && GoneByRetention(at, *d, found)) {
      ++totals_.acked_expired;
      it = main_expected_.erase(it);
      continue;
    }
    if (f == found.at.end() || f->second != id) {
      if (lost++ == 0)
        first_loss = "acknowledged (or read) main record " + std::to_string(id) + " at shard " +
                     std::to_string(at.first) + " offset " + std::to_string(at.second) +
                     (f == found.at.end() ? " is missing" : " holds " + std::to_string(f->second) + " instead");
    } else {
      ++present;
    }
    ++it;
  }
  totals_.lost += lost;
  if (lost > 0) return Fail(std::to_string(lost) + " acknowledged records lost; the first: " + first_loss);
  for (const auto& [at, id] : main_seen_) {
    auto f = found.at.find(at);
    if (f == found.at.end() && GoneByRetention(at, *d, found)) continue;
    if (f == found.at.end() || f->second != id)
      return Fail("record " + std::to_string(id) + " seen at shard " + std::to_string(at.first) + " offset " +
                  std::to_string(at.second) + " by an earlier verification is gone or changed");
  }
  totals_.acked_verified += present;
  totals_.unacked_found = found.at.size() - present;
  main_seen_ = std::move(found.at);
  return true;
}

bool StreamVerifier::CheckSide(StreamReader& reader, int64_t now_ms) {
  auto sd = reader.Describe(kSideStream);
  if (!sd.ok()) {
    if (sd.status().code() != Code::kNotFound) return Fail("DescribeStream(side): " + sd.status().ToString());
    for (uint64_t u : side_created_)
      if (!side_delete_intent_.count(u))
        return Fail("side stream incarnation " + std::to_string(u) + " vanished without a DeleteStream");
    return true;
  }
  uint64_t u = sd->uid != 0 ? sd->uid : kUnknownUid;
  Found found;
  if (!ConsumeLineage(reader, kSideStream, u, *sd, true, &found)) return false;
  if (u == kUnknownUid) {
    // No record to name the incarnation: it is the one created last (if acknowledged).
    u = 0;
    for (uint64_t c : side_created_)
      if (!side_delete_intent_.count(c)) u = c;
  }
  {
    std::set<uint32_t> idx;
    for (const auto& sh : sd->shards) idx.insert(sh.index);
    live_[kSideStream] = {u, idx};
  }
  for (uint64_t c : side_created_)
    if (c != u && !side_delete_intent_.count(c))
      return Fail("side incarnation " + std::to_string(c) + " replaced without a DeleteStream");
  if (!CheckTopology(*sd, kSideStream, nullptr, true, now_ms)) return false;
  totals_.side_max_shards = std::max(totals_.side_max_shards, sd->shards.size());
  if (!side_created_.count(u) && !found.at.empty()) return Fail("an unacknowledged side incarnation holds records");
  for (const auto& [at, id] : side_expected_[u]) {
    auto it = found.at.find(at);
    if (it == found.at.end() || it->second != id)
      return Fail("acknowledged side record " + std::to_string(id) + " missing at shard " + std::to_string(at.first) +
                  " offset " + std::to_string(at.second));
  }
  return true;
}

bool StreamVerifier::CheckDirectories(const std::string& data_dir) {
  std::map<std::string, std::set<uint32_t>> want;  // "<name>.<uid hex>" -> listed shards
  for (const auto& [name, uid_shards] : live_) want[fmt::format("{}.{:016x}", name, uid_shards.first)] = uid_shards.second;
  std::error_code ec;
  std::set<std::string> got;
  for (auto& ent : std::filesystem::directory_iterator(data_dir + "/streams", ec)) {
    const std::string n = ent.path().filename().string();
    got.insert(n);
    auto it = want.find(n);
    if (it == want.end()) return Fail("leftover stream directory streams/" + n);
    // Besides the listed shards: the spare logs kept for the next reshard, whose indices
    // lie above every shard the stream ever had (the newest shard is always listed).
    const uint32_t newest = it->second.empty() ? 0 : *it->second.rbegin();
    size_t spares = 0;
    for (auto& sub : std::filesystem::directory_iterator(ent.path(), ec)) {
      const std::string sn = sub.path().filename().string();
      uint32_t idx = 0;
      auto r = std::from_chars(sn.data(), sn.data() + sn.size(), idx);
      if (r.ec != std::errc() || r.ptr != sn.data() + sn.size())
        return Fail("leftover directory streams/" + n + "/" + sn);
      if (it->second.count(idx)) continue;
      if (idx <= newest || ++spares > EngineOptions{}.spare_shard_logs)
        return Fail("leftover shard directory streams/" + n + "/" + sn);
    }
  }
  for (const auto& [n, shards] : want)
    if (!got.count(n)) return Fail("missing stream directory streams/" + n);
  return true;
}

}  // namespace shoal::torture
