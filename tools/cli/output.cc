#include "tools/cli/output.h"

#include <fmt/format.h>
#include <time.h>

#include <cmath>
#include <cstdlib>

#include "api/base64.h"
#include "tools/cli/errors.h"
#include "tools/cli/params.h"

namespace shoal::cli {

Value ParseResponse(const Shape& shape, const Value& body) {
  switch (shape.type) {
    case Type::kStructure: {
      Value out = Value::Object();
      if (!body.is_object()) return out;
      for (const Member& m : shape.members) {
        const Value* raw = body.Get(m.name);
        if (raw && !raw->is_null()) out.Set(m.name, ParseResponse(*m.shape, *raw));
      }
      return out;
    }
    case Type::kList: {
      if (!body.is_array()) return body;
      Value out = Value::Array();
      for (const Value& e : body.a) out.a.push_back(ParseResponse(*shape.element, e));
      return out;
    }
    case Type::kMap: {
      if (!body.is_object()) return body;
      Value out = Value::Object();
      for (const auto& [k, v] : body.o) out.Set(k, ParseResponse(*shape.element, v));
      return out;
    }
    case Type::kTimestamp:
      if (body.kind == Value::Kind::kInt || body.kind == Value::Kind::kDouble) return Value::String(IsoTimestamp(body));
      return body;
    default:
      return body;  // blobs stay base64 (the CLI's identity blob parser)
  }
}

std::string IsoTimestamp(const Value& epoch) {
  int64_t secs;
  int64_t us = 0;
  if (epoch.kind == Value::Kind::kInt) {
    secs = epoch.i;
  } else {
    double whole;
    double frac = std::modf(epoch.d, &whole);
    secs = static_cast<int64_t>(whole);
    us = static_cast<int64_t>(std::nearbyint(frac * 1e6));  // round half to even, as CPython
    if (us >= 1000000) {
      secs += 1;
      us -= 1000000;
    } else if (us < 0) {
      secs -= 1;
      us += 1000000;
    }
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  localtime_r(&t, &tm);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (us) out += fmt::format(".{:06}", us);
  long off = tm.tm_gmtoff;
  char sign = off < 0 ? '-' : '+';
  off = std::labs(off);
  out += fmt::format("{}{:02}:{:02}", sign, off / 3600, (off % 3600) / 60);
  if (off % 60) out += fmt::format(":{:02}", off % 60);
  return out;
}

namespace {

struct Segment {
  std::string key;
  std::vector<long> indexes;
};

std::vector<Segment> SplitPath(std::string_view path) {
  std::vector<Segment> segs;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string_view part = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    Segment s;
    size_t br = part.find('[');
    s.key = std::string(part.substr(0, br));
    while (br != std::string_view::npos) {
      size_t close = part.find(']', br);
      s.indexes.push_back(std::strtol(std::string(part.substr(br + 1, close - br - 1)).c_str(), nullptr, 10));
      br = part.find('[', close);
    }
    segs.push_back(std::move(s));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return segs;
}

}  // namespace

const Value* SearchPath(const Value& root, std::string_view path) {
  const Value* cur = &root;
  for (const Segment& s : SplitPath(path)) {
    cur = cur->Get(s.key);
    if (!cur) return nullptr;
    for (long idx : s.indexes) {
      if (!cur->is_array()) return nullptr;
      long n = static_cast<long>(cur->a.size());
      long i = idx < 0 ? n + idx : idx;
      if (i < 0 || i >= n) return nullptr;
      cur = &cur->a[static_cast<size_t>(i)];
    }
  }
  return cur;
}

void SetPath(Value* root, std::string_view path, Value v) {
  size_t dot = path.find('.');
  if (dot == std::string_view::npos) {
    root->Set(path, std::move(v));
    return;
  }
  std::string_view key = path.substr(0, dot);
  if (!root->Get(key)) root->Set(key, Value::Object());
  SetPath(root->Get(key), path.substr(dot + 1), std::move(v));
}

namespace {

// botocore.utils.merge_dicts(dict1, dict2)
void MergeDicts(Value* a, const Value& b) {
  for (const auto& [k, v] : b.o) {
    Value* existing = a->Get(k);
    if (v.is_object() && existing) MergeDicts(existing, v);
    else a->Set(k, v);
  }
}

using Token = std::vector<std::pair<std::string, Value>>;  // input token -> value (null: none)

bool AllNull(const Token& t) {
  for (const auto& kv : t)
    if (!kv.second.is_null()) return false;
  return true;
}

std::string EncodeToken(const Token& t, std::optional<int64_t> truncate) {
  Value obj = Value::Object();
  for (const auto& [k, v] : t) obj.Set(k, v);
  if (truncate) obj.Set("boto_truncate_amount", Value::Int(*truncate));
  std::string out;
  api::Base64Encode(ToPythonDefaultJson(obj), &out);
  return out;
}

// PageIterator._parse_starting_token (and its deprecated "token___N" fallback).
Token ParseStartingToken(const Paginator& p, const std::string& text, int64_t* index) {
  *index = 0;
  std::string json;
  Value decoded;
  std::string err;
  if (PyBase64Decode(text, &json) && ParseJson(json, &decoded, &err) && decoded.is_object()) {
    Token t;
    for (const auto& [k, v] : decoded.o) {
      if (k == "boto_truncate_amount") {
        *index = v.kind == Value::Kind::kInt ? v.i : 0;
      } else {
        t.emplace_back(k, v);
      }
    }
    return t;
  }
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    size_t sep = text.find("___", start);
    parts.push_back(text.substr(start, sep == std::string::npos ? std::string::npos : sep - start));
    if (sep == std::string::npos) break;
    start = sep + 3;
  }
  if (parts.size() == p.input_tokens.size() + 1) {
    int64_t n;
    if (PyIntFromString(parts.back(), &n)) {
      *index = n;
      parts.pop_back();
    } else {
      parts = {text};
    }
  }
  if (parts.size() > p.input_tokens.size())
    ParamFailure(fmt::format("Starting token does not match input token: {}", text));
  Token t;
  for (size_t i = 0; i < p.input_tokens.size(); ++i) {
    Value v = i < parts.size() && parts[i] != "None" ? Value::String(parts[i]) : Value::Null();
    t.emplace_back(p.input_tokens[i], std::move(v));
  }
  return t;
}

void InjectToken(const Operation& op, Value* params, const Token& t) {
  for (const auto& [k, v] : t) {
    if (v.is_null() || (v.is_string() && v.s == "None")) params->Erase(k);
    else params->Set(k, v);
  }
  // ListShards refuses NextToken together with the stream's name (AWS and Shoal alike);
  // botocore's paginator sends both and fails on the second page. The token names the
  // stream and the filter, so the follow-up pages carry the token alone.
  if (op.name == "ListShards" && params->Get("NextToken")) {
    for (const char* k : {"StreamName", "StreamARN", "ExclusiveStartShardId", "StreamCreationTimestamp", "ShardFilter"})
      params->Erase(k);
  }
}

Value EmptyLike(const Value* sample) {
  if (!sample) return Value::Null();
  switch (sample->kind) {
    case Value::Kind::kArray: return Value::Array();
    case Value::Kind::kString: return Value::String("");
    case Value::Kind::kInt: return Value::Int(0);
    case Value::Kind::kDouble: return Value::Double(0);
    default: return Value::Null();
  }
}

}  // namespace

Value Paginate(const Operation& op, Value params, const PagingOptions& paging, const PageCall& call,
               const std::function<void(const Value&)>& on_page) {
  const Paginator& p = *op.paginator;
  const std::string& primary = p.result_keys[0];
  Token next;
  for (const std::string& k : p.input_tokens) next.emplace_back(k, Value::Null());
  int64_t starting_index = 0;
  if (paging.starting_token) {
    next = ParseStartingToken(p, *paging.starting_token, &starting_index);
    InjectToken(op, &params, next);
  }
  if (paging.page_size) params.Set(p.limit_key, Value::Int(*paging.page_size));

  Value complete = Value::Object();
  Value non_aggregate = Value::Object();
  std::optional<std::string> resume;
  std::optional<Token> previous;
  bool first = true;
  int64_t total = 0;
  bool first_page_seen = false;
  auto accumulate = [&](const Value& page) {
    if (on_page) {
      Value current = first_page_seen ? Value::Object() : non_aggregate;
      first_page_seen = true;
      for (const std::string& expr : p.result_keys) {
        const Value* v = SearchPath(page, expr);
        SetPath(&current, expr, v ? *v : Value::Null());
      }
      on_page(current);
    }
    for (const std::string& expr : p.result_keys) {
      const Value* rv = SearchPath(page, expr);
      if (!rv) continue;
      Value* existing = const_cast<Value*>(SearchPath(complete, expr));
      if (!existing) {
        SetPath(&complete, expr, *rv);
      } else if (rv->is_array() && existing->is_array()) {
        existing->a.insert(existing->a.end(), rv->a.begin(), rv->a.end());
      } else if (rv->kind == Value::Kind::kInt && existing->kind == Value::Kind::kInt) {
        SetPath(&complete, expr, Value::Int(existing->i + rv->i));
      } else if (rv->is_string() && existing->is_string()) {
        SetPath(&complete, expr, Value::String(existing->s + rv->s));
      }
    }
  };
  while (true) {
    Value page = call(params);
    int64_t starting_truncation = 0;
    if (first) {
      if (paging.starting_token) {
        // _handle_first_request: skip what the previous run already printed.
        starting_truncation = starting_index;
        const Value* all = SearchPath(page, primary);
        Value data = Value::Null();
        if (all && all->is_array()) {
          data = Value::Array();
          for (size_t i = static_cast<size_t>(std::min<int64_t>(starting_index, static_cast<int64_t>(all->a.size())));
               i < all->a.size(); ++i)
            data.a.push_back(all->a[i]);
        }
        SetPath(&page, primary, std::move(data));
        for (size_t k = 1; k < p.result_keys.size(); ++k)
          SetPath(&page, p.result_keys[k], EmptyLike(SearchPath(page, p.result_keys[k])));
      }
      first = false;
      for (const std::string& expr : p.non_aggregate_keys) {
        const Value* v = SearchPath(page, expr);
        SetPath(&non_aggregate, expr, v ? *v : Value::Null());
      }
    }
    const Value* current = SearchPath(page, primary);
    int64_t n = current && current->is_array() ? static_cast<int64_t>(current->a.size()) : 0;
    int64_t truncate_amount = paging.max_items ? total + n - *paging.max_items : 0;
    if (truncate_amount > 0) {
      int64_t keep = n - truncate_amount;
      Value kept = Value::Array();
      for (int64_t i = 0; i < keep; ++i) kept.a.push_back(current->a[static_cast<size_t>(i)]);
      SetPath(&page, primary, std::move(kept));
      resume = EncodeToken(next, keep + starting_truncation);
      accumulate(page);
      break;
    }
    accumulate(page);
    total += n;
    // _get_next_token
    Token token;
    bool more = true;
    if (!p.more_results.empty()) {
      const Value* m = SearchPath(page, p.more_results);
      more = m && m->Truthy();
    }
    if (more) {
      for (size_t i = 0; i < p.output_tokens.size(); ++i) {
        const Value* v = SearchPath(page, p.output_tokens[i]);
        token.emplace_back(p.input_tokens[i], v && v->Truthy() ? *v : Value::Null());
      }
    }
    next = token;
    if (AllNull(token)) break;
    if (paging.max_items && total == *paging.max_items) {
      resume = EncodeToken(token, std::nullopt);
      break;
    }
    if (previous) {
      bool same = previous->size() == token.size();
      for (size_t i = 0; same && i < token.size(); ++i)
        same = ToCompactJson(previous->at(i).second) == ToCompactJson(token[i].second);
      if (same) {
        Value obj = Value::Object();
        for (const auto& [k, v] : token) obj.Set(k, v);
        throw CliError(kExitGeneral, fmt::format("\nThe same next token was received twice: {}\n", PyRepr(obj)));
      }
    }
    InjectToken(op, &params, token);
    previous = token;
  }
  MergeDicts(&complete, non_aggregate);
  if (resume) complete.Set("NextToken", Value::String(*resume));
  return complete;
}

}  // namespace shoal::cli
