#include "tools/cli/shorthand.h"

#include <fmt/format.h>

#include <cctype>

#include "tools/cli/errors.h"

namespace shoal::cli {
namespace {

bool IsSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// The character classes of shorthand.py's regexes (bytes >= 0x80 are all allowed: the
// originals allow every code point up to U+FFFF).
bool StartWord(unsigned char c) {
  return c == '!' || (c >= '#' && c <= '&') || (c >= '(' && c <= '+') || (c >= '-' && c <= '<') ||
         (c >= '>' && c <= 'Z') || (c >= '\\' && c <= 'z') || c >= '|';
}
bool FirstFollow(unsigned char c) {
  return IsSpace(c) || c == '!' || (c >= '#' && c <= '&') || (c >= '(' && c <= '+') || (c >= '-' && c <= '\\') ||
         (c >= '^' && c <= '|') || c >= '~';
}
bool SecondFollow(unsigned char c) {
  return IsSpace(c) || c == '!' || (c >= '#' && c <= '&') || (c >= '(' && c <= '+') || (c >= '-' && c <= '<') ||
         c >= '>';
}

struct SyntaxError {
  std::string message;
};

std::string RStrip(std::string s) {
  while (!s.empty() && IsSpace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

std::string UnescapeCommas(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == ',') {
      out.push_back(',');
      ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

class Parser {
 public:
  explicit Parser(const std::string& in) : in_(in) {}

  Value Parameter() {
    Value params = Value::Object();
    auto [key, val] = KeyVal();
    params.Set(key, std::move(val));
    size_t last_index = i_;
    while (i_ < in_.size()) {
      Expect(',', true);
      auto [k, v] = KeyVal();
      if (params.Get(k)) {
        throw SyntaxError{fmt::format(
            "Second instance of key \"{}\" encountered for input:\n{}\nThis is often because there is a "
            "preceding \",\" instead of a space.",
            k, Location(last_index + 1))};
      }
      params.Set(k, std::move(v));
      last_index = i_;
    }
    return params;
  }

 private:
  std::pair<std::string, Value> KeyVal() {
    std::string key = Key();
    Expect('=', true);
    return {key, Values()};
  }

  std::string Key() {
    size_t start = i_;
    while (!Eof()) {
      unsigned char c = Cur();
      if (!(std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '#' || c == '/' || c == ':')) break;
      ++i_;
    }
    return in_.substr(start, i_ - start);
  }

  Value Values() {
    if (Eof()) return Value::String("");
    if (Cur() == '[') return ExplicitList();
    if (Cur() == '{') return HashLiteral();
    return CsvValue();
  }

  Value CsvValue() {
    Value first = FirstValue();
    ConsumeWhitespace();
    if (Eof() || in_[i_] != ',') return first;
    Expect(',', true);
    Value list = Value::Array();
    list.a.push_back(first);
    while (true) {
      try {
        Value current = SecondValue();
        ConsumeWhitespace();
        if (Eof()) {
          list.a.push_back(std::move(current));
          break;
        }
        Expect(',', true);
        list.a.push_back(std::move(current));
      } catch (const SyntaxError&) {
        if (Eof()) throw;
        BacktrackTo(',');
        break;
      }
    }
    if (list.a.size() == 1) return first;
    return list;
  }

  Value ExplicitList() {
    Expect('[', true);
    Value values = Value::Array();
    while (CurOrEof() != ']') {
      values.a.push_back(ExplicitValues());
      ConsumeWhitespace();
      if (CurOrEof() != ']') {
        Expect(',');
        ConsumeWhitespace();
      }
    }
    Expect(']');
    return values;
  }

  Value ExplicitValues() {
    if (CurOrEof() == '[') return ExplicitList();
    if (CurOrEof() == '{') return HashLiteral();
    return FirstValue();
  }

  Value HashLiteral() {
    Expect('{', true);
    Value kv = Value::Object();
    while (CurOrEof() != '}') {
      std::string key = Key();
      Expect('=', true);
      Value v = ExplicitValues();
      ConsumeWhitespace();
      if (CurOrEof() != '}') {
        Expect(',');
        ConsumeWhitespace();
      }
      kv.Set(key, std::move(v));
    }
    Expect('}');
    return kv;
  }

  Value FirstValue() {
    if (CurOrEof() == '\'') return Value::String(Quoted('\''));
    if (CurOrEof() == '"') return Value::String(Quoted('"'));
    // _FIRST_VALUE: (\\,|[start])(\\,|[follow])*
    size_t start = i_;
    size_t j = i_;
    if (!MatchClass(&j, StartWord)) return Value::String("");
    while (MatchClass(&j, FirstFollow)) {
    }
    i_ = j;
    return Value::String(RStrip(UnescapeCommas(in_.substr(start, j - start))));
  }

  Value SecondValue() {
    if (CurOrEof() == '\'') return Value::String(Quoted('\''));
    if (CurOrEof() == '"') return Value::String(Quoted('"'));
    size_t start = i_;
    size_t j = i_;
    if (!MatchClass(&j, StartWord)) throw SyntaxError{Expected("<second>", "<none>", i_)};
    while (MatchClass(&j, SecondFollow)) {
    }
    i_ = j;
    return Value::String(RStrip(UnescapeCommas(in_.substr(start, j - start))));
  }

  // One step of (\\,|[class]).
  bool MatchClass(size_t* j, bool (*cls)(unsigned char)) const {
    if (*j >= in_.size()) return false;
    if (in_[*j] == '\\' && *j + 1 < in_.size() && in_[*j + 1] == ',') {
      *j += 2;
      return true;
    }
    if (cls(static_cast<unsigned char>(in_[*j]))) {
      ++*j;
      return true;
    }
    return false;
  }

  // '(?:\\\\|\\'|[^'])*' and its double-quoted twin; unescapes \' and \\ afterwards.
  std::string Quoted(char q) {
    size_t j = i_ + 1;
    size_t end = std::string::npos;
    while (j < in_.size()) {
      if (in_[j] == '\\' && j + 1 < in_.size() && (in_[j + 1] == '\\' || in_[j + 1] == q)) {
        j += 2;
      } else if (in_[j] == q) {
        end = j;
        break;
      } else {
        ++j;
      }
    }
    if (end == std::string::npos) {
      // The regex would backtrack into a trailing "\'": the last quote closes the value.
      size_t last = in_.rfind(q);
      if (last == std::string::npos || last <= i_)
        throw SyntaxError{Expected(q == '\'' ? "<singled quoted>" : "<double quoted>", "<none>", i_)};
      end = last;
    }
    std::string raw = in_.substr(i_ + 1, end - i_ - 1);
    i_ = end + 1;
    std::string out;
    const std::string esc_q = std::string("\\") + q;
    for (size_t k = 0; k < raw.size(); ++k) {
      if (raw.compare(k, 2, esc_q) == 0) {
        out.push_back(q);
        ++k;
      } else {
        out.push_back(raw[k]);
      }
    }
    std::string final_out;
    for (size_t k = 0; k < out.size(); ++k) {
      if (out[k] == '\\' && k + 1 < out.size() && out[k + 1] == '\\') {
        final_out.push_back('\\');
        ++k;
      } else {
        final_out.push_back(out[k]);
      }
    }
    return final_out;
  }

  void Expect(char c, bool consume_whitespace = false) {
    if (consume_whitespace) ConsumeWhitespace();
    if (i_ >= in_.size()) throw SyntaxError{Expected(std::string(1, c), "EOF", i_)};
    if (in_[i_] != c) throw SyntaxError{Expected(std::string(1, c), std::string(1, in_[i_]), i_)};
    ++i_;
    if (consume_whitespace) ConsumeWhitespace();
  }

  std::string Expected(const std::string& expected, const std::string& actual, size_t index) const {
    return fmt::format("Expected: '{}', received: '{}' for input:\n{}", expected, actual, Location(index));
  }

  std::string Location(size_t index) const {
    std::string consumed = in_, remaining;
    size_t num_spaces = index;
    std::string before = in_.substr(0, std::min(index, in_.size()));
    size_t nl = before.rfind('\n');
    if (nl != std::string::npos) num_spaces = index - nl - 1;
    size_t next = index < in_.size() ? in_.find('\n', index) : std::string::npos;
    if (next != std::string::npos) {
      consumed = in_.substr(0, next);
      remaining = in_.substr(next);
    }
    return consumed + "\n" + std::string(num_spaces, ' ') + "^" + remaining;
  }

  void BacktrackTo(char c) {
    while (i_ > 0 && (i_ >= in_.size() || in_[i_] != c)) --i_;
  }
  void ConsumeWhitespace() {
    while (!Eof() && IsSpace(Cur())) ++i_;
  }
  bool Eof() const { return i_ >= in_.size(); }
  unsigned char Cur() const { return static_cast<unsigned char>(in_[i_]); }
  int CurOrEof() const { return Eof() ? -1 : in_[i_]; }

  const std::string& in_;
  size_t i_ = 0;
};

}  // namespace

Value ParseShorthand(const std::string& text, const std::string& cli_name) {
  try {
    Parser p(text);
    return p.Parameter();
  } catch (const SyntaxError& e) {
    ParamFailure(fmt::format("Error parsing parameter '{}': {}", cli_name, e.message));
  }
}

void ApplyShorthandModel(const Shape& shape, Value* value, const std::string& cli_name) {
  switch (shape.type) {
    case Type::kStructure:
      if (!value->is_object()) return;
      for (const Member& m : shape.members)
        if (Value* v = value->Get(m.name)) ApplyShorthandModel(*m.shape, v, cli_name);
      return;
    case Type::kList:
      if (!value->is_array()) {
        if (!value->is_null()) {
          Value list = Value::Array();
          list.a.push_back(std::move(*value));
          *value = std::move(list);
        }
        return;
      }
      for (Value& e : value->a) ApplyShorthandModel(*shape.element, &e, cli_name);
      return;
    case Type::kMap:
      if (!value->is_object()) return;
      for (auto& [k, v] : value->o) ApplyShorthandModel(*shape.element, &v, cli_name);
      return;
    case Type::kInteger:
    case Type::kLong:
      if (value->is_string()) {
        int64_t n;
        if (!PyIntFromString(value->s, &n))
          ParamFailure(fmt::format("invalid literal for int() with base 10: {}", PyRepr(*value)));
        *value = Value::Int(n);
      }
      return;
    case Type::kBoolean:
      if (value->is_string()) {
        std::string lower;
        for (char c : value->s) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        if (lower == "true") *value = Value::Bool(true);
        else if (lower == "false") *value = Value::Bool(false);
      }
      return;
    default:
      return;
  }
}

}  // namespace shoal::cli
