#include "api/schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "api/base64.h"

namespace shoal::api {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

std::string_view TypeWord(Ty t) {
  switch (t) {
    case Ty::kString: return "String";
    case Ty::kInteger: return "Integer";
    case Ty::kLong: return "Long";
    case Ty::kBoolean: return "Boolean";
    default: return "";  // only the scalar types above are named in messages
  }
}

std::string PathName(std::string_view parent, const char* name) {
  std::string n(name);
  if (!n.empty()) n[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(n[0])));
  return parent.empty() ? n : std::string(parent) + "." + n;
}

bool IsNumber(element_type t) {
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

// Pass 1: the first type error, in the Java front end's words (§1.7.3).
class TypeChecker {
 public:
  explicit TypeChecker(ValidationResult* out) : out_(out) {}
  bool Struct(simdjson::dom::object obj, std::span<const Field> fields) {
    for (const Field& f : fields) {
      element v;
      if (obj[f.name].get(v) != simdjson::SUCCESS || v.is_null()) continue;
      if (!Value(v, f.type, f)) return false;
    }
    return true;
  }

 private:
  bool Fail(std::string msg) {
    out_->kind = ValidationResult::kSerialization;
    out_->message = std::move(msg);
    return false;
  }
  bool Value(element v, Ty type, const Field& f) {
    const element_type t = v.type();
    if (t == element_type::ARRAY && type != Ty::kList) return Fail("Start of list found where not expected");
    if (t == element_type::OBJECT && type != Ty::kMap && type != Ty::kStruct)
      return Fail("Start of structure or map found where not expected.");
    switch (type) {
      case Ty::kString:
        if (t == element_type::BOOL) return Fail("class java.lang.Boolean can not be converted to an String");
        if (IsNumber(t))
          return Fail("class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String");
        return true;
      case Ty::kInteger:
      case Ty::kLong:
        if (t == element_type::BOOL)
          return Fail(fmt::format("class java.lang.Boolean can not be converted to an {}", TypeWord(type)));
        if (t == element_type::STRING)
          return Fail(fmt::format("class java.lang.String can not be converted to an {}", TypeWord(type)));
        return true;
      case Ty::kBoolean:
        if (IsNumber(t))
          return Fail("class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean");
        if (t == element_type::STRING) {
          std::string s(v.get_string().value_unsafe());
          for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          return Fail(fmt::format("'{}' can not be converted to an Boolean", s));
        }
        return true;
      case Ty::kBlob: {
        if (t == element_type::BOOL) return Fail("class java.lang.Boolean can not be converted to a Blob");
        if (IsNumber(t))
          return Fail("class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob");
        std::string_view s = v.get_string().value_unsafe();
        std::string why;
        size_t at = out_->arena.size();
        if (!Decode(s, &why)) return Fail(fmt::format("'{}' can not be converted to a Blob: {}", s, why));
        out_->blobs.emplace_back(at, out_->arena.size() - at);
        return true;
      }
      case Ty::kTimestamp:
        if (t == element_type::BOOL)
          return Fail("class java.lang.Boolean can not be converted to milliseconds since epoch");
        if (t == element_type::STRING)
          return Fail("class java.lang.String can not be converted to milliseconds since epoch");
        return true;
      case Ty::kList: {
        if (t != element_type::ARRAY) {
          if (t == element_type::OBJECT) return Fail("Start of structure or map found where not expected.");
          return Fail("Expected list or null");
        }
        simdjson::dom::array arr = v.get_array().value_unsafe();
        for (element e : arr) {
          if (e.is_null()) continue;
          if (f.element == Ty::kStruct) {
            if (e.type() != element_type::OBJECT) {
              if (e.type() == element_type::ARRAY) return Fail("Start of list found where not expected");
              return Fail("Expected null");
            }
            if (!Struct(e.get_object().value_unsafe(), f.members)) return false;
          } else if (!Value(e, f.element, f)) {
            return false;
          }
        }
        return true;
      }
      case Ty::kMap: {
        if (t != element_type::OBJECT) return Fail("Expected map or null");
        simdjson::dom::object mo = v.get_object().value_unsafe();
        for (auto [k, e] : mo) {
          (void)k;
          if (!e.is_null() && !Value(e, Ty::kString, f)) return false;
        }
        return true;
      }
      case Ty::kStruct:
        if (t != element_type::OBJECT) return Fail("Expected null");
        return Struct(v.get_object().value_unsafe(), f.members);
    }
    return true;
  }
  bool Decode(std::string_view s, std::string* why) { return Base64DecodeAppend(s, &out_->arena, why); }
  ValidationResult* out_;
};

// Pass 2: constraint violations, at most 10 (§1.7.4).
class ConstraintChecker {
 public:
  explicit ConstraintChecker(const ValidationResult* blobs) : blobs_(blobs) {}
  void Struct(simdjson::dom::object obj, std::span<const Field> fields, const std::string& path) {
    for (const Field& f : fields) {
      element v;
      const std::string p = PathName(path, f.name);
      if (obj[f.name].get(v) != simdjson::SUCCESS || v.is_null()) {
        if (f.required) Add("null", p, "Member must not be null");
        continue;
      }
      Check(v, f, p);
    }
  }
  std::vector<std::string> errors;

 private:
  void Add(std::string_view value, const std::string& path, std::string_view reason) {
    if (errors.size() < 10)
      errors.push_back(fmt::format("Value {} at '{}' failed to satisfy constraint: {}", value, path, reason));
  }
  static bool Pattern(Pat p, std::string_view s) {
    switch (p) {
      case Pat::kNone: return true;
      case Pat::kName: return MatchesName(s);
      case Pat::kHashKey: return MatchesDecimal(s, 39);
      case Pat::kSequenceNumber: return MatchesDecimal(s, 129);
      case Pat::kStreamArn: return MatchesStreamArn(s);
    }
    return true;
  }
  static std::string_view PatternText(Pat p) {
    switch (p) {
      case Pat::kName: return "[a-zA-Z0-9_.-]+";
      case Pat::kHashKey: return "0|([1-9]\\d{0,38})";
      case Pat::kSequenceNumber: return "0|([1-9]\\d{0,128})";
      case Pat::kStreamArn: return "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+";
      case Pat::kNone: break;
    }
    return "";
  }
  void Check(element v, const Field& f, const std::string& path) {
    switch (f.type) {
      case Ty::kString: {
        std::string_view s = v.get_string().value_unsafe();
        std::string shown = fmt::format("'{}'", s);
        if (f.pattern != Pat::kNone && !Pattern(f.pattern, s))
          Add(shown, path, fmt::format("Member must satisfy regular expression pattern: {}", PatternText(f.pattern)));
        int64_t len = static_cast<int64_t>(Utf8Length(s));
        if (f.min_len >= 0 && len < f.min_len)
          Add(shown, path, fmt::format("Member must have length greater than or equal to {}", f.min_len));
        if (f.max_len >= 0 && len > f.max_len)
          Add(shown, path, fmt::format("Member must have length less than or equal to {}", f.max_len));
        if (!f.enums.empty()) {
          bool ok = false;
          for (const char* e : f.enums) ok |= s == e;
          if (!ok) {
            std::string set;
            for (const char* e : f.enums) set += (set.empty() ? "" : ", ") + std::string(e);
            Add(shown, path, fmt::format("Member must satisfy enum value set: [{}]", set));
          }
        }
        return;
      }
      case Ty::kInteger:
      case Ty::kLong: {
        int64_t n = NumberOf(v, f.type == Ty::kInteger);
        if (n < f.min_val) Add(fmt::format("'{}'", n), path, fmt::format("Member must have value greater than or equal to {}", f.min_val));
        if (n > f.max_val) Add(fmt::format("'{}'", n), path, fmt::format("Member must have value less than or equal to {}", f.max_val));
        return;
      }
      case Ty::kBlob: {
        size_t len = blobs_->blobs.size() > blob_index_ ? blobs_->blobs[blob_index_].second : 0;
        ++blob_index_;
        std::string shown = fmt::format("'java.nio.HeapByteBuffer[pos=0 lim={} cap={}]'", len, len);
        if (f.min_len >= 0 && static_cast<int64_t>(len) < f.min_len)
          Add(shown, path, fmt::format("Member must have length greater than or equal to {}", f.min_len));
        if (f.max_len >= 0 && static_cast<int64_t>(len) > f.max_len)
          Add(shown, path, fmt::format("Member must have length less than or equal to {}", f.max_len));
        return;
      }
      case Ty::kList: {
        simdjson::dom::array a = v.get_array().value_unsafe();
        int64_t n = static_cast<int64_t>(a.size());
        if (f.min_len >= 0 && n < f.min_len)
          Add("'[...]'", path, fmt::format("Member must have length greater than or equal to {}", f.min_len));
        if (f.max_len >= 0 && n > f.max_len)
          Add("'[...]'", path, fmt::format("Member must have length less than or equal to {}", f.max_len));
        int64_t i = 0;
        for (element e : a) {
          ++i;
          if (e.is_null()) continue;
          std::string p = fmt::format("{}.{}.member", path, i);
          if (f.element == Ty::kStruct) {
            Struct(e.get_object().value_unsafe(), f.members, p);
          } else {
            Field ef;
            ef.type = f.element;
            ef.min_len = f.members.empty() ? -1 : f.members[0].min_len;
            ef.max_len = f.members.empty() ? -1 : f.members[0].max_len;
            Check(e, ef, fmt::format("{}.{}", path, i));
          }
        }
        return;
      }
      case Ty::kMap: {
        simdjson::dom::object o = v.get_object().value_unsafe();
        int64_t n = static_cast<int64_t>(o.size());
        if (f.min_len >= 0 && n < f.min_len)
          Add("'{...}'", path, fmt::format("Member must have length greater than or equal to {}", f.min_len));
        if (f.max_len >= 0 && n > f.max_len)
          Add("'{...}'", path, fmt::format("Member must have length less than or equal to {}", f.max_len));
        return;
      }
      case Ty::kStruct:
        Struct(v.get_object().value_unsafe(), f.members, path);
        return;
      case Ty::kBoolean:
      case Ty::kTimestamp:
        return;
    }
  }
  const ValidationResult* blobs_;
  size_t blob_index_ = 0;

 public:
  static int64_t NumberOf(element v, bool integer) {
    double d = 0;
    switch (v.type()) {
      case element_type::INT64: d = static_cast<double>(v.get_int64().value_unsafe()); break;
      case element_type::UINT64: d = static_cast<double>(v.get_uint64().value_unsafe()); break;
      default: d = v.get_double().value_unsafe(); break;
    }
    d = std::floor(d);
    const double hi = integer ? 2147483647.0 : 9.2e18;
    if (d > hi) d = hi;
    if (d < -hi) d = -hi;
    return static_cast<int64_t>(d);
  }
};

}  // namespace


bool MatchesName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) return false;
  return true;
}

namespace {

// A line terminator of Java's regex '.' (which matches anything else): \n, \r and, in
// UTF-8, U+0085, U+2028 and U+2029.
bool HasLineTerminator(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n' || c == '\r') return true;
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x85) return true;
    if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) == 0xA8 || static_cast<unsigned char>(s[i + 2]) == 0xA9))
      return true;
  }
  return false;
}

// Java's \s: ASCII white space only.
bool IsJavaSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\x0B' || c == '\f' || c == '\r'; }

}  // namespace

bool MatchesStreamArn(std::string_view s) {
  constexpr std::string_view kHead = "arn:aws", kService = ":kinesis:", kResource = ":stream/";
  constexpr size_t kAccountDigits = 12;
  if (s.substr(0, kHead.size()) != kHead) return false;
  // Any ":stream/" may be the one the pattern anchors on: the one preceded by
  // ":<12 digits>" whose remainder is \S+ and whose prefix holds ":kinesis:".
  for (size_t q = s.find(kResource); q != std::string_view::npos; q = s.find(kResource, q + 1)) {
    const std::string_view rest = s.substr(q + kResource.size());
    if (rest.empty() || std::any_of(rest.begin(), rest.end(), IsJavaSpace)) continue;
    if (q < kHead.size() + kService.size() + 1 + kAccountDigits) continue;
    const size_t colon = q - kAccountDigits - 1;
    if (s[colon] != ':') continue;
    const std::string_view account = s.substr(colon + 1, kAccountDigits);
    if (!std::all_of(account.begin(), account.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    const std::string_view middle = s.substr(kHead.size(), colon - kHead.size());  // .*:kinesis:.*
    if (middle.find(kService) == std::string_view::npos || HasLineTerminator(middle)) continue;
    return true;
  }
  return false;
}

bool MatchesDecimal(std::string_view s, size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return false;
  if (s == "0") return true;
  if (s[0] < '1' || s[0] > '9') return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

void Validate(simdjson::dom::object obj, std::span<const Field> fields, ValidationResult* out) {
  out->kind = ValidationResult::kOk;
  out->message.clear();
  out->arena.clear();
  out->blobs.clear();
  TypeChecker types(out);
  if (!types.Struct(obj, fields)) return;
  ConstraintChecker cc(out);
  cc.Struct(obj, fields, "");
  if (cc.errors.empty()) return;
  out->kind = ValidationResult::kValidation;
  out->message = fmt::format("{} validation error{} detected: ", cc.errors.size(),
                             cc.errors.size() == 1 ? "" : "s");
  for (size_t i = 0; i < cc.errors.size(); ++i) {
    if (i) out->message += "; ";
    out->message += cc.errors[i];
  }
}

}  // namespace shoal::api
