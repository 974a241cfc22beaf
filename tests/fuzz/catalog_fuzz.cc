// Fuzzes the engine's CATALOG (kernel/catalog.h): DecodeCatalog on arbitrary text, then
// Engine::Open on a data directory holding it and a round of operations on every stream
// it names, because the engine builds its whole state (streams, shards, routing, lineage,
// pending reshards) from what the catalog says.
//
// Input: byte 0 = options (bit 0: rewrite the trailing "crc" line to match, else nearly
// every mutant stops at the checksum; bit 1: skip the engine), the rest is the file.
//
// Properties: DecodeCatalog either fails with kCorruption or returns a catalog whose
// encoding is a fixed point (Decode(Encode(c)) encodes the same); Engine::Open of any
// catalog fails with an error or gives an engine on which the operations below return
// errors or results, never a crash, and which closes cleanly.
#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "io/crc32c.h"
#include "kernel/catalog.h"
#include "kernel/engine.h"
#include "tests/fuzz/support/check.h"
#include "tests/fuzz/support/engine_fuzz_options.h"
#include "tests/fuzz/support/scratch_dir.h"

namespace {

using namespace shoal;

std::string FixCrc(std::string text) {
  size_t p = text.rfind("crc ");
  if (p == std::string::npos) p = text.size();
  text.resize(p);
  text += fmt::format("crc {:08x}\n", io::Crc32c(text.data(), text.size()));
  return text;
}

void Exercise(Engine& e, const Catalog& c) {
  (void)e.ListStreams(100);
  ManualClock& clock = static_cast<ManualClock&>(e.clock());
  for (const StreamMeta& m : c.streams) {
    auto d = e.DescribeStream(m.name);
    if (!d.ok()) continue;
    PutInput in{.partition_key = "pk", .data = "fuzz", .explicit_hash_key = std::nullopt};
    (void)e.PutRecord(m.name, in);
    in.explicit_hash_key = HashKey::Max();
    (void)e.PutRecord(m.name, in);
    for (const ShardDescription& s : d->shards) {
      for (PositionType t : {PositionType::kTrimHorizon, PositionType::kLatest}) {
        auto pos = e.GetPosition(m.name, s.index, t, std::nullopt, std::nullopt);
        if (pos.ok()) (void)e.GetRecords(m.name, *pos, 100);
      }
      auto at = e.GetPosition(m.name, s.index, PositionType::kAtSequenceNumber, s.starting_sequence_number,
                              std::nullopt);
      if (at.ok()) (void)e.GetRecords(m.name, *at, 100);
    }
    if (!d->shards.empty()) {
      const ShardDescription& s = d->shards.front();
      (void)e.SplitShard(m.name, s.index, HashKey{s.range.start.value / 2 + s.range.end.value / 2});
      if (d->shards.size() > 1) (void)e.MergeShards(m.name, d->shards[0].index, d->shards[1].index);
    }
    (void)e.UpdateShardCount(m.name, 2);
  }
  clock.AdvanceMs(25 * 3600 * 1000);  // past every delay and the default retention
  e.Tick();
  for (const StreamMeta& m : c.streams) {
    (void)e.DescribeStream(m.name);
    (void)e.DeleteStream(m.name);
  }
  e.Tick();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t opts = data[0];
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (opts & 1) text = FixCrc(std::move(text));

  auto c = DecodeCatalog(text, "CATALOG");
  if (!c.ok()) {
    FUZZ_CHECK(c.status().code() == Code::kCorruption, "unexpected error {}", c.status().ToString());
    return 0;
  }
  const std::string enc = EncodeCatalog(*c);
  auto c2 = DecodeCatalog(enc, "CATALOG");
  FUZZ_CHECK(c2.ok(), "cannot decode an encoded catalog: {}", c2.status().ToString());
  FUZZ_CHECK(EncodeCatalog(*c2) == enc, "catalog encoding is not a fixed point");

  // Only small catalogs reach the engine: every listed shard is a directory of
  // preallocated segments.
  size_t shards = 0;
  for (const StreamMeta& m : c->streams) shards += m.shards.size();
  if ((opts & 2) || c->streams.size() > 4 || shards > 8) return 0;
  fuzz::ScratchDir scratch;
  const std::string dir = scratch.Sub("data");
  FUZZ_CHECK(::mkdir(dir.c_str(), 0755) == 0, "mkdir {}", dir);
  {
    std::ofstream out(dir + "/CATALOG", std::ios::binary);
    out << text;
  }
  auto clock = std::make_shared<ManualClock>(fuzz::kFuzzEpochMs);
  auto e = Engine::Open(dir, fuzz::EngineFuzzOptions(clock));
  if (!e.ok()) return 0;
  Exercise(**e, *c);
  Status st = (*e)->Close();
  FUZZ_CHECK(st.ok(), "Close: {}", st.ToString());
  return 0;
}
