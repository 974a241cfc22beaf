// The load generator's workloads against one Kinesis endpoint, each a phase with its own
// clients (one thread and one keep-alive connection per client):
//
//   PutRecords  `clients` closed-loop clients sending pre-built batches of `per_call`
//               records for `put_seconds` (or until `put_max_bytes` of data was accepted);
//   GetRecords  the stream read back from TRIM_HORIZON, shards shared among the clients,
//               `get_limit` records per call, checked against what PutRecords acknowledged
//               (every acknowledged record read back, per shard, in sequence order, none
//               extra; with verify_data every record's bytes too);
//   PutRecord   single records, closed loop, once per entry of putrecord_clients.
//
// Figures per phase: data bytes (record payload, keys excluded, like the embedded engine
// workload), calls, wire bytes, per-call latency (send to parsed answer), client and
// server CPU seconds. The stream must exist and be ACTIVE; it is not deleted here.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench/lib/latency_histogram.h"
#include "bench/loadgen/http_connection.h"
#include "bench/loadgen/kinesis_client.h"
#include "io/status.h"

namespace shoal::loadgen {

struct LoadConfig {
  std::string stream = "loadgen";
  int clients = 8;
  size_t record_bytes = 1024;
  int records_per_call = 500;
  int put_batches = 2;            // distinct pre-built PutRecords requests per client
  double put_seconds = 5;
  uint64_t put_max_bytes = 0;     // stop PutRecords once this much data was accepted (0: no bound)
  int get_limit = 10000;
  double putrecord_seconds = 3;
  std::vector<int> putrecord_clients = {8, 1};
  bool verify_data = false;       // decode and check every record GetRecords returns
  // Per phase: abort the connections if a phase runs this much past its plan (a hung
  // server must not hang the benchmark).
  double watchdog_slack_s = 120;
};

struct PhaseReport {
  std::string name;      // "put_records", "get_records", "put_record"
  int clients = 0;
  uint64_t calls = 0;
  uint64_t records = 0;
  uint64_t data_bytes = 0;
  uint64_t request_bytes = 0;
  uint64_t response_bytes = 0;
  double seconds = 0;
  bench::LatencyHistogram latency;  // per call, ns
  double client_cpu_s = 0;          // this process, all threads
  double server_cpu_s = -1;         // the server process (-1: unknown)
  double MegabytesPerSecond() const { return seconds > 0 ? static_cast<double>(data_bytes) / seconds / 1e6 : 0; }
  double CallsPerSecond() const { return seconds > 0 ? static_cast<double>(calls) / seconds : 0; }
};

struct ReadBack {
  uint64_t put = 0;   // records PutRecords acknowledged
  uint64_t read = 0;  // records GetRecords returned
  std::vector<uint64_t> put_per_shard, read_per_shard;
  bool complete() const { return put == read && put_per_shard == read_per_shard; }
};

struct ServerLoadReport {
  PhaseReport put_records;
  PhaseReport get_records;
  std::vector<PhaseReport> put_record;  // one per LoadConfig::putrecord_clients
  ReadBack read_back;
  uint64_t failed_records = 0;  // refused inside PutRecords answers (throttled, ...)
};

// Runs the three phases against `ep`. `server_cpu` (may be empty) returns the server's CPU
// seconds so far. Fails on the first transport or protocol error, and if the read-back
// does not match what was acknowledged.
Result<ServerLoadReport> RunServerLoad(const Endpoint& ep, const LoadConfig& config,
                                       const std::function<double()>& server_cpu,
                                       const std::function<void(const std::string&)>& progress);

// User + system CPU seconds of this process so far.
double ProcessCpuSeconds();

}  // namespace shoal::loadgen
