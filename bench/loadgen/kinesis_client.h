// KinesisClient: the few Kinesis calls a load generator makes, over one HttpConnection,
// with the responses parsed by simdjson (reusing one parser per client). Control-plane
// calls build their request each time; the hot calls (PutRecords, PutRecord) send
// pre-built requests (put_requests.h) and only parse what they must to count and check.
//
// A call fails (Status) when the transport fails, the server answers other than 200, or
// the answer does not have the shape the API promises. Per-record failures inside a 200
// PutRecords answer are counted, not errors.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/loadgen/http_connection.h"
#include "io/status.h"

namespace shoal::loadgen {

// What PutRecords answers, tallied: accepted records by shard index, refusals.
struct PutTally {
  std::vector<uint64_t> accepted_per_shard;  // grows to the highest shard index seen
  uint64_t accepted = 0;
  uint64_t failed = 0;
  std::string first_error;  // "ErrorCode: ErrorMessage" of the first refused record
  void Merge(const PutTally& o);
};

// One GetRecords page, summarised.
struct GetRecordsPage {
  uint64_t records = 0;
  uint64_t data_bytes = 0;   // decoded size of every Data
  std::string next_iterator;  // "" once the shard is closed and read to its end
  int64_t millis_behind = 0;
};

// How GetRecords checks the records it reads: every Data must decode to `record_bytes`
// bytes (0: any size), sequence numbers must increase (across pages, via `last_sequence`),
// and `check_data` (if set) sees every decoded record and returns false to flag it.
struct RecordCheck {
  size_t record_bytes = 0;
  bool (*check_data)(std::string_view data) = nullptr;
};

class KinesisClient {
 public:
  static Result<std::unique_ptr<KinesisClient>> Connect(const Endpoint& ep);
  ~KinesisClient();

  const Endpoint& endpoint() const { return ep_; }
  HttpConnection& connection() { return *conn_; }

  // Any operation: the 200 response's body (valid until the next call), else an error
  // naming the operation, status and the error type and message the server sent.
  Result<std::string_view> Call(std::string_view operation, std::string_view json_body);

  Status CreateStream(const std::string& stream, int shards);
  // Polls DescribeStreamSummary until the stream is ACTIVE.
  Status WaitActive(const std::string& stream, double timeout_s);
  Status DeleteStream(const std::string& stream);
  // ShardIds of the stream's shards (ListShards, every page).
  Result<std::vector<std::string>> ListShardIds(const std::string& stream);
  Result<std::string> TrimHorizonIterator(const std::string& stream, const std::string& shard_id);

  // Sends a pre-built PutRecords request and tallies its answer into `tally`.
  // `response_bytes` gets the response's size on the wire.
  Status PutRecords(std::string_view request, PutTally* tally, uint64_t* response_bytes);
  // Sends a pre-built PutRecord request; checks the answer names a shard and a sequence
  // number. A refusal (throttling, say) is an error here: PutRecord has no partial success.
  Status PutRecord(std::string_view request, uint64_t* response_bytes);
  // One GetRecords call of at most `limit` records. `last_sequence` carries the last
  // sequence number seen on this shard from page to page.
  Result<GetRecordsPage> GetRecords(std::string_view iterator, int limit, const RecordCheck& check,
                                    std::string* last_sequence, uint64_t* response_bytes);

 private:
  struct Parser;
  KinesisClient(Endpoint ep, std::unique_ptr<HttpConnection> conn);
  Status Failure(std::string_view operation, const HttpReply& reply) const;
  Endpoint ep_;
  std::unique_ptr<HttpConnection> conn_;
  std::unique_ptr<Parser> parser_;
  std::string scratch_;  // decoded record data, request text
};

// "shardId-000000000007" -> 7.
std::optional<uint32_t> ShardIndexOf(std::string_view shard_id);
// True if decimal sequence number a < b (no leading zeros, as Kinesis prints them).
bool SequenceLess(std::string_view a, std::string_view b);

}  // namespace shoal::loadgen
