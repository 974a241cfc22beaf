// shoal-fuzz-seeds: writes the seed corpora of the fuzz targets, real inputs made by
// Shoal's own code: shard logs written by ShardLog (closed, crashed, torn, trimmed,
// sealed, O_DIRECT), their frames, indexes and log.meta; catalogs written by the engine;
// sequence numbers, hash keys, stream names, tokens; and request scripts for every
// operation of the spec (kinesis-data-streams.md) for the service and HTTP targets.
//
//   shoal-fuzz-seeds OUT_DIR      writes OUT_DIR/<target>/seed-<what>, replacing files of
//                                 the same name
//
// tests/fuzz/corpus/ is its committed output (scripts/fuzz --seeds regenerates it). Logs
// carry wall-clock timestamps and random stream ids, so a rerun changes some bytes, not
// the shapes.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "api/tokens.h"
#include "io/file_system.h"
#include "kernel/engine.h"
#include "kernel/format.h"
#include "kernel/log_writer.h"
#include "kernel/sequence_number.h"
#include "kernel/shard_log.h"
#include "tests/fuzz/support/engine_fuzz_options.h"
#include "tests/fuzz/support/file_bundle.h"
#include "tests/fuzz/support/log_fuzz_options.h"

namespace shoal::fuzz {
namespace {

namespace fs = std::filesystem;
namespace f = shoal::format;

[[noreturn]] void Die(const std::string& msg) {
  fmt::print(stderr, "shoal-fuzz-seeds: {}\n", msg);
  std::exit(1);
}

void Check(const Status& st, const std::string& what) {
  if (!st.ok()) Die(what + ": " + st.ToString());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class Out {
 public:
  explicit Out(std::string root) : root_(std::move(root)) {}
  void Write(const std::string& target, const std::string& name, std::string_view bytes) {
    fs::create_directories(root_ + "/" + target);
    std::ofstream out(root_ + "/" + target + "/seed-" + name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) Die("cannot write " + target + "/" + name);
    ++files_;
  }
  size_t files() const { return files_; }

 private:
  std::string root_;
  size_t files_ = 0;
};

// ---- shard logs ---------------------------------------------------------------------------

struct LogShape {
  std::string name;
  uint8_t opts;         // LogFuzzOptions bits
  int records;          // appended in batches of up to 7
  size_t data_bytes;    // per record (varied a little)
  enum End { kClose, kCrash, kTorn, kTrim, kSeal, kNoIndex } end;
};

// The end of the last frame that checks out, from the first frame on.
uint64_t FramesEnd(const std::string& seg) {
  const auto* p = reinterpret_cast<const uint8_t*>(seg.data());
  uint64_t pos = f::kSegmentHeaderSize;
  while (pos < seg.size()) {
    f::FrameInfo fi;
    if (f::CheckFrame(p + pos, seg.size() - pos, true, &fi) != f::FrameCheck::kOk) break;
    pos += fi.len;
  }
  return pos;
}

// Packs a log directory into a bundle: segments lose their zero tail (flagged instead).
std::string PackLog(const std::string& dir, std::vector<std::string>* frames, std::vector<std::string>* indexes,
                    std::string* meta) {
  std::vector<BundleFile> files;
  std::vector<fs::path> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path());
  std::sort(names.begin(), names.end());
  for (const fs::path& p : names) {
    const std::string name = p.filename().string();
    std::string bytes = ReadFile(p.string());
    BundleFile b;
    uint64_t ord = 0;
    if (name == "log.meta") {
      b.kind = BundleFile::kMeta;
      *meta = bytes;
    } else if (name == "CLEAN") {
      b.kind = BundleFile::kClean;
      indexes->push_back(bytes);
    } else if (f::ParseSegmentFileName(name, &ord)) {
      b.kind = BundleFile::kSegment;
      b.ordinal = static_cast<uint8_t>(ord);
      const uint64_t end = FramesEnd(bytes);
      size_t keep = bytes.size();
      while (keep > end && bytes[keep - 1] == '\0') --keep;
      if (keep < bytes.size()) b.flags |= BundleFile::kZeroTail;
      // Frames for the frame target.
      for (uint64_t pos = f::kSegmentHeaderSize; pos < end && frames->size() < 64;) {
        uint32_t len = f::Load32(reinterpret_cast<const uint8_t*>(bytes.data()) + pos);
        frames->push_back(bytes.substr(pos, len));
        pos += len;
      }
      bytes.resize(keep);
    } else if (name.size() == 16 && name.ends_with(".idx")) {
      b.kind = BundleFile::kIndex;
      b.ordinal = static_cast<uint8_t>(std::stoul(name.substr(0, 12)));
      indexes->push_back(bytes);
    } else {
      Die("unexpected file " + p.string());
    }
    if (bytes.size() > BundleFile::kMaxContent) Die(p.string() + " is too big for a bundle");
    b.content = std::move(bytes);
    files.push_back(std::move(b));
  }
  return EncodeBundle(files);
}

bool MakeLog(const LogShape& shape, const std::string& dir) {
  auto writer = LogWriter::Create();
  Check(writer.status(), "LogWriter::Create");
  LogOptions o = LogFuzzOptions(shape.opts);
  auto opened = ShardLog::Open(dir, o, *writer);
  if (!opened.ok() && shape.opts & 2) return false;  // no O_DIRECT here
  Check(opened.status(), "ShardLog::Open " + dir);
  std::unique_ptr<ShardLog> log = std::move(opened).value();
  int64_t ts = 1767225600000;  // 2026-01-01, fixed so reruns differ less
  for (int i = 0; i < shape.records;) {
    std::vector<std::string> keys, datas;
    std::vector<RecordIn> batch;
    for (int j = 0; j < 1 + i % 7 && i < shape.records; ++j, ++i) {
      keys.push_back(fmt::format("key-{}", i % 13));
      datas.push_back(std::string(shape.data_bytes + static_cast<size_t>(i % 5) * 3, static_cast<char>('a' + i % 26)));
    }
    for (size_t j = 0; j < keys.size(); ++j) batch.push_back({keys[j], datas[j], ts += 7});
    AppendResult a = log->AppendSync(batch);
    Check(a.status, "append");
  }
  switch (shape.end) {
    case LogShape::kClose:
    case LogShape::kNoIndex: Check(log->Close(), "Close"); break;
    case LogShape::kTrim:
      Check(log->TrimBefore(log->end_offset() / 2), "TrimBefore");
      Check(log->Close(), "Close");
      break;
    case LogShape::kSeal:
      Check(log->Seal().status(), "Seal");
      Check(log->Close(), "Close");
      break;
    case LogShape::kCrash:
    case LogShape::kTorn: Check(log->Flush(), "Flush"); break;
  }
  log.reset();
  (*writer)->DrainBackground();
  if (shape.end == LogShape::kNoIndex) fs::remove(dir + "/" + f::IndexFileName(1));
  if (shape.end == LogShape::kTorn) {
    // Cut the last frame of the active (highest) segment in half, as a crash mid-write.
    std::vector<fs::path> segs;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".seg") segs.push_back(e.path());
    std::sort(segs.begin(), segs.end());
    std::string bytes = ReadFile(segs.back().string());
    uint64_t pos = f::kSegmentHeaderSize, last = pos;
    while (pos < bytes.size()) {
      f::FrameInfo fi;
      if (f::CheckFrame(reinterpret_cast<const uint8_t*>(bytes.data()) + pos, bytes.size() - pos, true, &fi) !=
          f::FrameCheck::kOk)
        break;
      last = pos;
      pos += fi.len;
    }
    if (::truncate(segs.back().c_str(), static_cast<off_t>(last + (pos - last) / 2)) != 0) Die("truncate");
  }
  return true;
}

void Logs(Out& out) {
  const char* base = std::getenv("TMPDIR");
  const std::string tmp = fmt::format("{}/shoal-fuzz-seeds-{}", base && *base ? base : "/tmp", ::getpid());
  const LogShape shapes[] = {
      {"empty-closed", 1, 0, 0, LogShape::kClose},
      {"small-closed", 1, 20, 40, LogShape::kClose},
      {"small-crashed", 0, 20, 40, LogShape::kCrash},
      {"small-fine-index", 5, 60, 10, LogShape::kClose},
      {"multi-closed", 5, 64, 1100, LogShape::kClose},
      {"multi-crashed", 1, 64, 1100, LogShape::kCrash},
      {"multi-crashed-nondurable", 0, 64, 1100, LogShape::kCrash},
      {"multi-torn", 1, 64, 1100, LogShape::kTorn},
      {"multi-trimmed", 1, 64, 1100, LogShape::kTrim},
      {"multi-no-index", 1, 64, 1100, LogShape::kNoIndex},
      {"small-sealed", 1, 20, 40, LogShape::kSeal},
      {"small-direct", 3, 30, 100, LogShape::kClose},
      {"small-direct-crashed", 3, 30, 100, LogShape::kCrash},
  };
  for (const LogShape& s : shapes) {
    const std::string dir = tmp + "/" + s.name;
    fs::create_directories(dir);
    if (!MakeLog(s, dir)) {
      fmt::print(stderr, "shoal-fuzz-seeds: skipping {} (no O_DIRECT in {})\n", s.name, tmp);
      continue;
    }
    std::vector<std::string> frames, indexes;
    std::string meta;
    std::string bundle = PackLog(dir, &frames, &indexes, &meta);
    out.Write("shard_log_recovery_fuzz", s.name, std::string(1, static_cast<char>(s.opts)) + bundle);
    // Options byte 1: the bundle recomputes checksums, as the fuzzer's mutants will.
    for (size_t i = 0; i < frames.size(); i += std::max<size_t>(1, frames.size() / 3))
      out.Write("frame_fuzz", fmt::format("{}-{}", s.name, i), std::string(1, '\0') + frames[i]);
    for (size_t i = 0; i < indexes.size(); ++i)
      out.Write("index_file_fuzz", fmt::format("{}-{}", s.name, i), std::string(1, '\0') + indexes[i]);
    out.Write("log_meta_fuzz", s.name, std::string(1, '\0') + meta);
  }
  fs::remove_all(tmp);
}

// ---- catalogs --------------------------------------------------------------------------

void Catalogs(Out& out) {
  const char* base = std::getenv("TMPDIR");
  const std::string dir = fmt::format("{}/shoal-fuzz-catalog-{}", base && *base ? base : "/tmp", ::getpid());
  auto clock = std::make_shared<ManualClock>(kFuzzEpochMs);
  EngineOptions o = EngineFuzzOptions(clock);
  o.create_delay_ms = 500;
  o.update_delay_ms = 500;
  o.delete_delay_ms = 500;
  auto opened = Engine::Open(dir, o);
  Check(opened.status(), "Engine::Open");
  Engine& e = **opened;
  auto snap = [&](const std::string& name) {
    // Option byte 0: the catalog as written, checksum and all.
    out.Write("catalog_fuzz", name, std::string(1, '\0') + ReadFile(dir + "/CATALOG"));
  };
  auto step = [&] {
    clock->AdvanceMs(1000);
    e.Tick();
  };
  Check(e.CreateStream("orders", 2), "CreateStream");
  snap("creating");
  step();
  Check(e.CreateStream("Logs.v1-x_y", 1), "CreateStream");
  Check(e.CreateStream("OnDemand", 1, CapacityMode::kOnDemand), "CreateStream");
  step();
  Check(e.AddTags("orders", {{"team", "data"}, {"cost center", "42/a=b"}, {"", "empty key"}}), "AddTags");
  PutInput in{.partition_key = "pk", .data = "hello", .explicit_hash_key = std::nullopt};
  Check(e.PutRecord("orders", in).status(), "PutRecord");
  snap("two-streams-tags");
  Check(e.SplitShard("orders", 0, HashKey::FromParts(1ull << 62, 0)), "SplitShard");
  snap("split-pending");
  step();
  snap("split");
  Check(e.MergeShards("orders", 2, 3), "MergeShards");
  step();
  snap("merged");
  Check(e.UpdateShardCount("Logs.v1-x_y", 2).status(), "UpdateShardCount");
  snap("update-count-pending");
  step();
  snap("update-count");
  Check(e.SetRetention("orders", 48, true), "SetRetention");
  Check(e.DeleteStream("Logs.v1-x_y"), "DeleteStream");
  snap("deleting");
  step();
  snap("one-left");
  Check(e.Close(), "Engine::Close");
  fs::remove_all(dir);
}

// ---- request scripts (support/request_script.h) -----------------------------------------

// One script per operation family of kinesis-data-streams.md, valid requests first, so the
// fuzzer starts from inputs that reach the operation logic.
const std::pair<const char*, const char*> kScripts[] = {
    {"create-describe", R"(CreateStream {"StreamName":"orders","ShardCount":2}
DescribeStream {"StreamName":"orders"}
DescribeStream {"StreamName":"orders","Limit":1,"ExclusiveStartShardId":"shardId-000000000000"}
DescribeStreamSummary {"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/orders"}
DescribeLimits {}
ListStreams {}
ListShards {"StreamName":"orders"}
)"},
    {"on-demand", R"(CreateStream {"StreamName":"od","StreamModeDetails":{"StreamMode":"ON_DEMAND"},"Tags":{"k":"v"}}
DescribeStreamSummary {"StreamName":"od"}
PutRecord {"StreamName":"od","PartitionKey":"p","Data":""}
)"},
    {"put-get", R"(CreateStream {"StreamName":"s","ShardCount":2}
PutRecord {"StreamName":"s","PartitionKey":"alpha","Data":"aGVsbG8gd29ybGQ="}
PutRecord {"StreamName":"s","PartitionKey":"beta","Data":"AA==","ExplicitHashKey":"340282366920938463463374607431768211455","SequenceNumberForOrdering":"$SEQ"}
PutRecords {"StreamName":"s","Records":[{"PartitionKey":"a","Data":"YQ=="},{"PartitionKey":"b","Data":"Yg==","ExplicitHashKey":"0"},{"PartitionKey":"c","Data":"Yw=="}]}
GetShardIterator {"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}
GetRecords {"ShardIterator":"$ITER","Limit":2}
GetRecords {"ShardIterator":"$ITER"}
)"},
    {"iterators", R"(CreateStream {"StreamName":"s","ShardCount":1}
PutRecord {"StreamName":"s","PartitionKey":"k","Data":"MQ=="}
tick 1500
PutRecord {"StreamName":"s","PartitionKey":"k","Data":"Mg=="}
GetShardIterator {"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"AT_SEQUENCE_NUMBER","StartingSequenceNumber":"$SEQ"}
GetRecords {"ShardIterator":"$ITER"}
GetShardIterator {"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"AFTER_SEQUENCE_NUMBER","StartingSequenceNumber":"$SEQ"}
GetRecords {"ShardIterator":"$ITER"}
GetShardIterator {"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"AT_TIMESTAMP","Timestamp":1767225600.5}
GetRecords {"ShardIterator":"$ITER","Limit":10000}
GetShardIterator {"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"LATEST"}
tick 400000
GetRecords {"ShardIterator":"$ITER"}
)"},
    {"reshard", R"(CreateStream {"StreamName":"r","ShardCount":2}
PutRecord {"StreamName":"r","PartitionKey":"x","Data":"eA=="}
SplitShard {"StreamName":"r","ShardToSplit":"shardId-000000000000","NewStartingHashKey":"85070591730234615865843651857942052864"}
tick 1000
MergeShards {"StreamName":"r","ShardToMerge":"shardId-000000000002","AdjacentShardToMerge":"shardId-000000000003"}
tick 1000
UpdateShardCount {"StreamName":"r","TargetShardCount":3,"ScalingType":"UNIFORM_SCALING"}
tick 1000
ListShards {"StreamName":"r","MaxResults":2}
ListShards {"NextToken":"$NEXT"}
ListShards {"StreamName":"r","ShardFilter":{"Type":"AFTER_SHARD_ID","ShardId":"shardId-000000000001"}}
ListShards {"StreamName":"r","ShardFilter":{"Type":"AT_TIMESTAMP","Timestamp":1767225601}}
ListShards {"StreamName":"r","ShardFilter":{"Type":"FROM_TRIM_HORIZON"},"ExclusiveStartShardId":"shardId-000000000000"}
GetShardIterator {"StreamName":"r","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}
GetRecords {"ShardIterator":"$ITER"}
)"},
    {"tags-retention", R"(CreateStream {"StreamName":"t","ShardCount":1}
AddTagsToStream {"StreamName":"t","Tags":{"team":"data","env":"prod"}}
ListTagsForStream {"StreamName":"t","Limit":1}
ListTagsForStream {"StreamName":"t","ExclusiveStartTagKey":"env"}
RemoveTagsFromStream {"StreamName":"t","TagKeys":["env"]}
IncreaseStreamRetentionPeriod {"StreamName":"t","RetentionPeriodHours":48}
DecreaseStreamRetentionPeriod {"StreamName":"t","RetentionPeriodHours":24}
DeleteStream {"StreamName":"t","EnforceConsumerDeletion":true}
DescribeStream {"StreamName":"t"}
)"},
    {"list-paging", R"(CreateStream {"StreamName":"a","ShardCount":1}
CreateStream {"StreamName":"b","ShardCount":1}
CreateStream {"StreamName":"c","ShardCount":1}
ListStreams {"Limit":1}
ListStreams {"NextToken":"$NEXT"}
ListStreams {"ExclusiveStartStreamName":"a","Limit":5}
)"},
    {"retention-expiry", R"(CreateStream {"StreamName":"e","ShardCount":1}
PutRecords {"StreamName":"e","Records":[{"PartitionKey":"a","Data":"YQ=="},{"PartitionKey":"a","Data":"YQ=="}]}
GetShardIterator {"StreamName":"e","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}
tick 90000000
GetRecords {"ShardIterator":"$ITER"}
GetShardIterator {"StreamName":"e","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}
GetRecords {"ShardIterator":"$ITER"}
)"},
    {"errors", R"(CreateStream {"StreamName":"bad name!","ShardCount":0}
CreateStream {"StreamName":123}
PutRecord {"StreamName":"nope","PartitionKey":"","Data":"abc"}
PutRecords {"StreamName":"nope","Records":[]}
GetRecords {"ShardIterator":"AAAA"}
GetShardIterator {"StreamName":"nope","ShardId":"shardId-9","ShardIteratorType":"AT_SEQUENCE_NUMBER","StartingSequenceNumber":"0"}
SplitShard {"StreamName":"nope","ShardToSplit":"x","NewStartingHashKey":"340282366920938463463374607431768211456"}
RegisterStreamConsumer {"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/x","ConsumerName":"c"}
Nope {}
ListStreams []
ListStreams {"Limit":"1"}
ListShards {"StreamName":"x","NextToken":"abc"}
)"},
};

// ---- parsers ------------------------------------------------------------------------------

void Parsers(Out& out) {
  // Sequence numbers: pairs "A\nB" of real numbers (start, record, end of shards).
  const ShardIdentity a{ShardIndex{0}, kFuzzEpochMs / 1000}, b{ShardIndex{17}, kFuzzEpochMs / 1000 + 5};
  const SeqParts nums[] = {ShardStartSeq(a), RecordSeq(a, 0, kFuzzEpochMs), RecordSeq(a, 41, kFuzzEpochMs + 1500),
                           ShardEndSeq(a, kFuzzEpochMs + 9000), RecordSeq(b, 7, kFuzzEpochMs + 6000),
                           ShardEndSeq(b, kFuzzEpochMs + 9000)};
  for (size_t i = 0; i + 1 < std::size(nums); ++i)
    out.Write("sequence_number_fuzz", fmt::format("pair-{}", i),
              FormatSequenceNumber(nums[i]) + "\n" + FormatSequenceNumber(nums[i + 1]));
  out.Write("sequence_number_fuzz", "zero", "0\n1");

  const char* keys[] = {"0", "1", "170141183460469231731687303715884105727", "170141183460469231731687303715884105728",
                        "340282366920938463463374607431768211455", "340282366920938463463374607431768211456"};
  for (size_t i = 0; i < std::size(keys); ++i) out.Write("hash_key_fuzz", fmt::format("{}", i), keys[i]);

  const char* names[] = {"orders\nOrders", "ORDERS\nOrDERS", ".\n..", ".Git\n+.+git", "a_b-c.d\nshardId-000000000007",
                         "shard-3\n3"};
  for (size_t i = 0; i < std::size(names); ++i) out.Write("stream_name_fuzz", fmt::format("{}", i), names[i]);
}

void Blobs(Out& out) {
  const char* b64[] = {"", "YQ==", "YWI=", "YWJj", "aGVsbG8gd29ybGQ=", "AAECAwQFBgcICQoLDA0ODw==", "YQ", "Y===", "YR==",
                       "a$==", "////"};
  for (size_t i = 0; i < std::size(b64); ++i) out.Write("base64_fuzz", fmt::format("{}", i), b64[i]);

  // Tokens as the service mints them (the fuzz target's key), in mode 0 (a token string).
  const api::TokenCodec codec("fuzz-token-key");
  api::IteratorToken it{.stream = "orders", .stream_uid = 0x1234567890abcdef, .shard_index = 3, .offset = 41,
                        .issued_ms = kFuzzEpochMs};
  out.Write("tokens_fuzz", "iterator", std::string(1, '\0') + codec.EncodeIterator(it));
  api::PageToken page{.stream = "orders", .stream_uid = 0x1234567890abcdef, .last_index = 2, .filter = 3,
                      .filter_ms = kFuzzEpochMs, .max_results = 100, .issued_ms = kFuzzEpochMs};
  out.Write("tokens_fuzz", "page", std::string(1, '\0') + codec.EncodePage(page));
  out.Write("tokens_fuzz", "fields", std::string(1, '\2') + std::string(44, '\1') + "orders");
}

void Scripts(Out& out) {
  for (const auto& [name, script] : kScripts) out.Write("kinesis_service_fuzz", name, script);
}

// ---- HTTP ---------------------------------------------------------------------------------

std::string Post(std::string_view op, std::string_view body, std::string_view extra = "",
                 std::string_view content_type = "application/x-amz-json-1.1") {
  return fmt::format("POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: Kinesis_20131202.{}\r\n"
                     "Content-Type: {}\r\n{}Content-Length: {}\r\n\r\n{}",
                     op, content_type, extra, body.size(), body);
}

void Http(Out& out) {
  // One request per operation, the first request of each script above.
  for (const auto& [name, script] : kScripts) {
    std::string_view line(script);
    line = line.substr(0, line.find('\n'));
    const size_t sp = line.find(' ');
    out.Write("http_server_fuzz", name, Post(line.substr(0, sp), line.substr(sp + 1)));
  }
  out.Write("http_server_fuzz", "pipelined",
            Post("CreateStream", R"({"StreamName":"h","ShardCount":1})") +
                Post("PutRecord", R"({"StreamName":"h","PartitionKey":"k","Data":"aGk="})") +
                Post("ListStreams", "{}", "Connection: close\r\n"));
  out.Write("http_server_fuzz", "chunked",
            "POST / HTTP/1.1\r\nHost: h\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\n"
            "Content-Type: application/x-amz-json-1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            "1\r\n{\r\n1\r\n}\r\n0\r\n\r\n");
  out.Write("http_server_fuzz", "expect-continue",
            Post("DescribeLimits", "{}", "Expect: 100-continue\r\n"));
  out.Write("http_server_fuzz", "cors-preflight",
            "OPTIONS / HTTP/1.1\r\nHost: h\r\nOrigin: http://example.com\r\n"
            "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: x-amz-target\r\n\r\n");
  out.Write("http_server_fuzz", "cors-post", Post("ListStreams", "{}", "Origin: http://example.com\r\n"));
  out.Write("http_server_fuzz", "head", "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n" + Post("ListStreams", "{}"));
  out.Write("http_server_fuzz", "get-http10", "GET /any/path HTTP/1.0\r\n\r\n");
  out.Write("http_server_fuzz", "json-content-type", Post("ListStreams", "{}", "", "application/json; charset=utf-8"));
  out.Write("http_server_fuzz", "wrong-content-type", Post("ListStreams", "{}", "", "text/plain"));
  out.Write("http_server_fuzz", "no-target", "POST / HTTP/1.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
                                             "Content-Length: 2\r\n\r\n{}");
  out.Write("http_server_fuzz", "body-too-large",
            "POST / HTTP/1.1\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\nContent-Length: 5000\r\n\r\n{}");
  out.Write("http_server_fuzz", "header-too-large", "POST / HTTP/1.1\r\nX-Pad: " + std::string(3000, 'p') + "\r\n\r\n");
  out.Write("http_server_fuzz", "malformed", "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n");
  out.Write("http_server_fuzz", "truncated", Post("ListStreams", "{\"Limit\":5}").substr(0, 120));
}

}  // namespace
}  // namespace shoal::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: shoal-fuzz-seeds OUT_DIR\n");
    return 2;
  }
  shoal::fuzz::Out out(argv[1]);
  shoal::fuzz::Logs(out);
  shoal::fuzz::Catalogs(out);
  shoal::fuzz::Parsers(out);
  shoal::fuzz::Blobs(out);
  shoal::fuzz::Scripts(out);
  shoal::fuzz::Http(out);
  fmt::print("shoal-fuzz-seeds: wrote {} files under {}\n", out.files(), argv[1]);
  return 0;
}
