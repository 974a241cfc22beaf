// Sink: where shoal-dump's checkers send what they find, so one walk of a file serves
// both outputs: text lines for people, one JSON object per file for scripts.
//
// A file's report is a flat sequence of calls:
//   BeginFile, { Section | BeginList, { BeginItem, [BeginList ... EndList], EndItem }*, EndList
//   | Problem | Note }*, EndFile
// Lists nest at most one level (records inside frames). A Problem is a finding that fails
// verification (the exit code becomes 1); a Note is worth knowing but is not damage.
//
// Single-threaded. Output is streamed (a 2 GiB segment dumped with --records is never
// held in memory); only a file's problems and notes are buffered for the JSON object's end.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace shoal::dump {

// One value of a report field. Kinds render differently in text and JSON.
struct Value {
  enum class Kind { kUnsigned, kSigned, kBool, kText, kTime, kBytes, kCrc };
  Kind kind;
  uint64_t u = 0;
  int64_t i = 0;
  std::string s;  // kText; kBytes (raw bytes, printed as text or hex)
};
inline Value U(uint64_t v) { return Value{Value::Kind::kUnsigned, v, 0, {}}; }
inline Value I(int64_t v) { return Value{Value::Kind::kSigned, 0, v, {}}; }
inline Value B(bool v) { return Value{Value::Kind::kBool, v ? 1u : 0u, 0, {}}; }
inline Value S(std::string v) { return Value{Value::Kind::kText, 0, 0, std::move(v)}; }
// Milliseconds since the epoch: text "2024-05-01T12:00:00.123Z (1714564800123)",
// JSON "key": 1714564800123, "key_iso": "2024-05-01T12:00:00.123Z".
inline Value T(int64_t ms) { return Value{Value::Kind::kTime, 0, ms, {}}; }
// Arbitrary bytes (keys, data previews): quoted text if printable ASCII, else hex
// (JSON: "key" or "key_hex").
inline Value Raw(std::string_view v) { return Value{Value::Kind::kBytes, 0, 0, std::string(v)}; }
// A checksum: 0x-prefixed, 8 hex digits.
inline Value Crc(uint32_t v) { return Value{Value::Kind::kCrc, v, 0, {}}; }

struct Field {
  std::string_view key;
  Value value;
};
using Fields = std::vector<Field>;

class Sink {
 public:
  virtual ~Sink() = default;

  // `kind`: "segment", "index", "clean", "meta" or "log".
  virtual void BeginFile(std::string_view kind, std::string_view path) = 0;
  // A named group of facts: one member object in JSON; in text one line of "key: value"
  // pairs, or `sentence` instead when one is given (JSON adds it as "text"). Names are
  // unique within a file.
  virtual void Section(std::string_view name, const Fields& fields,
                       std::string_view sentence = {}) = 0;
  virtual void BeginList(std::string_view name) = 0;
  // `label` names the item in text ("frame", "record"); JSON uses the list's name.
  virtual void BeginItem(std::string_view label, const Fields& fields) = 0;
  virtual void EndItem() = 0;
  virtual void EndList() = 0;
  void Problem(std::string message) {
    ++file_problems_;
    ++total_problems_;
    OnProblem(std::move(message));
  }
  virtual void Note(std::string message) = 0;
  // Ends the file's report with its verdict.
  virtual void EndFile() = 0;

  int file_problems() const { return file_problems_; }
  int total_problems() const { return total_problems_; }

 protected:
  virtual void OnProblem(std::string message) = 0;
  int file_problems_ = 0;

 private:
  int total_problems_ = 0;
};

// Text for people, to `out`.
std::unique_ptr<Sink> NewTextSink(std::FILE* out);
// One JSON object per file, one per line, to `out`.
std::unique_ptr<Sink> NewJsonSink(std::FILE* out);
// Prints nothing; counts problems (for cross-checks that walk a neighbouring file).
std::unique_ptr<Sink> NewNullSink();

// --- rendering helpers, shared with the checkers' messages -----------------------------
// "2024-05-01T12:00:00.123Z" (UTC; works for negative values too).
std::string IsoTime(int64_t ms);
// Timestamp as "ISO (ms)".
std::string TimeText(int64_t ms);
// Printable ASCII in quotes (escaping " and \), else 0x-prefixed hex.
std::string BytesText(std::string_view bytes);
bool Printable(std::string_view bytes);
std::string Hex(std::string_view bytes);
// A JSON string literal, quotes included: escapes control characters, and replaces bytes
// that are not valid UTF-8 with U+FFFD so the output always parses.
std::string JsonString(std::string_view s);

}  // namespace shoal::dump
