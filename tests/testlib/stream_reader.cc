#include "tests/testlib/stream_reader.h"

#include <optional>

namespace shoal::torture {

namespace {

class EngineShardCursor final : public ShardCursor {
 public:
  EngineShardCursor(Engine& e, std::string stream, ShardPosition pos) : e_(e), stream_(std::move(stream)), pos_(pos) {}

  Result<ReadPage> Next(size_t limit) override {
    if (!pos_) return Status(Code::kInvalidArgument, "read past the end of a closed shard");
    auto r = e_.GetRecords(stream_, *pos_, limit);
    if (!r.ok()) return r.status();
    ReadPage page;
    page.records.reserve(r->records.size());
    for (const ReadRecord& rec : r->records)
      page.records.push_back({rec.sequence_number, std::string(rec.partition_key), std::string(rec.data)});
    page.end = !r->next.has_value();
    page.child_shards = std::move(r->child_shards);
    pos_ = r->next;
    return page;
  }

 private:
  Engine& e_;
  const std::string stream_;
  std::optional<ShardPosition> pos_;
};

}  // namespace

Result<std::vector<std::string>> EngineStreamReader::ListStreams() {
  std::vector<std::string> all;
  std::string after;
  while (true) {
    auto page = engine_.ListStreams(100, after);
    all.insert(all.end(), page.names.begin(), page.names.end());
    if (!page.has_more || page.names.empty()) return all;
    after = page.names.back();
  }
}

Result<std::unique_ptr<ShardCursor>> EngineStreamReader::TrimHorizon(std::string_view stream,
                                                                     const ShardDescription& shard) {
  auto pos = engine_.GetPosition(stream, shard.index, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
  if (!pos.ok()) return pos.status();
  return std::unique_ptr<ShardCursor>(std::make_unique<EngineShardCursor>(engine_, std::string(stream), *pos));
}

}  // namespace shoal::torture
