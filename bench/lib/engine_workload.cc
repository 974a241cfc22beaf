#include "bench/lib/engine_workload.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

namespace shoal::bench {
namespace {
volatile uint64_t engine_workload_sink_;
}  // namespace

uint64_t SteadyNowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

HashKey KeyInShard(int64_t shard_count, int64_t index) {
  HashKeyRange r = EvenSplitRange(shard_count, index);
  return HashKey{r.start.value + (r.end.value - r.start.value) / 2};
}

Result<EngineLoadReport> RunEngineLoad(Engine& engine, const EngineLoadConfig& c) {
  const int producers = std::max(1, c.producers);
  const size_t per_call = static_cast<size_t>(std::max(1, c.records_per_call));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> accepted_bytes{0};
  std::mutex mu;
  EngineLoadReport total;
  Status call_error;
  const uint64_t t0 = SteadyNowNs();
  const uint64_t deadline = c.seconds > 0 ? t0 + static_cast<uint64_t>(c.seconds * 1e9) : UINT64_MAX;

  auto producer = [&](int p) {
    EngineLoadReport mine;
    // Distinct keys per producer; 16 bytes like the shard-log workloads.
    std::vector<std::string> keys;
    for (int k = 0; k < 64; ++k) {
      std::string key = "pk-" + std::to_string(p) + "-" + std::to_string(k);
      key.resize(16, '_');
      keys.push_back(std::move(key));
    }
    std::string data(per_call * c.record_bytes, '\0');
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + (i * 31 + static_cast<size_t>(p)) % 26);
    std::vector<PutInput> recs(per_call);
    std::optional<HashKey> target;
    if (!c.target_keys.empty()) target = c.target_keys[static_cast<size_t>(p) % c.target_keys.size()];
    for (size_t i = 0; i < per_call; ++i) {
      recs[i].data = std::string_view(data.data() + i * c.record_bytes, c.record_bytes);
      recs[i].explicit_hash_key = target;
    }
    size_t key_cursor = 0;
    const double period_ns = c.calls_per_second > 0 ? 1e9 / c.calls_per_second : 0;
    uint64_t next_call = SteadyNowNs();
    while (!stop.load(std::memory_order_relaxed)) {
      if (c.stop && c.stop->load(std::memory_order_relaxed)) break;
      if (period_ns > 0) {
        uint64_t now = SteadyNowNs();
        if (now < next_call) std::this_thread::sleep_for(std::chrono::nanoseconds(next_call - now));
        next_call += static_cast<uint64_t>(period_ns);
      }
      for (size_t i = 0; i < per_call; ++i) recs[i].partition_key = keys[(key_cursor + i) % keys.size()];
      key_cursor += per_call;
      const uint64_t start = SteadyNowNs();
      if (start >= deadline) break;
      if (c.stamp_data && c.record_bytes >= 8)
        for (size_t i = 0; i < per_call; ++i) std::memcpy(data.data() + i * c.record_bytes, &start, 8);
      Status st;
      std::vector<PutOutput> out = engine.PutRecords(c.stream, recs, &st);
      const uint64_t end = SteadyNowNs();
      if (!st.ok()) {
        std::lock_guard lk(mu);
        if (call_error.ok()) call_error = st;
        stop.store(true);
        break;
      }
      CallEvent ev{start, end, 0, 0, 0, 0};
      for (size_t i = 0; i < out.size(); ++i) {
        if (out[i].status.ok()) {
          ++ev.accepted;
          ev.accepted_bytes += recs[i].data.size() + recs[i].partition_key.size();
          mine.data_bytes += recs[i].data.size();
          mine.key_bytes += recs[i].partition_key.size();
        } else if (out[i].status.code() == Code::kThrottled) {
          ++ev.throttled;
        } else {
          ++ev.failed;
          if (mine.first_error.empty()) mine.first_error = out[i].status.ToString();
        }
      }
      ++mine.calls;
      mine.records += ev.accepted;
      mine.throttled += ev.throttled;
      mine.failed += ev.failed;
      mine.latency.Record(end - start);
      if (c.record_calls) mine.events.push_back(ev);
      if (c.max_bytes > 0 &&
          accepted_bytes.fetch_add(ev.accepted_bytes, std::memory_order_relaxed) + ev.accepted_bytes >= c.max_bytes)
        stop.store(true);
      if (ev.throttled > 0 && c.throttled_sleep_ms > 0)
        std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(c.throttled_sleep_ms * 1000)));
    }
    std::lock_guard lk(mu);
    total.calls += mine.calls;
    total.records += mine.records;
    total.data_bytes += mine.data_bytes;
    total.key_bytes += mine.key_bytes;
    total.throttled += mine.throttled;
    total.failed += mine.failed;
    total.latency.Merge(mine.latency);
    total.events.insert(total.events.end(), mine.events.begin(), mine.events.end());
    if (total.first_error.empty()) total.first_error = mine.first_error;
  };
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) threads.emplace_back(producer, p);
  for (auto& t : threads) t.join();
  SHOAL_RETURN_IF_ERROR(call_error);
  total.seconds = static_cast<double>(SteadyNowNs() - t0) / 1e9;
  std::sort(total.events.begin(), total.events.end(),
            [](const CallEvent& a, const CallEvent& b) { return a.start_ns < b.start_ns; });
  return total;
}

Result<ScanReport> ScanShard(Engine& engine, std::string_view stream, uint32_t shard, size_t limit) {
  ScanReport r;
  const uint64_t t0 = SteadyNowNs();
  SHOAL_ASSIGN_OR_RETURN(ShardPosition pos,
                         engine.GetPosition(stream, shard, PositionType::kTrimHorizon, std::nullopt, std::nullopt));
  uint64_t sum = 0;
  for (;;) {
    SHOAL_ASSIGN_OR_RETURN(GetRecordsOutput out, engine.GetRecords(stream, pos, limit));
    ++r.calls;
    if (out.records.empty()) break;
    for (const ReadRecord& rec : out.records) {
      sum += static_cast<uint8_t>(rec.data.empty() ? 0 : rec.data[rec.data.size() / 2]);
      r.bytes += rec.data.size() + rec.partition_key.size();
    }
    r.records += out.records.size();
    if (!out.next) break;
    pos = *out.next;
  }
  engine_workload_sink_ = sum;
  r.seconds = static_cast<double>(SteadyNowNs() - t0) / 1e9;
  return r;
}

}  // namespace shoal::bench
