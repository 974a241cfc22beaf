#include "kernel/token_bucket.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace shoal {
namespace {

constexpr int64_t kStart = 1700000000000;
constexpr double kMiB = 1048576;

TokenBucket::Options Opts(double rate, double capacity, bool start_full = true) {
  TokenBucket::Options o;
  o.rate_per_second = rate;
  o.capacity = capacity;
  o.start_full = start_full;
  return o;
}

TEST(TokenBucketTest, StartsFullAndGrantsTheBurst) {
  ManualClock clock(kStart);
  TokenBucket b(&clock, Opts(5, 5));
  EXPECT_EQ(b.Available(), 5);
  EXPECT_TRUE(b.TryTake(3));
  EXPECT_TRUE(b.TryTake(2));
  EXPECT_FALSE(b.TryTake(1));
  EXPECT_TRUE(b.TryTake(0));
  EXPECT_EQ(b.Available(), 0);
}

TEST(TokenBucketTest, CanStartEmpty) {
  ManualClock clock(kStart);
  TokenBucket b(&clock, Opts(5, 5, /*start_full=*/false));
  EXPECT_FALSE(b.TryTake(1));
  clock.AdvanceMs(200);
  EXPECT_TRUE(b.TryTake(1));
}

TEST(TokenBucketTest, RefillsAtExactlyTheRate) {
  ManualClock clock(kStart);
  TokenBucket b(&clock, Opts(5, 5));
  ASSERT_TRUE(b.TryTake(5));
  clock.AdvanceMs(199);
  EXPECT_FALSE(b.TryTake(1));  // 0.995 tokens
  clock.AdvanceMs(1);
  EXPECT_TRUE(b.TryTake(1));  // 1.000
  EXPECT_FALSE(b.TryTake(1));
  clock.AdvanceMs(600);
  EXPECT_TRUE(b.TryTake(3));
  EXPECT_EQ(b.Available(), 0);
}

TEST(TokenBucketTest, NeverHoldsMoreThanCapacity) {
  ManualClock clock(kStart);
  TokenBucket b(&clock, Opts(1000, 1000));
  clock.AdvanceMs(3'600'000);
  EXPECT_EQ(b.Available(), 1000);
  EXPECT_FALSE(b.TryTake(1000.5));
  EXPECT_TRUE(b.TryTake(1000));
}

TEST(TokenBucketTest, ResultDoesNotDependOnHowOftenItIsPolled) {
  // 3 tokens per second is not a binary fraction per millisecond; polling every
  // millisecond must give the same answer as looking once.
  ManualClock clock_a(kStart), clock_b(kStart);
  TokenBucket polled(&clock_a, Opts(3, 3, false));
  TokenBucket idle(&clock_b, Opts(3, 3, false));
  for (int ms = 1; ms <= 334; ++ms) {
    clock_a.AdvanceMs(1);
    EXPECT_EQ(polled.Available() >= 1, ms >= 334) << ms;
  }
  clock_b.AdvanceMs(333);
  EXPECT_FALSE(idle.TryTake(1));
  clock_b.AdvanceMs(1);
  EXPECT_TRUE(idle.TryTake(1));
  EXPECT_TRUE(polled.TryTake(1));
  EXPECT_EQ(polled.Available(), idle.Available());
}

TEST(TokenBucketTest, FractionalTokens) {
  ManualClock clock(kStart);
  TokenBucket b(&clock, Opts(1, 1));
  EXPECT_TRUE(b.TryTake(0.5));
  EXPECT_TRUE(b.TryTake(0.5));
  EXPECT_FALSE(b.TryTake(0.5));
  clock.AdvanceMs(500);
  EXPECT_TRUE(b.TryTake(0.5));
}

TEST(TokenBucketTest, WaitIsExactAndSufficient) {
  ManualClock clock(kStart);
  TokenBucket b(&clock, Opts(5, 5));
  ASSERT_TRUE(b.TryTake(5));
  TokenBucket::TakeResult r = b.TryTakeOrWait(2);
  EXPECT_FALSE(r.taken);
  EXPECT_EQ(r.wait_ms, 400);
  EXPECT_EQ(b.Available(), 0);  // a refused take consumes nothing
  clock.AdvanceMs(r.wait_ms - 1);
  EXPECT_FALSE(b.TryTakeOrWait(2).taken);
  EXPECT_EQ(b.TryTakeOrWait(2).wait_ms, 1);
  clock.AdvanceMs(1);
  r = b.TryTakeOrWait(2);
  EXPECT_TRUE(r.taken);
  EXPECT_EQ(r.wait_ms, 0);
}

TEST(TokenBucketTest, WaitRoundsUpForUnevenRates) {
  ManualClock clock(kStart);
  TokenBucket b(&clock, Opts(3, 3, false));
  TokenBucket::TakeResult r = b.TryTakeOrWait(1);
  ASSERT_FALSE(r.taken);
  EXPECT_EQ(r.wait_ms, 334);  // 333.33 ms rounded up
  clock.AdvanceMs(r.wait_ms);
  EXPECT_TRUE(b.TryTake(1));
}

TEST(TokenBucketTest, MoreThanCapacityIsNeverGranted) {
  ManualClock clock(kStart);
  TokenBucket b(&clock, Opts(5, 5));
  TokenBucket::TakeResult r = b.TryTakeOrWait(6);
  EXPECT_FALSE(r.taken);
  EXPECT_EQ(r.wait_ms, TokenBucket::kNeverMs);
  EXPECT_FALSE(b.TryTake(std::numeric_limits<double>::infinity()));
  EXPECT_FALSE(b.TryTake(1e300));
  EXPECT_EQ(b.Available(), 5);
}

TEST(TokenBucketTest, ChargeDrivesIntoDebtAndBlocksUntilRepaid) {
  // The GetRecords pattern: a 10 MiB read against a 2 MiB/s bucket leaves 8 MiB of debt,
  // repaid in exactly 4 s.
  ManualClock clock(kStart);
  TokenBucket b(&clock, KinesisLimits::ReadBytes());
  ASSERT_FALSE(b.InDebt());
  b.Charge(static_cast<double>(KinesisLimits::kMaxGetRecordsBytes));
  EXPECT_TRUE(b.InDebt());
  EXPECT_EQ(b.Available(), -8 * kMiB);
  EXPECT_FALSE(b.TryTake(0));                   // while in debt, nothing is granted
  EXPECT_EQ(b.TryTakeOrWait(0).wait_ms, 4000);  // until the debt is repaid
  EXPECT_EQ(b.TryTakeOrWait(1).wait_ms, 4001);  // plus 1/2097152 s for one more byte
  clock.AdvanceMs(3999);
  EXPECT_TRUE(b.InDebt());
  clock.AdvanceMs(1);
  EXPECT_FALSE(b.InDebt());
  EXPECT_EQ(b.Available(), 0);
}

TEST(TokenBucketTest, DebtIsBounded) {
  ManualClock clock(kStart);
  TokenBucket b(&clock, Opts(1, 1));
  for (int i = 0; i < 100; ++i) b.Charge(1e12);
  EXPECT_TRUE(b.InDebt());
  EXPECT_TRUE(std::isfinite(b.Available()));
  EXPECT_LT(b.Available(), -1e12);
  // A very long idle period repays it without overflowing.
  clock.AdvanceMs(int64_t{1} << 62);
  EXPECT_EQ(b.Available(), 1);
}

TEST(TokenBucketTest, ClockSteppingBackDoesNotStallTheBucket) {
  ManualClock clock(kStart);
  TokenBucket b(&clock, Opts(5, 5));
  ASSERT_TRUE(b.TryTake(5));
  clock.AdvanceMs(-3'600'000);  // wall clock corrected by an hour
  EXPECT_FALSE(b.TryTake(1));   // no tokens appear from going back
  clock.AdvanceMs(200);         // refills from the new time, not an hour later
  EXPECT_TRUE(b.TryTake(1));
}

TEST(TokenBucketTest, HugeJumpFillsWithoutOverflow) {
  ManualClock clock(0);
  TokenBucket b(&clock, Opts(1e12, 1e12, false));
  clock.SetMs(std::numeric_limits<int64_t>::max());
  EXPECT_EQ(b.Available(), 1e12);
}

TEST(TokenBucketTest, TryTakeBothIsAllOrNothing) {
  ManualClock clock(kStart);
  TokenBucket bytes(&clock, KinesisLimits::WriteBytes());
  TokenBucket records(&clock, KinesisLimits::WriteRecords());
  // 1000 small records drain the record bucket first.
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(TokenBucket::TryTakeBoth(bytes, 100, records, 1));
  const double bytes_left = bytes.Available();
  EXPECT_EQ(bytes_left, kMiB - 100000);
  EXPECT_FALSE(TokenBucket::TryTakeBoth(bytes, 100, records, 1));
  EXPECT_EQ(bytes.Available(), bytes_left);  // the refused entry took no bytes
  clock.AdvanceMs(1);                        // +1 record, +1048.576 bytes
  EXPECT_FALSE(TokenBucket::TryTakeBoth(bytes, 2 * kMiB, records, 1));
  EXPECT_EQ(records.Available(), 1);  // the refused entry took no record token
  EXPECT_TRUE(TokenBucket::TryTakeBoth(bytes, 100, records, 1));
}

TEST(TokenBucketTest, TryTakeBothWithTheSameBucket) {
  ManualClock clock(kStart);
  TokenBucket b(&clock, Opts(5, 5));
  EXPECT_TRUE(TokenBucket::TryTakeBoth(b, 2, b, 3));
  EXPECT_FALSE(TokenBucket::TryTakeBoth(b, 0.5, b, 0.5));
}

TEST(TokenBucketTest, ConcurrentTakersNeverOverdraw) {
  // The clock does not move, so exactly `capacity` single-token takes succeed in total,
  // whatever the interleaving.
  ManualClock clock(kStart);
  TokenBucket b(&clock, Opts(1, 10000));
  TokenBucket other(&clock, Opts(1, 10000));
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        bool ok = (t % 2) ? b.TryTake(1)
                          : (t % 4 == 0 ? TokenBucket::TryTakeBoth(b, 1, other, 0)
                                        : TokenBucket::TryTakeBoth(other, 0, b, 1));
        if (ok) granted.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(granted.load(), 10000);
  EXPECT_EQ(b.Available(), 0);
}

TEST(TokenBucketTest, ValidateOptions) {
  EXPECT_TRUE(TokenBucket::ValidateOptions(Opts(5, 5)).ok());
  EXPECT_TRUE(TokenBucket::ValidateOptions(Opts(0.001, 1e-6)).ok());
  for (const TokenBucket::Options& o :
       {Opts(0, 5), Opts(-1, 5), Opts(NAN, 5), Opts(INFINITY, 5), Opts(5, 0), Opts(5, -1),
        Opts(5, NAN), Opts(5, 1e13), Opts(1e13, 5)}) {
    Status st = TokenBucket::ValidateOptions(o);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << o.rate_per_second << " " << o.capacity;
  }
}

TEST(TokenBucketDeathTest, InvalidOptionsAbort) {
  ManualClock clock(kStart);
  EXPECT_DEATH(TokenBucket(&clock, Opts(0, 5)), "rate");
}

TEST(TokenBucketDeathTest, NegativeOrNanRequestsAreRefused) {
#ifdef NDEBUG
  ManualClock clock(kStart);
  TokenBucket b(&clock, Opts(5, 5));
  EXPECT_FALSE(b.TryTake(-1));
  EXPECT_FALSE(b.TryTake(NAN));
  EXPECT_EQ(b.TryTakeOrWait(-1).wait_ms, TokenBucket::kNeverMs);
  b.Charge(-100);  // ignored, does not add tokens
  EXPECT_EQ(b.Available(), 5);
#else
  ManualClock clock(kStart);
  TokenBucket b(&clock, Opts(5, 5));
  EXPECT_DEATH((void)b.TryTake(-1), "");
#endif
}

TEST(KinesisLimitsTest, SpecValues) {
  // resharding-and-limits.md §6.1.
  EXPECT_EQ(KinesisLimits::kWriteBytesPerSecond, 1048576);
  EXPECT_EQ(KinesisLimits::kWriteRecordsPerSecond, 1000);
  EXPECT_EQ(KinesisLimits::kReadBytesPerSecond, 2 * 1048576);
  EXPECT_EQ(KinesisLimits::kReadCallsPerSecond, 5);
  EXPECT_EQ(KinesisLimits::kIteratorCallsPerSecond, 5);
  EXPECT_EQ(KinesisLimits::kMaxGetRecordsBytes, 10 * 1048576);
  EXPECT_EQ(KinesisLimits::kMaxGetRecordsRecords, 10000);
  for (const TokenBucket::Options& o :
       {KinesisLimits::WriteBytes(), KinesisLimits::WriteRecords(), KinesisLimits::ReadBytes(),
        KinesisLimits::ReadCalls(), KinesisLimits::IteratorCalls()}) {
    EXPECT_TRUE(TokenBucket::ValidateOptions(o).ok());
  }
}

TEST(KinesisLimitsTest, FiveReadCallsThenOneEvery200Ms) {
  ManualClock clock(kStart);
  TokenBucket calls(&clock, KinesisLimits::ReadCalls());
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(calls.TryTake(1)) << i;
  EXPECT_FALSE(calls.TryTake(1));
  EXPECT_EQ(calls.TryTakeOrWait(1).wait_ms, 200);
  clock.AdvanceMs(200);
  EXPECT_TRUE(calls.TryTake(1));
}

TEST(KinesisLimitsTest, LargestRecordFitsTheWriteBurst) {
  ManualClock clock(kStart);
  TokenBucket bytes(&clock, KinesisLimits::WriteBytes());
  EXPECT_TRUE(bytes.TryTake(kMiB));
  EXPECT_EQ(bytes.TryTakeOrWait(kMiB).wait_ms, 1000);
}

}  // namespace
}  // namespace shoal
