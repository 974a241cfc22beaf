// JsonWriter: appends a JSON document to a string. Only what the Kinesis responses need;
// keys are trusted literals, string values are escaped (RFC 8259), numbers are never in
// scientific notation (the Java SDK v2 rejects it, spec §1.4).
#pragma once

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "api/base64.h"

namespace shoal::api {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}
  void BeginObject() { Sep(); out_->push_back('{'); first_ = true; }
  void EndObject() { out_->push_back('}'); first_ = false; }
  void BeginArray() { Sep(); out_->push_back('['); first_ = true; }
  void EndArray() { out_->push_back(']'); first_ = false; }
  // "key": — the next value follows without a separator.
  void Key(std::string_view k) {
    Sep();
    out_->push_back('"');
    out_->append(k);
    out_->append("\":");
    first_ = true;
  }
  void String(std::string_view s) {
    Sep();
    out_->push_back('"');
    Escape(s);
    out_->push_back('"');
  }
  void Int(int64_t v) {
    Sep();
    AppendInt(v);
  }
  void Bool(bool v) { Sep(); out_->append(v ? "true" : "false"); }
  // Epoch seconds with millisecond precision: 1700000005.117
  void EpochMs(int64_t ms) {
    Sep();
    int64_t s = ms / 1000, r = ms % 1000;
    if (r < 0) { r += 1000; --s; }
    AppendInt(s);
    if (r != 0) {
      const char frac[4] = {'.', static_cast<char>('0' + r / 100), static_cast<char>('0' + r / 10 % 10),
                            static_cast<char>('0' + r % 10)};
      out_->append(frac, 4);
    }
  }
  void Blob(std::string_view bytes) {
    Sep();
    out_->push_back('"');
    Base64Encode(bytes, out_);
    out_->push_back('"');
  }
  // Convenience: "key": value
  void Field(std::string_view k, std::string_view v) { Key(k); String(v); }
  void FieldInt(std::string_view k, int64_t v) { Key(k); Int(v); }
  void FieldBool(std::string_view k, bool v) { Key(k); Bool(v); }

 private:
  void Sep() {
    if (!first_) out_->push_back(',');
    first_ = false;
  }
  // GetRecords writes a few numbers and strings per record, for up to 10,000 records:
  // digits go through to_chars and clean runs of a string are appended whole (per-character
  // push_back and fmt::format_to were ~10% of shoald's samples under GetRecords load).
  void AppendInt(int64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_->append(buf, static_cast<size_t>(end - buf));
  }
  static bool NeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }
  // Whether any of 8 bytes needs escaping (exact: the zero-byte tests can only misplace a
  // hit, not invent one). Strings are scanned a word at a time: each GetRecords record
  // has a 56-digit sequence number and a partition key.
  static bool WordNeedsEscape(uint64_t w) {
    constexpr uint64_t k01 = 0x0101010101010101ull, k80 = 0x8080808080808080ull;
    auto has_zero = [](uint64_t v) { return (v - k01) & ~v & k80; };
    return (((w - k01 * 0x20) & ~w & k80) | has_zero(w ^ (k01 * '"')) | has_zero(w ^ (k01 * '\\'))) != 0;
  }
  void Escape(std::string_view s) {
    size_t clean = 0;
    for (uint64_t w; clean + 8 <= s.size(); clean += 8) {
      std::memcpy(&w, s.data() + clean, 8);
      if (WordNeedsEscape(w)) break;
    }
    while (clean < s.size() && !NeedsEscape(static_cast<unsigned char>(s[clean]))) ++clean;
    out_->append(s.data(), clean);
    for (char ch : s.substr(clean)) {
      auto c = static_cast<unsigned char>(ch);
      switch (c) {
        case '"': out_->append("\\\""); break;
        case '\\': out_->append("\\\\"); break;
        case '\n': out_->append("\\n"); break;
        case '\r': out_->append("\\r"); break;
        case '\t': out_->append("\\t"); break;
        case '\b': out_->append("\\b"); break;
        case '\f': out_->append("\\f"); break;
        default:
          if (c < 0x20) fmt::format_to(std::back_inserter(*out_), "\\u{:04x}", c);
          else out_->push_back(ch);
      }
    }
  }
  std::string* out_;
  bool first_ = true;
};

}  // namespace shoal::api
