// The load generator's records and the pre-built requests that carry them.
//
// Record data is a pure function of (client, batch, index): a 16-byte header naming them,
// then filler derived from them, so a reader can tell a record that was put from anything
// else without keeping a copy (RecordDataIsKnown). Partition keys are 16 bytes, 64 per
// client, rotating through each batch like bench/lib/engine_workload's producers, so the
// records spread over every shard and the embedded-engine workload is the same one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "bench/loadgen/http_connection.h"

namespace shoal::loadgen {

constexpr int kKeysPerClient = 64;
constexpr size_t kRecordHeaderBytes = 16;

std::string RecordData(int client, int batch, int index, size_t bytes);
std::string PartitionKey(int client, int key);
// True if `data` is RecordData(c, b, i, data.size()) for the c, b, i its header names
// (records shorter than the header cannot be told apart and always pass).
bool RecordDataIsKnown(std::string_view data);

// `batches` complete PutRecords requests of `per_call` records each for `client`.
std::vector<std::string> BuildPutRecordsRequests(const Endpoint& ep, const std::string& stream, int client,
                                                 int batches, int per_call, size_t record_bytes);
// One complete PutRecord request per partition key of `client` (kKeysPerClient).
std::vector<std::string> BuildPutRecordRequests(const Endpoint& ep, const std::string& stream, int client,
                                                size_t record_bytes);

}  // namespace shoal::loadgen
