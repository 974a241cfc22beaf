#include "tests/fuzz/support/request_script.h"

#include <charconv>

namespace shoal::fuzz {
namespace {

// The string value of the first "key":"..." in a response body our JsonWriter wrote.
// Tokens and sequence numbers never need escapes, so the next quote ends the value.
bool FindString(std::string_view body, std::string_view key, std::string* out) {
  const std::string needle = "\"" + std::string(key) + "\":\"";
  size_t p = body.find(needle);
  if (p == std::string_view::npos) return false;
  p += needle.size();
  size_t q = body.find('"', p);
  if (q == std::string_view::npos) return false;
  out->assign(body.substr(p, q - p));
  return true;
}

void Replace(std::string* s, std::string_view from, std::string_view to) {
  for (size_t p = 0; (p = s->find(from, p)) != std::string::npos; p += to.size()) s->replace(p, from.size(), to);
}

}  // namespace

std::vector<ScriptLine> ParseScript(std::string_view text, size_t max_lines) {
  std::vector<ScriptLine> out;
  while (!text.empty() && out.size() < max_lines) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    ScriptLine l;
    size_t sp = line.find(' ');
    l.operation = line.substr(0, sp);
    l.body = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    if (l.operation == "tick") {
      l.tick = true;
      std::from_chars(l.body.data(), l.body.data() + l.body.size(), l.tick_ms);
      if (l.tick_ms < 0) l.tick_ms = 0;
    }
    out.push_back(l);
  }
  return out;
}

void ScriptState::Learn(std::string_view body) {
  if (!FindString(body, "NextShardIterator", &iter_)) FindString(body, "ShardIterator", &iter_);
  FindString(body, "NextToken", &next_);
  FindString(body, "SequenceNumber", &seq_);
}

std::string ScriptState::Substitute(std::string_view body) const {
  std::string s(body);
  Replace(&s, "$ITER", iter_);
  Replace(&s, "$NEXT", next_);
  Replace(&s, "$SEQ", seq_);
  return s;
}

}  // namespace shoal::fuzz
