// StreamReader: what a verifier needs to read a stream, whatever serves it. The torture
// verifier reads an embedded Engine (EngineStreamReader) and shoald over HTTP (the
// torture tool's KinesisHttpReader) through this one interface, so both are checked by the
// same code.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/status.h"
#include "kernel/engine.h"

namespace shoal::torture {

struct ReadRecordCopy {
  std::string sequence_number;
  std::string partition_key;
  std::string data;
};

struct ReadPage {
  std::vector<ReadRecordCopy> records;
  bool end = false;                      // no next position: the end of a closed shard
  std::vector<ChildShard> child_shards;  // at the end of a closed shard
};

// Reads one shard forward from TRIM_HORIZON.
class ShardCursor {
 public:
  virtual ~ShardCursor() = default;
  virtual Result<ReadPage> Next(size_t limit) = 0;
};

class StreamReader {
 public:
  virtual ~StreamReader() = default;
  // Every listed shard (expired ones omitted), with status and retention.
  virtual Result<StreamDescription> Describe(std::string_view stream) = 0;
  virtual Result<std::vector<std::string>> ListStreams() = 0;
  virtual Result<std::unique_ptr<ShardCursor>> TrimHorizon(std::string_view stream, const ShardDescription& shard) = 0;
};

// Over an open Engine, which must outlive the reader.
class EngineStreamReader final : public StreamReader {
 public:
  explicit EngineStreamReader(Engine& engine) : engine_(engine) {}
  Result<StreamDescription> Describe(std::string_view stream) override { return engine_.DescribeStream(stream); }
  Result<std::vector<std::string>> ListStreams() override;
  Result<std::unique_ptr<ShardCursor>> TrimHorizon(std::string_view stream, const ShardDescription& shard) override;

 private:
  Engine& engine_;
};

}  // namespace shoal::torture
