// RequestScript: a sequence of Kinesis requests in one fuzz input, as text.
//
// One request per line: "<Operation> <JSON body>", e.g.
//   CreateStream {"StreamName":"s","ShardCount":2}
//   GetShardIterator {"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"LATEST"}
//   GetRecords {"ShardIterator":"$ITER"}
// A line "tick <ms>" moves the engine's manual clock forward and runs its due work.
// Before a body is sent, $ITER, $NEXT and $SEQ are replaced by the last ShardIterator (or
// NextShardIterator), NextToken and SequenceNumber seen in a response: those are minted by
// the server (iterators are MAC'd), so a fuzzer could never write a valid one itself.
// Scripts keep readable seeds, and mutations of the operation name reach every operation
// through libFuzzer's comparison tracing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shoal::fuzz {

struct ScriptLine {
  bool tick = false;
  int64_t tick_ms = 0;
  std::string_view operation;
  std::string_view body;
};

// At most `max_lines` lines; empty lines are skipped.
std::vector<ScriptLine> ParseScript(std::string_view text, size_t max_lines);

// Remembers the server-minted values of responses and substitutes them into bodies.
class ScriptState {
 public:
  void Learn(std::string_view response_body);
  std::string Substitute(std::string_view body) const;

 private:
  std::string iter_, next_, seq_;
};

}  // namespace shoal::fuzz
