#include "kernel/token_bucket.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace shoal {
namespace {

constexpr double kMinRate = 0.001;
constexpr double kMaxRate = 1e12;
constexpr double kMinCapacity = 1e-6;
constexpr double kMaxCapacity = 1e12;

}  // namespace

Status TokenBucket::ValidateOptions(const Options& o) {
  // Written as !(in range) so NaN fails too.
  if (!(o.rate_per_second >= kMinRate && o.rate_per_second <= kMaxRate)) {
    return Status::Make(Code::kInvalidArgument,
                        "token bucket rate {} per second is outside [{}, {}]", o.rate_per_second,
                        kMinRate, kMaxRate);
  }
  if (!(o.capacity >= kMinCapacity && o.capacity <= kMaxCapacity)) {
    return Status::Make(Code::kInvalidArgument, "token bucket capacity {} is outside [{}, {}]",
                        o.capacity, kMinCapacity, kMaxCapacity);
  }
  return Status::Ok();
}

namespace {
// Validates before any member is computed from the options (llround of a NaN rate is
// not something to build on).
const TokenBucket::Options& ValidOrDie(const TokenBucket::Options& options) {
  Status st = TokenBucket::ValidateOptions(options);
  if (!st.ok()) {
    fmt::print(stderr, "shoal: TokenBucket: {}\n", st.message());
    std::abort();
  }
  return options;
}
}  // namespace

TokenBucket::TokenBucket(const Clock* clock, const Options& options)
    : clock_(clock),
      // units/ms = tokens/s * units/token / (ms/s); >= 1 because rate >= 0.001.
      rate_units_per_ms_(std::llround(ValidOrDie(options).rate_per_second * kUnitsPerToken / 1000)),
      capacity_units_(std::llround(options.capacity * kUnitsPerToken)),
      tokens_units_(options.start_full ? capacity_units_ : 0),
      last_ms_(clock->NowMs()) {}

int64_t TokenBucket::UnitsFor(double n) const {
  if (!(n >= 0)) {
    assert(false && "TokenBucket: token count must be >= 0 and not NaN");
    return -1;
  }
  if (n > kMaxCapacity) return capacity_units_ + 1;  // also catches +infinity
  return static_cast<int64_t>(std::ceil(n * kUnitsPerToken));
}

void TokenBucket::RefillLocked() {
  const int64_t now = clock_->NowMs();
  if (now <= last_ms_) {
    // A wall clock stepped back: restart the interval from the new time rather than
    // wait (possibly hours) for the clock to catch up with last_ms_. The cost is at most
    // a refill the bucket would have had anyway, capped at `capacity`.
    last_ms_ = now;
    return;
  }
  const int64_t elapsed = now - last_ms_;
  last_ms_ = now;
  const int64_t room = capacity_units_ - tokens_units_;  // >= 0, < 2^63 by the bounds
  // Compare by division first: elapsed * rate can overflow after a long idle period.
  if (elapsed >= room / rate_units_per_ms_ + 1) {
    tokens_units_ = capacity_units_;
  } else {
    tokens_units_ += elapsed * rate_units_per_ms_;  // < room, so no overflow
  }
}

bool TokenBucket::TryTakeLocked(int64_t units) {
  if (units < 0 || units > tokens_units_) return false;
  tokens_units_ -= units;
  return true;
}

bool TokenBucket::TryTake(double n) {
  const int64_t units = UnitsFor(n);
  std::lock_guard<std::mutex> lock(mu_);
  RefillLocked();
  return TryTakeLocked(units);
}

TokenBucket::TakeResult TokenBucket::TryTakeOrWait(double n) {
  const int64_t units = UnitsFor(n);
  if (units < 0 || units > capacity_units_) return {false, kNeverMs};
  std::lock_guard<std::mutex> lock(mu_);
  RefillLocked();
  if (TryTakeLocked(units)) return {true, 0};
  const int64_t deficit = units - tokens_units_;  // > 0
  return {false, (deficit + rate_units_per_ms_ - 1) / rate_units_per_ms_};
}

void TokenBucket::Charge(double n) {
  const int64_t units = UnitsFor(n);
  if (units < 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  RefillLocked();
  tokens_units_ = tokens_units_ - kMinUnits < units ? kMinUnits : tokens_units_ - units;
}

bool TokenBucket::InDebt() {
  std::lock_guard<std::mutex> lock(mu_);
  RefillLocked();
  return tokens_units_ < 0;
}

double TokenBucket::Available() {
  std::lock_guard<std::mutex> lock(mu_);
  RefillLocked();
  return static_cast<double>(tokens_units_) / kUnitsPerToken;
}

bool TokenBucket::TryTakeBoth(TokenBucket& a, double na, TokenBucket& b, double nb) {
  if (&a == &b) return a.TryTake(na + nb);
  const int64_t ua = a.UnitsFor(na);
  const int64_t ub = b.UnitsFor(nb);
  // std::scoped_lock orders the two acquisitions so that concurrent calls with the
  // buckets swapped cannot deadlock.
  std::scoped_lock lock(a.mu_, b.mu_);
  a.RefillLocked();
  b.RefillLocked();
  if (ua < 0 || ub < 0 || ua > a.tokens_units_ || ub > b.tokens_units_) return false;
  a.tokens_units_ -= ua;
  b.tokens_units_ -= ub;
  return true;
}

}  // namespace shoal
