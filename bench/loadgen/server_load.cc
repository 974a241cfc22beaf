#include "bench/loadgen/server_load.h"

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <thread>

#include "bench/loadgen/put_requests.h"

namespace shoal::loadgen {
namespace {

uint64_t NowNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// What a client thread sees of its phase.
struct PhaseClock {
  std::atomic<uint64_t> deadline_ns{UINT64_MAX};
  std::atomic<bool> stop{false};
  bool Over() const { return stop.load(std::memory_order_relaxed) || NowNs() >= deadline_ns.load(); }
};

// One client's part of a phase: set up (connect, build requests) before the clock starts,
// then run until the phase's clock says stop. Both return a Status; the first failure of
// any client stops the others and fails the phase.
struct ClientBody {
  std::function<Status(int client, KinesisClient& kc)> setup;
  std::function<Status(int client, KinesisClient& kc, PhaseReport& mine, const PhaseClock& clock)> run;
};

Result<PhaseReport> RunPhase(const Endpoint& ep, const std::string& name, int clients, double planned_s,
                             double slack_s, const ClientBody& body, const std::function<double()>& server_cpu) {
  PhaseReport total;
  total.name = name;
  total.clients = clients;
  PhaseClock clock;
  std::latch set_up(clients), go(1);
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  Status first_error;
  std::vector<std::unique_ptr<KinesisClient>> conns(static_cast<size_t>(clients));
  std::vector<PhaseReport> mine(static_cast<size_t>(clients));

  auto fail = [&](Status st) {
    std::lock_guard lk(mu);
    if (first_error.ok()) first_error = std::move(st);
    clock.stop.store(true);
  };
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto kc = KinesisClient::Connect(ep);
      Status st = kc.ok() ? Status::Ok() : kc.status();
      if (st.ok()) {
        conns[static_cast<size_t>(c)] = std::move(kc).value();
        if (body.setup) st = body.setup(c, *conns[static_cast<size_t>(c)]);
      }
      if (!st.ok()) fail(st);
      set_up.count_down();
      go.wait();
      if (st.ok() && !clock.stop.load()) {
        st = body.run(c, *conns[static_cast<size_t>(c)], mine[static_cast<size_t>(c)], clock);
        if (!st.ok()) fail(st);
      }
      std::lock_guard lk(mu);
      ++finished;
      cv.notify_all();
    });
  }
  set_up.wait();
  const double cpu0 = ProcessCpuSeconds();
  const double server0 = server_cpu ? server_cpu() : -1;
  const uint64_t t0 = NowNs();
  if (planned_s > 0) clock.deadline_ns.store(t0 + static_cast<uint64_t>(planned_s * 1e9));
  go.count_down();
  {
    std::unique_lock lk(mu);
    const auto limit = std::chrono::duration<double>(std::max(0.0, planned_s) + slack_s);
    if (!cv.wait_for(lk, limit, [&] { return finished == clients; })) {
      if (first_error.ok())
        first_error = Status::Make(Code::kIOError, "{}: no answer {} s after the phase's planned end; aborted", name,
                                   slack_s);
      clock.stop.store(true);
      for (auto& kc : conns)
        if (kc) kc->connection().Abort();
    }
  }
  for (auto& t : threads) t.join();
  const uint64_t t1 = NowNs();
  SHOAL_RETURN_IF_ERROR(first_error);
  total.seconds = static_cast<double>(t1 - t0) / 1e9;
  total.client_cpu_s = ProcessCpuSeconds() - cpu0;
  if (server_cpu) total.server_cpu_s = server_cpu() - server0;
  for (const PhaseReport& m : mine) {
    total.calls += m.calls;
    total.records += m.records;
    total.data_bytes += m.data_bytes;
    total.request_bytes += m.request_bytes;
    total.response_bytes += m.response_bytes;
    total.latency.Merge(m.latency);
  }
  return total;
}

}  // namespace

double ProcessCpuSeconds() {
  struct rusage ru;
  if (::getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  auto s = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

Result<ServerLoadReport> RunServerLoad(const Endpoint& ep, const LoadConfig& c, const std::function<double()>& server_cpu,
                                       const std::function<void(const std::string&)>& progress) {
  ServerLoadReport report;
  auto say = [&](const std::string& s) {
    if (progress) progress(s);
  };

  // --- PutRecords ---------------------------------------------------------------------
  std::vector<PutTally> tallies(static_cast<size_t>(c.clients));
  std::vector<std::vector<std::string>> batches(static_cast<size_t>(c.clients));
  std::atomic<uint64_t> accepted_bytes{0};
  say(fmt::format("PutRecords: {} clients x {} records of {} B, {} s", c.clients, c.records_per_call, c.record_bytes,
                  c.put_seconds));
  ClientBody put;
  put.setup = [&](int client, KinesisClient&) {
    batches[static_cast<size_t>(client)] =
        BuildPutRecordsRequests(ep, c.stream, client, c.put_batches, c.records_per_call, c.record_bytes);
    return Status::Ok();
  };
  put.run = [&](int client, KinesisClient& kc, PhaseReport& mine, const PhaseClock& clock) {
    const std::vector<std::string>& reqs = batches[static_cast<size_t>(client)];
    PutTally& tally = tallies[static_cast<size_t>(client)];
    for (size_t k = 0;; ++k) {
      if (clock.Over()) break;
      if (c.put_max_bytes > 0 && accepted_bytes.load(std::memory_order_relaxed) >= c.put_max_bytes) break;
      const std::string& req = reqs[k % reqs.size()];
      const uint64_t before = tally.accepted;
      uint64_t response_bytes = 0;
      const uint64_t start = NowNs();
      SHOAL_RETURN_IF_ERROR(kc.PutRecords(req, &tally, &response_bytes));
      mine.latency.Record(NowNs() - start);
      const uint64_t accepted = tally.accepted - before;
      ++mine.calls;
      mine.records += accepted;
      mine.data_bytes += accepted * c.record_bytes;
      mine.request_bytes += req.size();
      mine.response_bytes += response_bytes;
      accepted_bytes.fetch_add(accepted * c.record_bytes, std::memory_order_relaxed);
    }
    return Status::Ok();
  };
  const double put_planned = c.put_seconds > 0 ? c.put_seconds : 0;
  SHOAL_ASSIGN_OR_RETURN(report.put_records,
                         RunPhase(ep, "put_records", c.clients, put_planned, c.watchdog_slack_s, put, server_cpu));
  batches.clear();
  PutTally all;
  for (const PutTally& t : tallies) all.Merge(t);
  report.failed_records = all.failed;
  if (all.accepted == 0)
    return Status::Make(Code::kInternal, "PutRecords: no record accepted ({} refused; first: {})", all.failed,
                        all.first_error);

  // --- GetRecords: read everything back --------------------------------------------------
  SHOAL_ASSIGN_OR_RETURN(std::unique_ptr<KinesisClient> control, KinesisClient::Connect(ep));
  SHOAL_ASSIGN_OR_RETURN(std::vector<std::string> shard_ids, control->ListShardIds(c.stream));
  size_t max_index = 0;
  for (const std::string& id : shard_ids) {
    auto idx = ShardIndexOf(id);
    if (!idx) return Status::Make(Code::kInternal, "ListShards: unexpected ShardId {}", id);
    max_index = std::max<size_t>(max_index, *idx);
  }
  ReadBack& rb = report.read_back;
  rb.put = all.accepted;
  rb.put_per_shard.assign(std::max(max_index + 1, all.accepted_per_shard.size()), 0);
  std::copy(all.accepted_per_shard.begin(), all.accepted_per_shard.end(), rb.put_per_shard.begin());
  rb.read_per_shard.assign(rb.put_per_shard.size(), 0);
  const int readers = std::max(1, std::min<int>(c.clients, static_cast<int>(shard_ids.size())));
  RecordCheck check;
  check.record_bytes = c.record_bytes;
  if (c.verify_data) check.check_data = &RecordDataIsKnown;
  say(fmt::format("GetRecords: {} records in {} shards, {} clients, Limit {}", rb.put, shard_ids.size(), readers,
                  c.get_limit));
  ClientBody get;
  get.run = [&](int client, KinesisClient& kc, PhaseReport& mine, const PhaseClock& clock) -> Status {
    for (size_t s = static_cast<size_t>(client); s < shard_ids.size(); s += static_cast<size_t>(readers)) {
      const uint32_t idx = *ShardIndexOf(shard_ids[s]);
      const uint64_t expect = rb.put_per_shard[idx];
      uint64_t& got = rb.read_per_shard[idx];  // this thread alone writes this shard's slot
      SHOAL_ASSIGN_OR_RETURN(std::string it, kc.TrimHorizonIterator(c.stream, shard_ids[s]));
      std::string last_sequence;
      int empty_in_a_row = 0;
      while (!it.empty() && !clock.Over()) {
        uint64_t response_bytes = 0;
        const uint64_t start = NowNs();
        SHOAL_ASSIGN_OR_RETURN(GetRecordsPage page,
                               kc.GetRecords(it, c.get_limit, check, &last_sequence, &response_bytes));
        mine.latency.Record(NowNs() - start);
        ++mine.calls;
        mine.records += page.records;
        mine.data_bytes += page.data_bytes;
        mine.response_bytes += response_bytes;
        got += page.records;
        if (got > expect)
          return Status::Make(Code::kInternal, "GetRecords: {} returned {} records, {} were acknowledged",
                              shard_ids[s], got, expect);
        it = std::move(page.next_iterator);
        // Read to the acknowledged count, then one more call that must find nothing. An
        // empty page before that (with nothing left behind) ends the shard early: the
        // comparison below reports what is missing.
        if (page.records == 0 && (got == expect || page.millis_behind == 0 || ++empty_in_a_row >= 10)) break;
        if (page.records > 0) empty_in_a_row = 0;
      }
    }
    return Status::Ok();
  };
  const double get_budget = static_cast<double>(rb.put * c.record_bytes) / 10e6 + 60;  // 10 MB/s would be dismal
  SHOAL_ASSIGN_OR_RETURN(report.get_records,
                         RunPhase(ep, "get_records", readers, 0, get_budget + c.watchdog_slack_s, get, server_cpu));
  for (const std::string& id : shard_ids) {
    const uint32_t idx = *ShardIndexOf(id);
    rb.read += rb.read_per_shard[idx];
  }
  if (!rb.complete()) {
    std::string detail;
    for (size_t i = 0; i < rb.put_per_shard.size(); ++i)
      if (rb.put_per_shard[i] != rb.read_per_shard[i])
        detail += fmt::format(" shard {}: put {}, read {};", i, rb.put_per_shard[i], rb.read_per_shard[i]);
    return Status::Make(Code::kInternal, "read-back incomplete: {} records acknowledged, {} read back;{}", rb.put,
                        rb.read, detail);
  }

  // --- PutRecord ----------------------------------------------------------------------------
  for (int n : c.putrecord_clients) {
    if (n <= 0 || c.putrecord_seconds <= 0) continue;
    say(fmt::format("PutRecord: {} client(s), {} s", n, c.putrecord_seconds));
    std::vector<std::vector<std::string>> singles(static_cast<size_t>(n));
    ClientBody one;
    one.setup = [&](int client, KinesisClient&) {
      singles[static_cast<size_t>(client)] = BuildPutRecordRequests(ep, c.stream, client, c.record_bytes);
      return Status::Ok();
    };
    one.run = [&](int client, KinesisClient& kc, PhaseReport& mine, const PhaseClock& clock) {
      const std::vector<std::string>& reqs = singles[static_cast<size_t>(client)];
      for (size_t k = 0; !clock.Over(); ++k) {
        const std::string& req = reqs[k % reqs.size()];
        uint64_t response_bytes = 0;
        const uint64_t start = NowNs();
        SHOAL_RETURN_IF_ERROR(kc.PutRecord(req, &response_bytes));
        mine.latency.Record(NowNs() - start);
        ++mine.calls;
        ++mine.records;
        mine.data_bytes += c.record_bytes;
        mine.request_bytes += req.size();
        mine.response_bytes += response_bytes;
      }
      return Status::Ok();
    };
    SHOAL_ASSIGN_OR_RETURN(PhaseReport r,
                           RunPhase(ep, "put_record", n, c.putrecord_seconds, c.watchdog_slack_s, one, server_cpu));
    report.put_record.push_back(std::move(r));
  }
  return report;
}

}  // namespace shoal::loadgen
