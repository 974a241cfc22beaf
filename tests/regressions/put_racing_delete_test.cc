// Regression: a PutRecords racing DeleteStream reported its records as
// "Internal: the shard was resharded while the record was being written; retry it".
// The delete abandons the shard logs under appends already staged (they complete with
// kClosed), and PutRecords took every kClosed for a reshard. Found when the full suite ran
// next to shoal-torture (EngineInputTest.DeleteWhilePutting failed about once in 30 runs
// under load). A put that loses that race is a put to a deleted stream: the whole call
// fails with ResourceNotFound (kNotFound), as if it had arrived just after the delete.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kernel/engine.h"
#include "tests/testlib/temp_dir.h"

namespace shoal {
namespace {

TEST(PutRacingDeleteTest, LosingPutsSeeTheStreamGone) {
  testing::TempDir dir;
  EngineOptions o;
  o.sweep_interval_ms = 0;
  o.log.segment_bytes = 64 << 10;
  auto opened = Engine::Open(dir.Sub("data"), o);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<Engine> e = std::move(opened).value();
  ASSERT_TRUE(e->CreateStream("s", 2).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> ok_records{0}, not_found{0};
  std::atomic<int> bad{0};
  std::string first_bad;
  std::mutex bad_mu;
  std::vector<std::thread> putters;
  for (int t = 0; t < 3; ++t) {
    putters.emplace_back([&] {
      const std::vector<PutInput> batch = {{"a", "x", std::nullopt}, {"b", "y", std::nullopt}, {"c", "z", std::nullopt}};
      while (!stop.load()) {
        Status st;
        auto out = e->PutRecords("s", batch, &st);
        if (st.code() == Code::kNotFound) {
          not_found.fetch_add(1);
          continue;
        }
        for (const PutOutput& r : out) {
          if (st.ok() && r.status.ok()) {
            ok_records.fetch_add(1);
            continue;
          }
          if (bad.fetch_add(1) == 0) {
            std::lock_guard l(bad_mu);
            first_bad = st.ok() ? r.status.ToString() : st.ToString();
          }
        }
      }
    });
  }
  // Each round waits for a few stored records, so deletes land among puts in flight.
  for (int i = 0; i < 500; ++i) {
    const int before = ok_records.load();
    while (ok_records.load() < before + 3) std::this_thread::yield();
    ASSERT_TRUE(e->DeleteStream("s").ok());
    ASSERT_TRUE(e->CreateStream("s", 2).ok());
  }
  stop = true;
  for (auto& t : putters) t.join();
  EXPECT_EQ(bad.load(), 0) << "first: " << first_bad;
  EXPECT_GT(not_found.load() + ok_records.load(), 0);
}

}  // namespace
}  // namespace shoal
