#include "bench/lib/append_workload.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/lib/latency_histogram.h"
#include "kernel/log_writer.h"
#include "kernel/shard_log.h"

namespace shoal::bench {
namespace {

using Clock = std::chrono::steady_clock;

inline uint64_t NowNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}

// One in-flight append. Completions run on the writer thread, which owns `hist`.
struct Slot final : AppendCompletion {
  std::atomic<bool> busy{false};
  uint64_t t0 = 0;
  uint64_t bytes = 0;
  uint32_t records = 0;
  LatencyHistogram* hist = nullptr;
  std::atomic<uint64_t>* acked_bytes = nullptr;
  std::atomic<uint64_t>* acked_records = nullptr;
  std::atomic<uint64_t>* errors = nullptr;
  void OnAppended(const AppendResult& r) override {
    if (r.status.ok()) {
      hist->Record(NowNs() - t0);
      acked_bytes->fetch_add(bytes, std::memory_order_relaxed);
      acked_records->fetch_add(records, std::memory_order_relaxed);
    } else {
      errors->fetch_add(1, std::memory_order_relaxed);
    }
    busy.store(false, std::memory_order_release);
  }
};

}  // namespace

Result<AppendReport> RunAppendWorkload(const AppendConfig& c) {
  std::error_code ec;
  std::filesystem::remove_all(c.dir, ec);
  std::filesystem::create_directories(c.dir, ec);
  SHOAL_ASSIGN_OR_RETURN(std::shared_ptr<LogWriter> writer, LogWriter::Create());
  std::vector<std::unique_ptr<ShardLog>> logs;
  for (int s = 0; s < c.shards; ++s) {
    SHOAL_ASSIGN_OR_RETURN(auto log, ShardLog::Open(c.dir + "/shard-" + std::to_string(s), c.log, writer));
    logs.push_back(std::move(log));
  }
  writer->DrainBackground();  // spares created before the clock starts

  LatencyHistogram hist;  // written only by the writer thread (completions)
  std::atomic<uint64_t> acked_bytes{0}, acked_records{0}, errors{0};
  const uint64_t call_bytes = c.record_bytes * static_cast<uint64_t>(c.records_per_call);
  const uint64_t calls_total = std::max<uint64_t>(1, c.total_bytes / call_bytes);
  std::atomic<uint64_t> calls_issued{0};
  std::atomic<bool> stop{false};
  const uint64_t t_start = NowNs();
  const uint64_t deadline = t_start + static_cast<uint64_t>(c.max_seconds * 1e9);

  auto producer = [&](int p) {
    std::string data(c.record_bytes, 'x');
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + (i * 31 + p) % 26);
    std::string key = "partition-key-" + std::to_string(p % 100);
    key.resize(16, '_');
    std::vector<RecordIn> recs(static_cast<size_t>(c.records_per_call), RecordIn{key, data, 0});
    std::vector<Slot> slots(c.inflight_per_producer);
    for (Slot& s : slots) {
      s.hist = &hist;
      s.acked_bytes = &acked_bytes;
      s.acked_records = &acked_records;
      s.errors = &errors;
      s.bytes = call_bytes;
      s.records = static_cast<uint32_t>(c.records_per_call);
    }
    size_t next_slot = 0;
    int shard = p % c.shards;
    while (!stop.load(std::memory_order_relaxed)) {
      if (calls_issued.fetch_add(1, std::memory_order_relaxed) >= calls_total) break;
      Slot& s = slots[next_slot];
      next_slot = (next_slot + 1) % slots.size();
      while (s.busy.load(std::memory_order_acquire)) std::this_thread::yield();
      s.busy.store(true, std::memory_order_relaxed);
      s.t0 = NowNs();
      const int64_t ts = static_cast<int64_t>(s.t0 / 1000000);
      for (RecordIn& r : recs) r.ts_ms = ts;
      logs[static_cast<size_t>(shard)]->Append(recs, &s);
      shard += c.producers;
      if (shard >= c.shards) shard = p % c.shards;
      if ((next_slot & 63) == 0 && NowNs() > deadline) stop.store(true);
    }
    for (Slot& s : slots)
      while (s.busy.load(std::memory_order_acquire)) std::this_thread::yield();
  };
  std::vector<std::thread> threads;
  for (int p = 0; p < c.producers; ++p) threads.emplace_back(producer, p);
  for (auto& t : threads) t.join();
  const uint64_t t_end = NowNs();

  AppendReport r;
  r.seconds = static_cast<double>(t_end - t_start) / 1e9;
  r.records = acked_records.load();
  r.bytes = acked_bytes.load();
  r.mb_per_s = static_cast<double>(r.bytes) / r.seconds / 1e6;
  r.records_per_s = static_cast<double>(r.records) / r.seconds;
  r.p50_us = hist.Quantile(0.50) / 1e3;
  r.p99_us = hist.Quantile(0.99) / 1e3;
  r.p999_us = hist.Quantile(0.999) / 1e3;
  WriterStats ws = writer->stats();
  r.fsyncs = ws.fsyncs;
  r.rounds = ws.rounds;
  r.bytes_per_fsync = ws.fsyncs ? static_cast<double>(ws.bytes) / static_cast<double>(ws.fsyncs) : 0;
  for (auto& log : logs) {
    LogStats st = log->stats();
    r.rolls += st.rolls;
    r.inline_creates += st.inline_creates;
  }
  for (auto& log : logs) SHOAL_RETURN_IF_ERROR(log->Close());
  if (errors.load() != 0)
    return Status::Make(Code::kInternal, "{} appends failed during the workload", errors.load());
  logs.clear();
  std::filesystem::remove_all(c.dir, ec);
  return r;
}

}  // namespace shoal::bench
