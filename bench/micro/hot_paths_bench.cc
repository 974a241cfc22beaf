// Hot functions of the append and read paths (Google Benchmark), CPU only:
//   CRC32C (io/crc32c.h), hardware and portable;
//   batch encode (a frame laid out per kernel/format.h, as ShardLog::Append stages it) and
//   decode (format::CheckFrame with CRC verification + record iteration);
//   MD5 routing (HashPartitionKey and the batch HashPartitionKeys, kernel/hash_key.h);
//   sequence numbers (RecordSeq + FormatSequenceNumber, ParseSequenceNumber);
//   the sparse index lookup (Segment::SeekOffset).
//
//   build/release/bench/hot_paths_bench --benchmark_repetitions=3
//       --benchmark_out=results/<run>/micro.json --benchmark_out_format=json
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "io/crc32c.h"
#include "kernel/format.h"
#include "kernel/hash_key.h"
#include "kernel/segment.h"
#include "kernel/sequence_number.h"

namespace shoal::bench {
namespace {

std::vector<uint8_t> Pattern(size_t n, uint64_t seed = 1) {
  std::vector<uint8_t> v(n);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v[i] = static_cast<uint8_t>(x);
  }
  return v;
}

// --- CRC32C -------------------------------------------------------------------------------

void BM_Crc32c(benchmark::State& state) {
  const auto buf = Pattern(static_cast<size_t>(state.range(0)));
  uint32_t crc = 0;
  for (auto _ : state) {
    crc = io::Crc32c(buf.data(), buf.size());
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetLabel(io::Crc32cHardware() ? "sse4.2" : "portable");
}
BENCHMARK(BM_Crc32c)->ArgName("bytes")->Arg(64)->Arg(1024)->Arg(4096)->Arg(64 << 10)->Arg(1 << 20);

void BM_Crc32cPortable(benchmark::State& state) {
  const auto buf = Pattern(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(io::Crc32cExtendPortable(0, buf.data(), buf.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32cPortable)->ArgName("bytes")->Arg(1024)->Arg(64 << 10);

// --- batch encode / decode ---------------------------------------------------------------

// One frame as ShardLog::Append writes it into its staging buffer (kernel/shard_log.cc):
// header, records (12-byte header + key + data), zero padding to 8, CRC32C over [8, len).
size_t EncodeFrame(uint8_t* f, uint64_t base, int64_t ts, const std::string& key, const std::vector<uint8_t>& data,
                   size_t count) {
  const size_t body = count * format::RecordBytes(key.size(), data.size());
  const size_t len = format::AlignUp(format::kFrameHeaderSize + body, format::kFrameAlign);
  format::Store32(f + format::kFrameLen, static_cast<uint32_t>(len));
  format::Store16(f + format::kFrameMagic, format::kFrameMagicValue);
  f[format::kFrameVersion] = format::kFrameVersionValue;
  f[format::kFrameFlags] = 0;
  format::Store32(f + format::kFrameCount, static_cast<uint32_t>(count));
  format::Store64(f + format::kFrameBaseOffset, base);
  format::Store64(f + format::kFrameBaseTs, static_cast<uint64_t>(ts));
  uint8_t* p = f + format::kFrameHeaderSize;
  for (size_t i = 0; i < count; ++i) {
    format::Store32(p + format::kRecTsDelta, 0);
    format::Store32(p + format::kRecDataLen, static_cast<uint32_t>(data.size()));
    format::Store16(p + format::kRecKeyLen, static_cast<uint16_t>(key.size()));
    format::Store16(p + format::kRecReserved, 0);
    p += format::kRecordHeaderSize;
    std::memcpy(p, key.data(), key.size());
    p += key.size();
    std::memcpy(p, data.data(), data.size());
    p += data.size();
  }
  std::memset(p, 0, static_cast<size_t>(f + len - p));
  format::Store32(f + format::kFrameCrc, io::Crc32c(f + 8, len - 8));
  return len;
}

// Args: records per frame, data bytes per record.
void BM_FrameEncode(benchmark::State& state) {
  const size_t count = static_cast<size_t>(state.range(0));
  const auto data = Pattern(static_cast<size_t>(state.range(1)));
  const std::string key = "partition-key-00";
  std::vector<uint8_t> buf(format::kFrameHeaderSize + count * format::RecordBytes(key.size(), data.size()) + 8);
  uint64_t base = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(EncodeFrame(buf.data(), base, 1700000000000, key, data, count));
    base += count;
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * count));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * count * data.size()));
}
BENCHMARK(BM_FrameEncode)->ArgNames({"records", "data"})->ArgsProduct({{1, 100}, {100, 1024}})->Args({1, 65536});

// Args: records per frame, data bytes per record, verify CRC.
void BM_FrameDecode(benchmark::State& state) {
  const size_t count = static_cast<size_t>(state.range(0));
  const auto data = Pattern(static_cast<size_t>(state.range(1)));
  const bool verify = state.range(2) != 0;
  const std::string key = "partition-key-00";
  std::vector<uint8_t> buf(format::kFrameHeaderSize + count * format::RecordBytes(key.size(), data.size()) + 8);
  const size_t len = EncodeFrame(buf.data(), 0, 1700000000000, key, data, count);
  format::FrameInfo probe;
  if (format::CheckFrame(buf.data(), len, true, &probe) != format::FrameCheck::kOk) {
    state.SkipWithError("the bench's frame encoder disagrees with format::CheckFrame");
    return;
  }
  uint64_t sum = 0;
  for (auto _ : state) {
    format::FrameInfo fi;
    if (format::CheckFrame(buf.data(), len, verify, &fi) != format::FrameCheck::kOk) {
      state.SkipWithError("CheckFrame failed");
      return;
    }
    format::RecordCursor c = format::Records(buf.data(), fi);
    format::RawRecord r;
    while (format::NextRecord(c, &r)) sum += r.data.size() + static_cast<uint8_t>(r.key[0]);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * count));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * count * data.size()));
}
BENCHMARK(BM_FrameDecode)
    ->ArgNames({"records", "data", "crc"})
    ->ArgsProduct({{1, 100}, {100, 1024}, {1}})
    ->Args({100, 1024, 0})
    ->Args({1, 65536, 1});

// --- MD5 routing ---------------------------------------------------------------------------

// `n` distinct partition keys of `bytes` bytes each.
std::vector<std::string> PartitionKeys(int n, int64_t bytes) {
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) {
    std::string k = "partition-key-" + std::to_string(i);
    k.resize(static_cast<size_t>(bytes), 'k');
    keys.push_back(std::move(k));
  }
  return keys;
}

void BM_HashPartitionKey(benchmark::State& state) {
  const std::vector<std::string> keys = PartitionKeys(1024, state.range(0));
  size_t i = 0;
  for (auto _ : state) {
    HashKey h = HashPartitionKey(keys[i++ & 1023]);
    benchmark::DoNotOptimize(h);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_HashPartitionKey)->ArgName("key_bytes")->Arg(16)->Arg(64)->Arg(256);

// The batch form a put uses (500 keys per call, as a full PutRecords): items/s is keys/s,
// comparable with BM_HashPartitionKey's.
void BM_HashPartitionKeys(benchmark::State& state) {
  const std::vector<std::string> keys = PartitionKeys(500, state.range(0));
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::vector<HashKey> out(keys.size());
  for (auto _ : state) {
    HashPartitionKeys(views, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * keys.size()));
}
BENCHMARK(BM_HashPartitionKeys)->ArgName("key_bytes")->Arg(16)->Arg(64);

// --- sequence numbers ------------------------------------------------------------------------

void BM_SequenceNumberFormat(benchmark::State& state) {
  const ShardIdentity shard{ShardIndex{7}, 1700000000};
  uint64_t offset = 0;
  for (auto _ : state) {
    std::string s = FormatSequenceNumber(RecordSeq(shard, offset++, 1700000000123));
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SequenceNumberFormat);

void BM_SequenceNumberParse(benchmark::State& state) {
  const ShardIdentity shard{ShardIndex{7}, 1700000000};
  std::vector<std::string> numbers;
  for (uint64_t o = 0; o < 1024; ++o) numbers.push_back(FormatSequenceNumber(RecordSeq(shard, o * 7919, 1700000000123)));
  size_t i = 0;
  for (auto _ : state) {
    auto parsed = ParseSequenceNumber(numbers[i++ & 1023]);
    if (!parsed.ok()) {
      state.SkipWithError("parse failed");
      return;
    }
    benchmark::DoNotOptimize(parsed->counter);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SequenceNumberParse);

// --- index lookup ------------------------------------------------------------------------------

// A segment with `entries` sparse index entries, one per 4 KiB of 1 KiB records (about 4
// records per entry, as LogOptions::index_interval_bytes = 4096 gives), looked up at
// random offsets.
void BM_SegmentSeekOffset(benchmark::State& state) {
  const size_t entries = static_cast<size_t>(state.range(0));
  Segment seg("/nonexistent/bench.seg", 1, 128ull << 20, 128ull << 20, entries);
  seg.Activate(1000000, 0);
  for (size_t i = 0; i < entries; ++i)
    seg.AddIndexEntry({static_cast<uint32_t>(i * 4), static_cast<uint32_t>(4096 + i * 4096), static_cast<int64_t>(i)});
  const uint64_t records = entries * 4;
  seg.Publish(4096 + entries * 4096, 1000000 + records, static_cast<int64_t>(entries));
  std::mt19937_64 rng(42);
  std::vector<uint64_t> targets(4096);
  for (auto& t : targets) t = 1000000 + rng() % records;
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(seg.SeekOffset(targets[i++ & 4095]));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SegmentSeekOffset)->ArgName("entries")->Arg(64)->Arg(4096)->Arg(32768);

}  // namespace
}  // namespace shoal::bench

BENCHMARK_MAIN();
