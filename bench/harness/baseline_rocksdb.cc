#include "bench/harness/baseline_rocksdb.h"

#if SHOAL_BENCH_HAVE_ROCKSDB
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>
#endif

#include <fmt/format.h>

#include <memory>

#include "bench/harness/harness.h"
#include "bench/lib/latency_histogram.h"

namespace shoal::bench {

#if SHOAL_BENCH_HAVE_ROCKSDB

bool RocksDbAvailable() { return true; }

namespace {
volatile uint64_t rocksdb_sink_;
void PutBigEndian(char* p, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) {
    p[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}
Status FromRocks(const rocksdb::Status& s, const char* what) {
  return s.ok() ? Status::Ok() : Status(Code::kIOError, std::string(what) + ": " + s.ToString());
}
}  // namespace

Result<KvBaselineReport> RunRocksDbBaseline(const KvBaselineConfig& c) {
  KvBaselineReport r;
  r.version = fmt::format("{}.{}.{}", ROCKSDB_MAJOR, ROCKSDB_MINOR, ROCKSDB_PATCH);
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  SHOAL_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, c.dir, &raw), "rocksdb open"));
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string value(c.record_bytes, '\0');
  for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>('a' + (i * 31) % 26);
  rocksdb::WriteOptions wo;
  wo.sync = true;  // the WAL is fdatasync'ed before Write returns: the durability of Shoal's "always"
  LatencyHistogram hist;
  char key[12];
  uint64_t offset = 0;
  const uint64_t t0 = NowNs();
  const uint64_t deadline = t0 + static_cast<uint64_t>(c.max_seconds * 1e9);
  rocksdb::WriteBatch batch;
  while (r.value_bytes < c.total_bytes) {
    batch.Clear();
    for (size_t i = 0; i < c.records_per_batch; ++i) {
      PutBigEndian(key, 0, 4);  // shard 0
      PutBigEndian(key + 4, offset++, 8);
      batch.Put(rocksdb::Slice(key, sizeof key), value);
    }
    const uint64_t a = NowNs();
    SHOAL_RETURN_IF_ERROR(FromRocks(db->Write(wo, &batch), "rocksdb write"));
    const uint64_t b = NowNs();
    hist.Record(b - a);
    r.records += c.records_per_batch;
    r.value_bytes += c.records_per_batch * c.record_bytes;
    if (b > deadline) break;
  }
  r.write_seconds = static_cast<double>(NowNs() - t0) / 1e9;
  r.batch_p50_us = hist.Quantile(0.5) / 1e3;
  r.batch_p99_us = hist.Quantile(0.99) / 1e3;
  uint64_t sum = 0;
  for (int pass = 0; pass < 2; ++pass) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    uint64_t bytes = 0, n = 0;
    const uint64_t a = NowNs();
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const rocksdb::Slice v = it->value();
      bytes += it->key().size() + v.size();
      sum += static_cast<uint8_t>(v.size() ? v.data()[v.size() / 2] : 0);
      ++n;
    }
    SHOAL_RETURN_IF_ERROR(FromRocks(it->status(), "rocksdb scan"));
    if (n != r.records) return Status::Make(Code::kInternal, "rocksdb scan returned {} of {} records", n, r.records);
    r.read_bytes = bytes;
    r.read_seconds = static_cast<double>(NowNs() - a) / 1e9;
  }
  rocksdb_sink_ = sum;
  SHOAL_RETURN_IF_ERROR(FromRocks(db->Close(), "rocksdb close"));
  return r;
}

#else

bool RocksDbAvailable() { return false; }

Result<KvBaselineReport> RunRocksDbBaseline(const KvBaselineConfig&) {
  return Status(Code::kInvalidArgument,
                "RocksDB baseline not built (configure with -DSHOAL_BENCH_ROCKSDB=ON and install librocksdb-dev)");
}

#endif

}  // namespace shoal::bench
