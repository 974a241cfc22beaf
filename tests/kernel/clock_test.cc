#include "kernel/clock.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace shoal {
namespace {

TEST(ManualClockTest, StartsWhereToldAndMovesOnlyWhenTold) {
  ManualClock clock(1700000000000);
  EXPECT_EQ(clock.NowMs(), 1700000000000);
  EXPECT_EQ(clock.NowMs(), 1700000000000);
  EXPECT_EQ(clock.AdvanceMs(250), 1700000000250);
  EXPECT_EQ(clock.NowMs(), 1700000000250);
  clock.SetMs(5);
  EXPECT_EQ(clock.NowMs(), 5);
  EXPECT_EQ(clock.AdvanceMs(-10), -5);  // may go backwards, like a corrected wall clock
  EXPECT_EQ(ManualClock().NowMs(), 0);
}

TEST(ManualClockTest, UsableThroughTheInterface) {
  ManualClock manual(42);
  const Clock& clock = manual;
  EXPECT_EQ(clock.NowMs(), 42);
  manual.AdvanceMs(1);
  EXPECT_EQ(clock.NowMs(), 43);
}

TEST(ManualClockTest, ConcurrentAdvancesAreNotLost) {
  ManualClock clock(0);
  constexpr int kThreads = 8;
  constexpr int kSteps = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kSteps; ++i) {
        clock.AdvanceMs(1);
        (void)clock.NowMs();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(clock.NowMs(), int64_t{kThreads} * kSteps);
}

TEST(SystemClockTest, ReportsWallClockMilliseconds) {
  Clock* clock = SystemClock::Default();
  EXPECT_EQ(clock, SystemClock::Default());
  const int64_t now = clock->NowMs();
  // Milliseconds since the epoch, not seconds or microseconds: after 2020-09-13
  // (1.6e12 ms) and before 2286 (1e13 ms).
  EXPECT_GT(now, int64_t{1'600'000'000'000});
  EXPECT_LT(now, int64_t{10'000'000'000'000});
}

}  // namespace
}  // namespace shoal
