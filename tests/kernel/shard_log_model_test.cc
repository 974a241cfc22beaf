// Randomized operation test of ShardLog against an in-memory model (Redpanda opfuzz
// style): append / read / timestamp lookup / trim / flush / close+reopen /
// abandon(crash-like)+reopen / seal, with a fixed list of seeds, for every durability and
// write mode. Small (64 KiB) segments make rolls frequent; occasional 200 KiB records make
// frames bigger than a segment. Invariants are checked after every operation.
//
// A failure prints the seed and the operation number; rerun one seed with
//   SHOAL_MODEL_SEED=<seed> shard_log_model_test --gtest_filter='*<config>'
// (seeds of config c are 1000*c + i), or soak with SHOAL_MODEL_SEEDS=<seeds per config>.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>
#include <string>
#include <vector>

#include "kernel/log_writer.h"
#include "kernel/shard_log.h"
#include "tests/testlib/log_test_util.h"
#include "tests/testlib/temp_dir.h"

namespace shoal {
namespace {

using testing::Rec;

struct Model {
  std::vector<Rec> recs;  // recs[i].offset == i; those below `start` are trimmed
  uint64_t start = 0;
  int64_t last_ts = 0;
  bool sealed = false;
  uint64_t end() const { return recs.size(); }
  // First offset >= start whose timestamp is >= ts, else end.
  uint64_t OffsetForTs(int64_t ts) const {
    for (uint64_t o = start; o < end(); ++o)
      if (recs[o].ts >= ts) return o;
    return end();
  }
};

struct Config {
  Durability durability;
  WriteMode mode;
};

std::string ConfigName(const ::testing::TestParamInfo<Config>& p) {
  return std::string(DurabilityName(p.param.durability)) + "_" +
         std::string(WriteModeName(p.param.mode));
}

class ModelTest : public ::testing::TestWithParam<Config> {
 protected:
  void SetUp() override {
    auto w = LogWriter::Create();
    ASSERT_TRUE(w.ok()) << w.status();
    writer_ = *w;
    opts_.durability = GetParam().durability;
    opts_.write_mode = GetParam().mode;
    opts_.interval_ms = 3;
    opts_.segment_bytes = 64 << 10;
    opts_.staging_bytes = 64 << 10;
    opts_.index_interval_bytes = 1024;
    opts_.max_record_bytes = 256 << 10;
  }

  void RunSeed(uint64_t seed, int ops);

  std::shared_ptr<LogWriter> writer_;
  LogOptions opts_;
};

class Runner {
 public:
  Runner(uint64_t seed, std::string dir, LogOptions opts, std::shared_ptr<LogWriter> writer)
      : rng_(seed), dir_(std::move(dir)), opts_(opts), base_mode_(opts.write_mode),
        writer_(std::move(writer)) {}

  uint64_t U(uint64_t lo, uint64_t hi) {  // inclusive
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }
  bool P(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  void Open() {
    auto r = ShardLog::Open(dir_, opts_, writer_);
    // kBusy here ("... still open for writing by another process after 10000 ms") means
    // recovery's FileSystem::WaitForNoWriters() read lease was refused for the previous
    // instance's active segment although no fd in any process refers to it any more: a
    // known, rare (~1 in 5000 same-process reopens) failure of that lease check.
    ASSERT_TRUE(r.ok()) << r.status();
    log_ = std::move(r).value();
    CheckInvariants();
    VerifyAll();
  }

  void Append() {
    const size_t n = P(0.7) ? U(1, 5) : U(1, 50);
    std::vector<std::string> keys(n), datas(n);
    std::vector<RecordIn> in(n);
    clock_ += static_cast<int64_t>(U(0, 50));
    for (size_t i = 0; i < n; ++i) {
      keys[i] = testing::GenBytes(rng_(), 1, U(1, 256));
      size_t len;
      if (P(0.01)) len = (200 << 10) + U(0, 100);
      else if (P(0.2)) len = U(0, 20 << 10);
      else len = U(0, 512);
      datas[i] = testing::GenBytes(rng_(), 2, len);
      int64_t ts = clock_ + static_cast<int64_t>(U(0, 40)) - 20;
      if (P(0.15)) ts = clock_ - static_cast<int64_t>(U(0, 2000));  // goes backwards
      in[i] = RecordIn{keys[i], datas[i], ts};
    }
    AppendResult r;
    if (P(0.3)) {
      // The std::function flavour, waited on here.
      std::mutex mu;
      std::condition_variable cv;
      bool done = false;
      log_->Append(in, [&](const AppendResult& res) {
        std::lock_guard lk(mu);
        r = res;
        done = true;
        cv.notify_all();
      });
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return done; });
    } else {
      r = log_->AppendSync(in);
    }
    if (m_.sealed) {
      EXPECT_EQ(r.status.code(), Code::kClosed) << r.status;
      return;
    }
    ASSERT_TRUE(r.status.ok()) << r.status;
    ASSERT_EQ(r.first_offset, m_.end());
    ASSERT_EQ(r.count, n);
    int64_t t = std::max(in[0].ts_ms, m_.last_ts);
    ASSERT_EQ(r.first_ts, t);
    for (size_t i = 0; i < n; ++i) {
      t = std::max(t, in[i].ts_ms);
      m_.recs.push_back(Rec{m_.end(), t, keys[i], datas[i]});
    }
    ASSERT_EQ(r.last_ts, t);
    m_.last_ts = t;
  }

  // Invalid input completes at once with kInvalidArgument and changes nothing.
  void InvalidAppend() {
    // Keys are limited to 256 characters; in UTF-8 that is up to format::kMaxKeyBytes.
    const std::string big_key(format::kMaxKeyBytes + 1, 'k');
    const std::string too_big(opts_.max_record_bytes + 1, 'd');
    std::vector<RecordIn> in = {{"ok", "fine", 0}};
    switch (U(0, 3)) {
      case 0: in.push_back({"", "empty key", 0}); break;
      case 1: in.push_back({big_key, "oversized key", 0}); break;
      case 2: in.push_back({"k", too_big, 0}); break;
      default: in.clear(); break;
    }
    AppendResult r = log_->AppendSync(in);
    if (m_.sealed && !in.empty()) {
      // Which check comes first is not specified; either refusal is fine.
      ASSERT_TRUE(r.status.code() == Code::kInvalidArgument || r.status.code() == Code::kClosed)
          << r.status;
      return;
    }
    ASSERT_EQ(r.status.code(), Code::kInvalidArgument) << r.status;
  }

  // Quiesce() stops appends in memory and returns end_offset(); Resume() undoes it.
  void QuiesceResume() {
    auto q = log_->Quiesce();
    ASSERT_TRUE(q.ok()) << q.status();
    ASSERT_EQ(*q, m_.end());
    AppendResult r = log_->AppendSync(std::vector<RecordIn>{{"k", "v", 0}});
    ASSERT_EQ(r.status.code(), Code::kClosed) << r.status;
    ASSERT_EQ(log_->end_offset(), m_.end());
    log_->Resume();
  }

  void Read() {
    uint64_t from;
    const uint64_t span = m_.end() - m_.start;
    if (P(0.05) && m_.start > 0) {
      from = U(0, m_.start - 1);
    } else if (P(0.05)) {
      from = m_.end() + U(1, 3);
    } else if (P(0.1)) {
      from = m_.end();
    } else {
      from = m_.start + U(0, span);
    }
    const size_t max_records = P(0.2) ? 1 : U(1, 100);
    size_t max_bytes;
    if (P(0.15)) max_bytes = 0;
    else if (P(0.5)) max_bytes = U(1, 64 << 10);
    else max_bytes = 1 << 20;
    ReadBatch b;
    Status st = log_->Read(from, max_records, max_bytes, &b);
    if (from < m_.start || from > m_.end()) {
      ASSERT_EQ(st.code(), Code::kOutOfRange) << "from " << from << ": " << st;
      return;
    }
    ASSERT_TRUE(st.ok()) << "Read(" << from << ", " << max_records << ", " << max_bytes << "): " << st;
    // What the contract asks: contiguous from `from`, at most max_records, at most
    // max_bytes of key+data unless it is a single record, one record if any is readable.
    // This implementation also fills the limits greedily; we check that too.
    uint64_t off = from;
    size_t bytes = 0;
    for (size_t i = 0; i < b.records.size(); ++i) {
      const RecordView& r = b.records[i];
      ASSERT_EQ(r.offset, off);
      ASSERT_LT(off, m_.end());
      const Rec& w = m_.recs[off];
      ASSERT_EQ(r.ts_ms, w.ts) << "offset " << off;
      ASSERT_TRUE(r.key == w.key) << "offset " << off;
      ASSERT_TRUE(r.data == w.data) << "offset " << off;
      bytes += r.key.size() + r.data.size();
      ++off;
    }
    ASSERT_EQ(b.next_offset, off);
    ASSERT_EQ(b.bytes, bytes);
    ASSERT_LE(b.records.size(), max_records);
    if (b.records.size() > 1) {
      ASSERT_LE(bytes, max_bytes);
    }
    if (from < m_.end()) {
      ASSERT_GE(b.records.size(), 1u);
    }
    if (off < m_.end() && b.records.size() < max_records) {
      const Rec& next = m_.recs[off];
      ASSERT_GT(bytes + next.key.size() + next.data.size(), max_bytes)
          << "Read stopped early at " << off << " (from " << from << ", " << b.records.size()
          << " records, " << bytes << " bytes, max_records " << max_records << ", max_bytes "
          << max_bytes << ")";
    }
  }

  int64_t RandomTs() {
    const int64_t lo = m_.start < m_.end() ? m_.recs[m_.start].ts - 10 : m_.last_ts - 10;
    return lo + static_cast<int64_t>(U(0, static_cast<uint64_t>(m_.last_ts + 20 - lo)));
  }

  void OffsetForTimestamp() {
    const int64_t ts = RandomTs();
    auto r = log_->OffsetForTimestamp(ts);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(*r, m_.OffsetForTs(ts)) << "ts " << ts;
  }

  void TimestampOf() {
    const uint64_t o = m_.start + U(0, m_.end() - m_.start + 1);
    auto r = log_->TimestampOf(o);
    if (o >= m_.end()) {
      ASSERT_EQ(r.status().code(), Code::kOutOfRange) << o;
      return;
    }
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(*r, m_.recs[o].ts);
  }

  void TrimBefore() {
    const uint64_t lo = m_.start > 3 ? m_.start - 3 : 0;
    // Mostly small steps, so the log keeps data to read.
    const uint64_t hi = P(0.2) ? m_.end() + 3 : m_.start + (m_.end() - m_.start) / 4;
    const uint64_t o = U(lo, std::max(lo, hi));
    ASSERT_TRUE(log_->TrimBefore(o).ok());
    m_.start = std::max(m_.start, std::min(o, m_.end()));
  }

  void TrimOlderThan() {
    const int64_t lo = m_.start < m_.end() ? m_.recs[m_.start].ts : m_.last_ts;
    const int64_t span = m_.last_ts - lo;
    const int64_t ts = lo + static_cast<int64_t>(U(0, static_cast<uint64_t>(span / 4 + 1)));
    Status st = log_->TrimOlderThan(ts);
    ASSERT_TRUE(st.ok()) << st;
    m_.start = std::max(m_.start, m_.OffsetForTs(ts));
  }

  void CloseReopen() {
    Status st = log_->Close();
    ASSERT_TRUE(st.ok()) << st;
    // Reads keep working after Close().
    if (m_.start < m_.end()) {
      ReadBatch b;
      ASSERT_TRUE(log_->Read(m_.start, 1, 0, &b).ok());
      ASSERT_EQ(b.records.size(), 1u);
    }
    AppendResult r = log_->AppendSync(std::vector<RecordIn>{{"k", "v", 0}});
    ASSERT_EQ(r.status.code(), Code::kClosed);
    log_.reset();
    MaybeSwitchMode();
    Open();
  }

  void AbandonReopen() {
    log_.reset();
    MaybeSwitchMode();
    Open();
  }

  // Now and then a reopen uses the other write mode (O_DIRECT needs an aligned end: a
  // buffered tail forces a roll); the next reopen goes back.
  void MaybeSwitchMode() {
    if (opts_.write_mode != base_mode_) {
      opts_.write_mode = base_mode_;
    } else if (P(0.15)) {
      opts_.write_mode = base_mode_ == WriteMode::kBuffered ? WriteMode::kDirect : WriteMode::kBuffered;
    }
  }

  void Flush() {
    Status st = log_->Flush();
    ASSERT_TRUE(st.ok()) << st;
  }

  void Seal() {
    auto r = log_->Seal();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(*r, m_.end());
    m_.sealed = true;
    ASSERT_EQ(log_->durable_offset(), m_.end());
  }

  void CheckInvariants() {
    ASSERT_LE(log_->start_offset(), log_->end_offset());
    ASSERT_EQ(log_->start_offset(), m_.start);
    ASSERT_EQ(log_->end_offset(), m_.end());
    ASSERT_EQ(log_->last_timestamp(), m_.last_ts);
    ASSERT_LE(log_->durable_offset(), log_->end_offset());
    // (kAlways: durable_offset() == end_offset() right after an ack is checked by
    // DurableOffsetCoversEveryAckInAlwaysMode below, not here, so one known lag does not
    // hide everything else the model checks.)
    ASSERT_EQ(log_->sealed(), m_.sealed);
  }

  void VerifyAll() {
    std::vector<Rec> got = testing::ReadAllFrom(*log_, m_.start, U(1, 200));
    ASSERT_EQ(got.size(), m_.end() - m_.start);
    for (const Rec& r : got) {
      const Rec& w = m_.recs[r.offset];
      ASSERT_EQ(r.ts, w.ts) << r.offset;
      ASSERT_TRUE(r.key == w.key) << r.offset;
      ASSERT_TRUE(r.data == w.data) << r.offset;
    }
  }

  // Test-part results (failures) recorded so far in this test: seeds share one gtest
  // test, so a seed detects its own failures by the count growing past its start.
  static int Parts() {
    return ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
  }
  bool Failed() const { return Parts() > parts_at_start_; }

  void Run(int ops) {
    parts_at_start_ = Parts();
    ASSERT_NO_FATAL_FAILURE(Open());
    const bool will_seal = P(0.5);
    for (int i = 0; i < ops; ++i) {
      SCOPED_TRACE(::testing::Message() << "op #" << i);
      const uint64_t pick = U(0, 99);
      if (will_seal && !m_.sealed && i > ops * 9 / 10 && P(0.2)) {
        last_op_ = "Seal";
        Seal();
      } else if (pick < 38) {
        last_op_ = "Append";
        Append();
      } else if (pick < 58) {
        last_op_ = "Read";
        Read();
      } else if (pick < 66) {
        last_op_ = "OffsetForTimestamp";
        OffsetForTimestamp();
      } else if (pick < 70) {
        last_op_ = "TimestampOf";
        TimestampOf();
      } else if (pick < 75) {
        last_op_ = "TrimBefore";
        TrimBefore();
      } else if (pick < 78) {
        last_op_ = "TrimOlderThan";
        TrimOlderThan();
      } else if (pick < 83) {
        last_op_ = "CloseReopen";
        CloseReopen();
      } else if (pick < 88) {
        last_op_ = "AbandonReopen";
        AbandonReopen();
      } else if (pick < 91) {
        last_op_ = "Flush";
        Flush();
      } else if (pick < 93) {
        last_op_ = "InvalidAppend";
        InvalidAppend();
      } else if (pick < 95) {
        last_op_ = "QuiesceResume";
        QuiesceResume();
      } else {
        last_op_ = "Read";
        Read();
      }
      if (Failed()) {
        ADD_FAILURE() << "failed in op #" << i << " (" << last_op_ << ")";
        return;
      }
      CheckInvariants();
      if (Failed()) {
        ADD_FAILURE() << "invariant broken after op #" << i << " (" << last_op_ << ")";
        return;
      }
    }
    VerifyAll();
    if (P(0.5)) {
      ASSERT_TRUE(log_->Close().ok());
      log_.reset();
      Open();
    }
  }

 private:
  std::mt19937_64 rng_;
  std::string dir_;
  LogOptions opts_;
  const WriteMode base_mode_;
  std::shared_ptr<LogWriter> writer_;
  std::unique_ptr<ShardLog> log_;
  Model m_;
  int64_t clock_ = 1'000'000;
  const char* last_op_ = "";
  int parts_at_start_ = 0;
};

void ModelTest::RunSeed(uint64_t seed, int ops) {
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  testing::TempDir tmp;
  Runner r(seed, tmp.Sub("log"), opts_, writer_);
  r.Run(ops);
}

TEST_P(ModelTest, RandomOps) {
  // 6 seeds x 6 configs = 36 runs of 250 ops (~20 s on 2 idle cores). SHOAL_MODEL_SEEDS=<n>
  // runs more for a soak; SHOAL_MODEL_SEED=<seed> replays one.
  int seeds = 6;
  constexpr int kOps = 250;
  if (const char* s = std::getenv("SHOAL_MODEL_SEED")) {
    RunSeed(std::strtoull(s, nullptr, 10), kOps);
    return;
  }
  if (const char* s = std::getenv("SHOAL_MODEL_SEEDS")) seeds = std::atoi(s);
  const int kSeeds = seeds;
  // Each config gets its own slice of seeds so the six configs do not repeat one another.
  const uint64_t base = 1000 * (static_cast<uint64_t>(GetParam().durability) * 2 +
                                static_cast<uint64_t>(GetParam().mode));
  // Every seed runs even after a failure (each seed stops at its own first failure).
  for (int s = 0; s < kSeeds; ++s) RunSeed(base + static_cast<uint64_t>(s), kOps);
}

// kAlways: an acknowledged append was fdatasynced, and the header promises
// durable_offset() == end_offset() in this mode. Checked right after each ack.
TEST(ShardLogDurableOffsetTest, DurableOffsetCoversEveryAckInAlwaysMode) {
  // Three logs share one writer so a sync round completes several of them: the window
  // between an acknowledgement and the durable_offset() update is then wide enough to
  // show up (without the bug the count below is 0 whatever the timing).
  testing::TempDir tmp;
  auto w = LogWriter::Create();
  ASSERT_TRUE(w.ok()) << w.status();
  LogOptions opts;
  opts.durability = Durability::kAlways;
  opts.segment_bytes = 64 << 10;
  constexpr int kLogs = 3;
  constexpr int kAppends = 500;
  std::vector<std::unique_ptr<ShardLog>> logs;
  for (int l = 0; l < kLogs; ++l) {
    auto r = ShardLog::Open(tmp.Sub("log" + std::to_string(l)), opts, *w);
    ASSERT_TRUE(r.ok()) << r.status();
    logs.push_back(std::move(r).value());
  }
  std::atomic<int> lagging{0};
  std::atomic<uint64_t> example_durable{0}, example_acked{0};
  auto run = [&](ShardLog* log) {
    for (int i = 0; i < kAppends; ++i) {
      std::string data(100 + i % 1000, 'x');
      RecordIn in{"k", data, i};
      AppendResult res = log->AppendSync({&in, 1});
      if (!res.status.ok()) {
        ADD_FAILURE() << res.status;
        return;
      }
      const uint64_t durable = log->durable_offset();
      if (durable < res.first_offset + res.count && lagging++ == 0) {
        example_durable = durable;
        example_acked = res.first_offset + res.count;
      }
    }
  };
  std::vector<std::thread> threads;
  for (auto& l : logs) threads.emplace_back(run, l.get());
  for (auto& t : threads) t.join();
  EXPECT_EQ(lagging.load(), 0)
      << "BUG: in kAlways mode, right after AppendSync() returned, durable_offset() was "
      << "below the acknowledged records " << lagging.load() << " times out of "
      << kLogs * kAppends << "; e.g. durable " << example_durable.load() << " after acking up to "
      << example_acked.load() << " (header: durable_offset() == end_offset() in kAlways mode)";
  for (auto& l : logs) {
    ASSERT_TRUE(l->Close().ok());
    EXPECT_EQ(l->durable_offset(), l->end_offset());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Configs, ModelTest,
    ::testing::Values(Config{Durability::kNone, WriteMode::kBuffered},
                      Config{Durability::kNone, WriteMode::kDirect},
                      Config{Durability::kInterval, WriteMode::kBuffered},
                      Config{Durability::kInterval, WriteMode::kDirect},
                      Config{Durability::kAlways, WriteMode::kBuffered},
                      Config{Durability::kAlways, WriteMode::kDirect}),
    ConfigName);

}  // namespace
}  // namespace shoal
