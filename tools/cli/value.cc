#include "tools/cli/value.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cctype>
#include <cmath>

#include "api/base64.h"

namespace shoal::cli {

const Value* Value::Get(std::string_view key) const {
  if (kind != Kind::kObject) return nullptr;
  for (const auto& [k, v] : o)
    if (k == key) return &v;
  return nullptr;
}

Value* Value::Get(std::string_view key) {
  return const_cast<Value*>(static_cast<const Value*>(this)->Get(key));
}

void Value::Set(std::string_view key, Value v) {
  if (kind != Kind::kObject) *this = Object();
  for (auto& [k, old] : o) {
    if (k == key) {
      old = std::move(v);
      return;
    }
  }
  o.emplace_back(std::string(key), std::move(v));
}

bool Value::Erase(std::string_view key) {
  for (auto it = o.begin(); it != o.end(); ++it) {
    if (it->first == key) {
      o.erase(it);
      return true;
    }
  }
  return false;
}

bool Value::Truthy() const {
  switch (kind) {
    case Kind::kNull: return false;
    case Kind::kBool: return b;
    case Kind::kInt: return i != 0;
    case Kind::kDouble: return d != 0;
    case Kind::kString:
    case Kind::kBytes: return !s.empty();
    case Kind::kArray: return !a.empty();
    case Kind::kObject: return !o.empty();
  }
  return false;
}

namespace {

// float.__repr__: the shortest round-tripping form, always with a '.' or an exponent.
std::string PyFloat(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  std::string s = fmt::format("{}", d);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

// json's string encoder with ensure_ascii=False: only '"', '\\' and control characters
// are escaped; with ensure_ascii=True every non-ASCII code point becomes \uXXXX too.
void JsonString(std::string_view s, bool ensure_ascii, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out->append("\\\""); continue;
      case '\\': out->append("\\\\"); continue;
      case '\n': out->append("\\n"); continue;
      case '\r': out->append("\\r"); continue;
      case '\t': out->append("\\t"); continue;
      case '\b': out->append("\\b"); continue;
      case '\f': out->append("\\f"); continue;
      default: break;
    }
    if (c < 0x20) {
      fmt::format_to(std::back_inserter(*out), "\\u{:04x}", c);
    } else if (c >= 0x80 && ensure_ascii) {
      // Decode one UTF-8 sequence (invalid bytes pass as U+FFFD).
      uint32_t cp = 0xfffd;
      size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
      if (len > 1 && i + len <= s.size()) {
        cp = c & (0x3f >> (len - 1));
        for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
        i += len - 1;
      }
      if (cp >= 0x10000) {
        cp -= 0x10000;
        fmt::format_to(std::back_inserter(*out), "\\u{:04x}\\u{:04x}", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      } else {
        fmt::format_to(std::back_inserter(*out), "\\u{:04x}", cp);
      }
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

void Scalar(const Value& v, bool ensure_ascii, std::string* out) {
  switch (v.kind) {
    case Value::Kind::kNull: out->append("null"); break;
    case Value::Kind::kBool: out->append(v.b ? "true" : "false"); break;
    case Value::Kind::kInt: fmt::format_to(std::back_inserter(*out), "{}", v.i); break;
    case Value::Kind::kDouble: out->append(PyFloat(v.d)); break;
    case Value::Kind::kString: JsonString(v.s, ensure_ascii, out); break;
    case Value::Kind::kBytes: {
      std::string b64;
      api::Base64Encode(v.s, &b64);
      JsonString(b64, ensure_ascii, out);
      break;
    }
    default: break;
  }
}

void Pretty(const Value& v, int level, std::string* out) {
  const std::string pad((level + 1) * 4, ' ');
  if (v.kind == Value::Kind::kArray) {
    if (v.a.empty()) {
      out->append("[]");
      return;
    }
    out->append("[\n");
    for (size_t i = 0; i < v.a.size(); ++i) {
      out->append(pad);
      Pretty(v.a[i], level + 1, out);
      out->append(i + 1 < v.a.size() ? ",\n" : "\n");
    }
    out->append(level * 4, ' ');
    out->push_back(']');
  } else if (v.kind == Value::Kind::kObject) {
    if (v.o.empty()) {
      out->append("{}");
      return;
    }
    out->append("{\n");
    for (size_t i = 0; i < v.o.size(); ++i) {
      out->append(pad);
      JsonString(v.o[i].first, false, out);
      out->append(": ");
      Pretty(v.o[i].second, level + 1, out);
      out->append(i + 1 < v.o.size() ? ",\n" : "\n");
    }
    out->append(level * 4, ' ');
    out->push_back('}');
  } else {
    Scalar(v, false, out);
  }
}

void Flat(const Value& v, bool python_separators, std::string* out) {
  const char* item_sep = python_separators ? ", " : ",";
  const char* key_sep = python_separators ? ": " : ":";
  if (v.kind == Value::Kind::kArray) {
    out->push_back('[');
    for (size_t i = 0; i < v.a.size(); ++i) {
      if (i) out->append(item_sep);
      Flat(v.a[i], python_separators, out);
    }
    out->push_back(']');
  } else if (v.kind == Value::Kind::kObject) {
    out->push_back('{');
    for (size_t i = 0; i < v.o.size(); ++i) {
      if (i) out->append(item_sep);
      JsonString(v.o[i].first, python_separators, out);
      out->append(key_sep);
      Flat(v.o[i].second, python_separators, out);
    }
    out->push_back('}');
  } else {
    Scalar(v, python_separators, out);
  }
}

std::string PyStringRepr(std::string_view s, bool bytes) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char q = has_single && !has_double ? '"' : '\'';
  std::string out = bytes ? "b" : "";
  out.push_back(q);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (ch == q || ch == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (ch == '\n') {
      out.append("\\n");
    } else if (ch == '\r') {
      out.append("\\r");
    } else if (ch == '\t') {
      out.append("\\t");
    } else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80)) {
      out.append(fmt::format("\\x{:02x}", c));
    } else {
      out.push_back(ch);
    }
  }
  out.push_back(q);
  return out;
}

bool FromDom(simdjson::dom::element e, Value* out, std::string* error) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::NULL_VALUE: *out = Value::Null(); return true;
    case element_type::BOOL: *out = Value::Bool(e.get_bool().value_unsafe()); return true;
    case element_type::INT64: *out = Value::Int(e.get_int64().value_unsafe()); return true;
    case element_type::UINT64: {
      uint64_t u = e.get_uint64().value_unsafe();
      *out = u <= static_cast<uint64_t>(INT64_MAX) ? Value::Int(static_cast<int64_t>(u))
                                                   : Value::Double(static_cast<double>(u));
      return true;
    }
    case element_type::DOUBLE: *out = Value::Double(e.get_double().value_unsafe()); return true;
    case element_type::STRING: *out = Value::String(std::string(e.get_string().value_unsafe())); return true;
    case element_type::ARRAY: {
      *out = Value::Array();
      simdjson::dom::array arr = e.get_array().value_unsafe();
      for (simdjson::dom::element x : arr) {
        Value v;
        if (!FromDom(x, &v, error)) return false;
        out->a.push_back(std::move(v));
      }
      return true;
    }
    case element_type::OBJECT: {
      *out = Value::Object();
      simdjson::dom::object obj = e.get_object().value_unsafe();
      for (auto [k, x] : obj) {
        Value v;
        if (!FromDom(x, &v, error)) return false;
        out->Set(k, std::move(v));  // a repeated key keeps its first place, last value
      }
      return true;
    }
  }
  *error = "unsupported JSON value";
  return false;
}

}  // namespace

std::string ToPrettyJson(const Value& v) {
  std::string out;
  Pretty(v, 0, &out);
  return out;
}

std::string ToCompactJson(const Value& v) {
  std::string out;
  Flat(v, false, &out);
  return out;
}

std::string ToPythonDefaultJson(const Value& v) {
  std::string out;
  Flat(v, true, &out);
  return out;
}

std::string PyRepr(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull: return "None";
    case Value::Kind::kBool: return v.b ? "True" : "False";
    case Value::Kind::kInt: return fmt::format("{}", v.i);
    case Value::Kind::kDouble: {
      std::string s = PyFloat(v.d);
      if (s == "NaN") return "nan";
      if (s == "Infinity") return "inf";
      if (s == "-Infinity") return "-inf";
      return s;
    }
    case Value::Kind::kString: return PyStringRepr(v.s, false);
    case Value::Kind::kBytes: return PyStringRepr(v.s, true);
    case Value::Kind::kArray: {
      std::string out = "[";
      for (size_t i = 0; i < v.a.size(); ++i) {
        if (i) out += ", ";
        out += PyRepr(v.a[i]);
      }
      return out + "]";
    }
    case Value::Kind::kObject: {
      std::string out = "{";
      for (size_t i = 0; i < v.o.size(); ++i) {
        if (i) out += ", ";
        out += PyStringRepr(v.o[i].first, false) + ": " + PyRepr(v.o[i].second);
      }
      return out + "}";
    }
  }
  return "";
}

std::string PyStr(const Value& v) { return v.kind == Value::Kind::kString ? v.s : PyRepr(v); }

std::string PyTypeName(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull: return "<class 'NoneType'>";
    case Value::Kind::kBool: return "<class 'bool'>";
    case Value::Kind::kInt: return "<class 'int'>";
    case Value::Kind::kDouble: return "<class 'float'>";
    case Value::Kind::kString: return "<class 'str'>";
    case Value::Kind::kBytes: return "<class 'bytes'>";
    case Value::Kind::kArray: return "<class 'list'>";
    case Value::Kind::kObject: return "<class 'dict'>";
  }
  return "";
}

bool PyIntFromString(const std::string& s, int64_t* out) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  size_t b = 0, e = s.size();
  while (b < e && space(s[b])) ++b;
  while (e > b && space(s[e - 1])) --e;
  bool neg = false;
  size_t i = b;
  if (i < e && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  std::string digits;
  for (; i < e; ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i]))) {
      digits.push_back(s[i]);
    } else if (s[i] == '_' && !digits.empty() && i + 1 < e && std::isdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isdigit(static_cast<unsigned char>(s[i - 1]))) {
      continue;
    } else {
      return false;
    }
  }
  if (digits.empty()) return false;
  uint64_t v = 0;
  for (char c : digits) {
    if (v > (UINT64_MAX - 9) / 10) {
      v = UINT64_MAX;
      break;
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (neg) *out = v > static_cast<uint64_t>(INT64_MAX) ? INT64_MIN : -static_cast<int64_t>(v);
  else *out = v > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(v);
  return true;
}

bool ParseJson(std::string_view text, Value* out, std::string* error) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string padded(text);
  auto err = parser.parse(padded).get(doc);
  if (err != simdjson::SUCCESS) {
    *error = simdjson::error_message(err);
    return false;
  }
  return FromDom(doc, out, error);
}

}  // namespace shoal::cli
