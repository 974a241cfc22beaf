// TokenBucket: a rate limiter refilled continuously from a Clock, and the Kinesis
// per-shard limits it emulates.
//
// Shoal can emulate Kinesis's provisioned-throughput limits per shard (spec
// resharding-and-limits.md §6.1, off by default): a write or read is admitted only if the
// shard's buckets hold enough tokens. A bucket holds at most `capacity` tokens (the
// burst) and gains `rate_per_second` tokens per second, computed from the elapsed Clock
// time whenever it is used; there is no timer thread.
//
// Cost: one uncontended mutex (user-space atomics, no system call) plus one
// Clock::NowMs() (vDSO for SystemClock) per call. Tokens are kept as integers in
// millionths of a token, so refill and wait arithmetic is exact: the result never
// depends on how often the bucket was polled, and a ManualClock test can check exact
// millisecond boundaries.
#pragma once

#include <cstdint>
#include <mutex>

#include "io/status.h"
#include "kernel/clock.h"

namespace shoal {

class TokenBucket {
 public:
  struct Options {
    // Tokens added per second; 0.001 <= rate <= 1e12 (kept to 1/1000 token per second).
    double rate_per_second = 0;
    // The most tokens the bucket holds: the burst. 1e-6 <= capacity <= 1e12.
    double capacity = 0;
    // Whether a new bucket starts with `capacity` tokens (a fresh shard may burst) or 0.
    bool start_full = true;
  };
  // kInvalidArgument if an option is out of its range (or NaN).
  static Status ValidateOptions(const Options& options);

  // Returned as wait_ms when the request can never be met (more than `capacity`).
  static constexpr int64_t kNeverMs = INT64_MAX;

  // `clock` must outlive the bucket. Requires ValidateOptions(options).ok() (aborts
  // otherwise: limits come from constants or from configuration validated at startup).
  TokenBucket(const Clock* clock, const Options& options);
  TokenBucket(const TokenBucket&) = delete;
  TokenBucket& operator=(const TokenBucket&) = delete;

  // All methods are thread-safe. `n` must be >= 0 and finite; anything else is never
  // granted (and asserts in debug builds).

  // Takes `n` tokens if the bucket holds at least `n`; otherwise takes nothing. A bucket
  // in debt (see Charge) grants nothing, not even n == 0.
  bool TryTake(double n);

  struct TakeResult {
    bool taken = false;
    // 0 if taken. Otherwise the milliseconds after which the bucket will hold `n` tokens
    // if nobody else takes any (a Retry-After hint), or kNeverMs if n > capacity.
    int64_t wait_ms = 0;
  };
  TakeResult TryTakeOrWait(double n);

  // Takes `n` tokens unconditionally, possibly driving the bucket negative. For costs
  // known only after the work is done: GetRecords checks !InDebt(), reads up to its own
  // 10 MiB cap, then charges the bytes it returned. A large read thus throttles the next
  // calls until the debt is repaid, which is how AWS behaves ("after a call that returned
  // 10 MiB, calls in the next 5 s are throttled", §6.1).
  void Charge(double n);

  // True if the bucket holds fewer than zero tokens (after refilling to now).
  bool InDebt();

  // Tokens held now (after refilling), in tokens; negative while in debt.
  double Available();

  // Takes `na` from `a` and `nb` from `b`, or nothing from either: a PutRecords entry
  // needs both a record token and its bytes, and a refused entry must not consume
  // either (§6.1). `a` and `b` may be the same bucket.
  static bool TryTakeBoth(TokenBucket& a, double na, TokenBucket& b, double nb);

 private:
  static constexpr int64_t kUnitsPerToken = 1'000'000;
  // Floor for debt, so that repeated Charge() calls cannot overflow.
  static constexpr int64_t kMinUnits = -(int64_t{1} << 62);

  // Tokens -> units, rounded up; -1 for a negative or NaN request, and capacity + 1 for
  // one too large to represent (such a request can never be granted).
  int64_t UnitsFor(double n) const;
  void RefillLocked();
  // Takes `units` if available; `units` comes from UnitsFor.
  bool TryTakeLocked(int64_t units);

  const Clock* const clock_;
  const int64_t rate_units_per_ms_;
  const int64_t capacity_units_;

  std::mutex mu_;
  int64_t tokens_units_;  // guarded by mu_; <= capacity_units_, >= kMinUnits
  int64_t last_ms_;       // guarded by mu_; clock time tokens_units_ was computed for
};

// The per-shard limits of a PROVISIONED stream (resharding-and-limits.md §6.1), as
// TokenBucket options. Shoal applies them only when throughput emulation is on.
struct KinesisLimits {
  static constexpr double kMiB = 1048576;

  // Writes (PutRecord, and each PutRecords entry): 1 MiB/s of data + partition key bytes
  // AND 1000 records/s per shard. Burst = one second's worth, per the spec's emulation
  // recipe (capacity 1 MiB / 1000), so the largest legal record (1 MiB) always fits.
  static constexpr double kWriteBytesPerSecond = 1 * kMiB;
  static constexpr double kWriteBytesBurst = 1 * kMiB;
  static constexpr double kWriteRecordsPerSecond = 1000;
  static constexpr double kWriteRecordsBurst = 1000;

  // GetRecords: 2 MiB/s and 5 calls/s per shard, shared by all polling consumers. Burst
  // 2 MiB; a single call may return up to kMaxGetRecordsBytes and is charged afterwards
  // (TokenBucket::Charge), leaving up to 8 MiB of debt, i.e. ~4 s of throttling.
  static constexpr double kReadBytesPerSecond = 2 * kMiB;
  static constexpr double kReadBytesBurst = 2 * kMiB;
  // The spec describes "5 calls per 1000 ms"; a bucket of 5 refilled at 5/s admits the
  // same long-run rate and bursts of 5, but spreads calls after a burst 200 ms apart.
  static constexpr double kReadCallsPerSecond = 5;
  static constexpr double kReadCallsBurst = 5;

  // GetShardIterator: 5 calls/s per open shard.
  static constexpr double kIteratorCallsPerSecond = 5;
  static constexpr double kIteratorCallsBurst = 5;

  // Caps of a single GetRecords response (§6.1 and §8): 10 MiB and 10000 records.
  static constexpr int64_t kMaxGetRecordsBytes = 10 * 1048576;
  static constexpr int64_t kMaxGetRecordsRecords = 10000;

  static constexpr TokenBucket::Options WriteBytes() {
    return {kWriteBytesPerSecond, kWriteBytesBurst};
  }
  static constexpr TokenBucket::Options WriteRecords() {
    return {kWriteRecordsPerSecond, kWriteRecordsBurst};
  }
  static constexpr TokenBucket::Options ReadBytes() {
    return {kReadBytesPerSecond, kReadBytesBurst};
  }
  static constexpr TokenBucket::Options ReadCalls() {
    return {kReadCallsPerSecond, kReadCallsBurst};
  }
  static constexpr TokenBucket::Options IteratorCalls() {
    return {kIteratorCallsPerSecond, kIteratorCallsBurst};
  }
};

}  // namespace shoal
