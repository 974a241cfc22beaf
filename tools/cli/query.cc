#include "tools/cli/query.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "tools/cli/errors.h"

namespace shoal::cli {
namespace {

[[noreturn]] void Unsupported(const std::string& expr, const std::string& why) {
  UsageError(fmt::format(
      "argument --query: {} in '{}'. shoal supports a JMESPath subset: a.b, \"quoted\", [N], [*], .*, [], [a, b], {{k: a}} and |",
      why, expr));
}

}  // namespace

class Query::Parser {
 public:
  explicit Parser(const std::string& expr) : e_(expr) {}

  Pipeline ParseAll() {
    Pipeline p = ParsePipeline();
    Ws();
    if (i_ < e_.size()) Fail(fmt::format("unexpected '{}'", e_[i_]));
    return p;
  }

 private:
  [[noreturn]] void Fail(const std::string& why) { Unsupported(e_, why); }
  void Ws() {
    while (i_ < e_.size() && std::isspace(static_cast<unsigned char>(e_[i_]))) ++i_;
  }
  bool Peek(char c) {
    Ws();
    return i_ < e_.size() && e_[i_] == c;
  }
  void Expect(char c) {
    if (!Peek(c)) Fail(i_ < e_.size() ? fmt::format("expected '{}' but found '{}'", c, e_[i_]) : fmt::format("expected '{}'", c));
    ++i_;
  }

  Pipeline ParsePipeline() {
    Pipeline p;
    p.push_back(ParseChain());
    while (Peek('|')) {
      ++i_;
      p.push_back(ParseChain());
    }
    return p;
  }

  std::string Identifier() {
    Ws();
    if (i_ < e_.size() && e_[i_] == '"') {
      size_t close = e_.find('"', i_ + 1);
      if (close == std::string::npos) Fail("unterminated quoted identifier");
      std::string id = e_.substr(i_ + 1, close - i_ - 1);
      i_ = close + 1;
      return id;
    }
    size_t start = i_;
    while (i_ < e_.size() && (std::isalnum(static_cast<unsigned char>(e_[i_])) || e_[i_] == '_')) ++i_;
    if (start == i_ || std::isdigit(static_cast<unsigned char>(e_[start])))
      Fail(i_ < e_.size() ? fmt::format("unexpected '{}'", e_[i_]) : "the expression ends early");
    return e_.substr(start, i_ - start);
  }

  Step MultiList() {  // after '['
    Step s{Step::kMultiList, "", 0, {}};
    do {
      s.multi.emplace_back("", ParsePipeline());
    } while (Peek(',') && (++i_, true));
    Expect(']');
    return s;
  }

  Step MultiHash() {  // after '{'
    Step s{Step::kMultiHash, "", 0, {}};
    do {
      std::string key = Identifier();
      Expect(':');
      s.multi.emplace_back(key, ParsePipeline());
    } while (Peek(',') && (++i_, true));
    Expect('}');
    return s;
  }

  // '[' already consumed: ], *], N], or a multiselect list when `allow_multi`.
  Step Bracket(bool allow_multi) {
    Ws();
    if (Peek(']')) {
      ++i_;
      return {Step::kFlatten, "", 0, {}};
    }
    if (Peek('*')) {
      size_t save = i_;
      ++i_;
      if (Peek(']')) {
        ++i_;
        return {Step::kListWildcard, "", 0, {}};
      }
      i_ = save;
    }
    size_t start = i_;
    if (i_ < e_.size() && e_[i_] == '-') ++i_;
    while (i_ < e_.size() && std::isdigit(static_cast<unsigned char>(e_[i_]))) ++i_;
    std::string num = e_.substr(start, i_ - start);
    if (!num.empty() && num != "-" && Peek(']')) {
      ++i_;
      return {Step::kIndex, "", std::stol(num), {}};
    }
    i_ = start;
    if (!allow_multi) Fail("only [N], [*], [] and [a, b] are supported inside brackets");
    return MultiList();
  }

  Steps ParseChain() {
    Steps steps;
    Ws();
    if (i_ >= e_.size()) Fail("the expression ends early");
    if (e_[i_] == '[') {
      ++i_;
      steps.push_back(Bracket(true));
    } else if (e_[i_] == '{') {
      ++i_;
      steps.push_back(MultiHash());
    } else if (e_[i_] == '*') {
      ++i_;
      steps.push_back({Step::kObjectWildcard, "", 0, {}});
    } else if (e_[i_] == '@') {
      ++i_;
    } else {
      steps.push_back({Step::kField, Identifier(), 0, {}});
    }
    for (;;) {
      Ws();
      if (i_ >= e_.size()) break;
      if (e_[i_] == '[') {
        ++i_;
        steps.push_back(Bracket(false));
      } else if (e_[i_] == '.') {
        ++i_;
        Ws();
        if (i_ < e_.size() && e_[i_] == '*') {
          ++i_;
          steps.push_back({Step::kObjectWildcard, "", 0, {}});
        } else if (i_ < e_.size() && e_[i_] == '[') {
          ++i_;
          steps.push_back(MultiList());
        } else if (i_ < e_.size() && e_[i_] == '{') {
          ++i_;
          steps.push_back(MultiHash());
        } else {
          steps.push_back({Step::kField, Identifier(), 0, {}});
        }
      } else {
        break;  // '|', ',', ']', '}' or an error the caller reports
      }
    }
    return steps;
  }

  const std::string& e_;
  size_t i_ = 0;
};

Query::Query(const std::string& expr) { pipeline_ = Parser(expr).ParseAll(); }

Value Query::Run(const Pipeline& p, const Value& data) {
  Value cur = data;
  for (const Steps& steps : p) cur = Eval(steps, 0, steps.size(), cur);
  return cur;
}

Value Query::Search(const Value& data) const { return Run(pipeline_, data); }

Value Query::Project(const Steps& steps, size_t after, size_t end, const std::vector<const Value*>& items) {
  // The projection's right side runs up to the next flatten, which applies to its result.
  size_t stop = after;
  while (stop < end && steps[stop].kind != Step::kFlatten) ++stop;
  Value res = Value::Array();
  for (const Value* e : items) {
    Value r = Eval(steps, after, stop, *e);
    if (!r.is_null()) res.a.push_back(std::move(r));
  }
  if (stop < end) return Eval(steps, stop, end, res);
  return res;
}

Value Query::Eval(const Steps& steps, size_t begin, size_t end, const Value& start) {
  Value cur = start;
  for (size_t i = begin; i < end; ++i) {
    const Step& s = steps[i];
    switch (s.kind) {
      case Step::kField: {
        const Value* v = cur.is_object() ? cur.Get(s.field) : nullptr;
        cur = v ? *v : Value::Null();
        break;
      }
      case Step::kIndex: {
        if (!cur.is_array()) return Value::Null();
        long n = static_cast<long>(cur.a.size());
        long k = s.index < 0 ? n + s.index : s.index;
        if (k < 0 || k >= n) return Value::Null();
        Value v = cur.a[static_cast<size_t>(k)];
        cur = std::move(v);
        break;
      }
      case Step::kListWildcard: {
        if (!cur.is_array()) return Value::Null();
        std::vector<const Value*> items;
        for (const Value& e : cur.a) items.push_back(&e);
        return Project(steps, i + 1, end, items);
      }
      case Step::kObjectWildcard: {
        if (!cur.is_object()) return Value::Null();
        std::vector<const Value*> items;
        for (const auto& kv : cur.o) items.push_back(&kv.second);
        return Project(steps, i + 1, end, items);
      }
      case Step::kMultiList: {
        if (cur.is_null()) return cur;
        Value list = Value::Array();
        for (const auto& [k, p] : s.multi) list.a.push_back(Run(p, cur));
        cur = std::move(list);
        break;
      }
      case Step::kMultiHash: {
        if (cur.is_null()) return cur;
        Value obj = Value::Object();
        for (const auto& [k, p] : s.multi) obj.Set(k, Run(p, cur));
        cur = std::move(obj);
        break;
      }
      case Step::kFlatten: {
        if (!cur.is_array()) return Value::Null();
        Value flat = Value::Array();
        for (const Value& e : cur.a) {
          if (e.is_array()) flat.a.insert(flat.a.end(), e.a.begin(), e.a.end());
          else flat.a.push_back(e);
        }
        std::vector<const Value*> items;
        for (const Value& e : flat.a) items.push_back(&e);
        return Project(steps, i + 1, end, items);
      }
    }
    if (cur.is_null()) return cur;
  }
  return cur;
}

namespace {

std::string PyText(const Value& v) { return PyStr(v); }

void FormatValue(const Value& item, std::string* out, const std::string* identifier,
                 const std::vector<std::string>* scalar_keys);

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

void ScalarList(const std::vector<const Value*>& elements, const std::string* identifier, std::string* out) {
  if (identifier) {
    for (const Value* e : elements) *out += Upper(*identifier) + "\t" + PyText(*e) + "\n";
  } else {
    std::string line;
    for (size_t i = 0; i < elements.size(); ++i) line += (i ? "\t" : "") + PyText(*elements[i]);
    *out += line + "\n";
  }
}

void FormatList(const Value& item, const std::string* identifier, std::string* out) {
  if (item.a.empty()) return;
  bool any_dict = std::any_of(item.a.begin(), item.a.end(), [](const Value& e) { return e.is_object(); });
  bool any_list = std::any_of(item.a.begin(), item.a.end(), [](const Value& e) { return e.is_array(); });
  if (any_dict) {
    std::set<std::string> keys;
    for (const Value& e : item.a)
      if (e.is_object())
        for (const auto& [k, v] : e.o)
          if (!v.is_object() && !v.is_array()) keys.insert(k);
    std::vector<std::string> all(keys.begin(), keys.end());
    for (const Value& e : item.a) FormatValue(e, out, identifier, &all);
  } else if (any_list) {
    std::vector<const Value*> scalars;
    std::vector<const Value*> others;
    for (const Value& e : item.a) (e.is_object() || e.is_array() ? others : scalars).push_back(&e);
    if (!scalars.empty()) ScalarList(scalars, identifier, out);
    for (const Value* e : others) FormatValue(*e, out, identifier, nullptr);
  } else {
    std::vector<const Value*> all;
    for (const Value& e : item.a) all.push_back(&e);
    ScalarList(all, identifier, out);
  }
}

void FormatDict(const std::vector<std::string>* scalar_keys, const Value& item, const std::string* identifier,
                std::string* out) {
  std::vector<std::string> scalars;
  std::vector<std::pair<std::string, const Value*>> non_scalars;
  if (!scalar_keys) {
    std::vector<std::pair<std::string, const Value*>> sorted;
    for (const auto& [k, v] : item.o) sorted.emplace_back(k, &v);
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [k, v] : sorted) {
      if (v->is_object() || v->is_array()) non_scalars.emplace_back(k, v);
      else scalars.push_back(PyText(*v));
    }
  } else {
    for (const std::string& k : *scalar_keys) {
      const Value* v = item.Get(k);
      scalars.push_back(v ? PyText(*v) : "");
    }
    std::vector<std::string> remaining;
    for (const auto& [k, v] : item.o)
      if (std::find(scalar_keys->begin(), scalar_keys->end(), k) == scalar_keys->end()) remaining.push_back(k);
    std::sort(remaining.begin(), remaining.end());
    for (const std::string& k : remaining) non_scalars.emplace_back(k, item.Get(k));
  }
  if (!scalars.empty()) {
    if (identifier) scalars.insert(scalars.begin(), Upper(*identifier));
    std::string line;
    for (size_t i = 0; i < scalars.size(); ++i) line += (i ? "\t" : "") + scalars[i];
    *out += line + "\n";
  }
  for (const auto& [k, v] : non_scalars) FormatValue(*v, out, &k, nullptr);
}

void FormatValue(const Value& item, std::string* out, const std::string* identifier,
                 const std::vector<std::string>* scalar_keys) {
  if (item.is_object()) FormatDict(scalar_keys, item, identifier, out);
  else if (item.is_array()) FormatList(item, identifier, out);
  else *out += PyText(item) + "\n";
}

}  // namespace

std::string FormatText(const Value& data) {
  std::string out;
  FormatValue(data, &out, nullptr, nullptr);
  return out;
}

}  // namespace shoal::cli
