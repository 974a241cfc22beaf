// LatencyHistogram: log-linear buckets (16 per power of two, ~6% resolution) for
// nanosecond latencies. Recording is a few instructions and never allocates; one thread
// records, others may read after joining.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace shoal::bench {

class LatencyHistogram {
 public:
  void Record(uint64_t ns) {
    ++buckets_[Bucket(ns)];
    ++count_;
  }
  void Merge(const LatencyHistogram& o) {
    for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
    count_ += o.count_;
  }
  uint64_t count() const { return count_; }
  // Value at quantile q in [0, 1], in ns (the bucket's upper bound).
  double Quantile(double q) const {
    if (count_ == 0) return 0;
    uint64_t target = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= target) return static_cast<double>(UpperBound(i));
    }
    return static_cast<double>(UpperBound(buckets_.size() - 1));
  }

 private:
  static constexpr int kSub = 4;  // 2^4 sub-buckets per power of two
  static size_t Bucket(uint64_t v) {
    if (v < (1u << kSub)) return v;
    int msb = 63 - std::countl_zero(v);
    uint64_t sub = (v >> (msb - kSub)) & ((1u << kSub) - 1);
    return static_cast<size_t>((msb - kSub + 1) * (1 << kSub) + sub);
  }
  static uint64_t UpperBound(size_t b) {
    if (b < (1u << kSub)) return b;
    size_t msb = b / (1 << kSub) + kSub - 1;
    uint64_t sub = b % (1 << kSub);
    return ((uint64_t{1} << kSub) + sub + 1) << (msb - kSub);
  }
  std::array<uint64_t, 64 * (1 << kSub)> buckets_{};
  uint64_t count_ = 0;
};

}  // namespace shoal::bench
