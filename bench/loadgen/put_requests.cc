#include "bench/loadgen/put_requests.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>

#include "bench/loadgen/base64.h"

namespace shoal::loadgen {
namespace {

// PutRecord requests use batch numbers from here on, so they never collide with batches.
constexpr int kPutRecordBatch = 9000;

void Fill(int client, int batch, int index, char* p, size_t n) {
  const uint32_t seed = static_cast<uint32_t>(client) * 7919u + static_cast<uint32_t>(batch) * 104729u +
                        static_cast<uint32_t>(index) * 31u;
  for (size_t j = 0; j < n; ++j) p[j] = static_cast<char>('a' + (seed + j * 31u) % 26u);
}

}  // namespace

std::string RecordData(int client, int batch, int index, size_t bytes) {
  std::string d(bytes, '\0');
  if (bytes < kRecordHeaderBytes) {
    Fill(client, batch, index, d.data(), bytes);
    return d;
  }
  // "c0003b0001i0042|" : 16 bytes.
  const std::string header = fmt::format("c{:04}b{:04}i{:04}|", client % 10000, batch % 10000, index % 10000);
  std::memcpy(d.data(), header.data(), kRecordHeaderBytes);
  Fill(client, batch, index, d.data() + kRecordHeaderBytes, bytes - kRecordHeaderBytes);
  return d;
}

bool RecordDataIsKnown(std::string_view data) {
  if (data.size() < kRecordHeaderBytes) return true;
  auto num = [&](size_t at, int* out) {
    auto [p, ec] = std::from_chars(data.data() + at, data.data() + at + 4, *out);
    return ec == std::errc() && p == data.data() + at + 4;
  };
  int c = 0, b = 0, i = 0;
  if (data[0] != 'c' || data[5] != 'b' || data[10] != 'i' || data[15] != '|' || !num(1, &c) || !num(6, &b) ||
      !num(11, &i))
    return false;
  return RecordData(c, b, i, data.size()) == data;
}

std::string PartitionKey(int client, int key) {
  std::string k = fmt::format("pk-{}-{}", client, key);
  k.resize(16, '_');
  return k;
}

std::vector<std::string> BuildPutRecordsRequests(const Endpoint& ep, const std::string& stream, int client,
                                                 int batches, int per_call, size_t record_bytes) {
  std::vector<std::string> out;
  for (int b = 0; b < batches; ++b) {
    std::string body = fmt::format("{{\"StreamName\":\"{}\",\"Records\":[", stream);
    body.reserve(body.size() + static_cast<size_t>(per_call) * (Base64Size(record_bytes) + 48));
    for (int i = 0; i < per_call; ++i) {
      body += i ? ",{\"Data\":\"" : "{\"Data\":\"";
      AppendBase64(RecordData(client, b, i, record_bytes), &body);
      body += "\",\"PartitionKey\":\"";
      body += PartitionKey(client, (b * per_call + i) % kKeysPerClient);
      body += "\"}";
    }
    body += "]}";
    out.push_back(BuildRequest(ep, "PutRecords", body));
  }
  return out;
}

std::vector<std::string> BuildPutRecordRequests(const Endpoint& ep, const std::string& stream, int client,
                                                size_t record_bytes) {
  std::vector<std::string> out;
  for (int k = 0; k < kKeysPerClient; ++k) {
    std::string body = fmt::format("{{\"StreamName\":\"{}\",\"Data\":\"", stream);
    AppendBase64(RecordData(client, kPutRecordBatch, k, record_bytes), &body);
    body += "\",\"PartitionKey\":\"" + PartitionKey(client, k) + "\"}";
    out.push_back(BuildRequest(ep, "PutRecord", body));
  }
  return out;
}

}  // namespace shoal::loadgen
