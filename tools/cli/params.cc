#include "tools/cli/params.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "api/base64.h"
#include "tools/cli/errors.h"
#include "tools/cli/shorthand.h"

namespace shoal::cli {
namespace {

// --- argparse ------------------------------------------------------------------------------

struct OptSpec {
  enum Kind { kOne, kList, kTrue, kFalse };
  std::string flag;  // "--stream-name"
  Kind kind;
  const Member* member = nullptr;  // nullptr for the CLI's own options
  std::string special;             // "cli-input-json", "page-size", "max-items", "starting-token"
};

struct Given {
  const OptSpec* spec;
  std::vector<std::string> values;
  bool flag_value = false;
};

std::vector<OptSpec> Specs(const Operation& op) {
  std::vector<OptSpec> specs;
  for (const Member& m : op.input->members) {
    std::string flag = "--" + CliName(m.name);
    if (m.shape->type == Type::kBoolean) {
      specs.push_back({flag, OptSpec::kTrue, &m, ""});
      specs.push_back({"--no-" + CliName(m.name), OptSpec::kFalse, &m, ""});
    } else if (m.shape->type == Type::kList) {
      specs.push_back({flag, OptSpec::kList, &m, ""});
    } else {
      specs.push_back({flag, OptSpec::kOne, &m, ""});
    }
  }
  specs.push_back({"--cli-input-json", OptSpec::kOne, nullptr, "cli-input-json"});
  if (op.paginator) {
    specs.push_back({"--starting-token", OptSpec::kOne, nullptr, "starting-token"});
    specs.push_back({"--page-size", OptSpec::kOne, nullptr, "page-size"});
    specs.push_back({"--max-items", OptSpec::kOne, nullptr, "max-items"});
  }
  return specs;
}

bool NegativeNumber(const std::string& s) {
  static const std::regex kNeg("^-\\d+$|^-\\d*\\.\\d+$");
  return std::regex_match(s, kNeg);
}

// argparse's _parse_optional: which option (if any) a token names, and its "=value".
struct OptionMatch {
  bool is_option = false;
  const OptSpec* spec = nullptr;  // nullptr: an unknown option
  std::optional<std::string> inline_value;
};

OptionMatch MatchOption(const std::string& tok, const std::vector<OptSpec>& specs) {
  OptionMatch r;
  if (tok.empty() || tok[0] != '-') return r;
  for (const OptSpec& s : specs) {
    if (s.flag == tok) {
      r.is_option = true;
      r.spec = &s;
      return r;
    }
  }
  if (tok.size() == 1) return r;
  size_t eq = tok.find('=');
  if (eq != std::string::npos) {
    std::string name = tok.substr(0, eq);
    for (const OptSpec& s : specs) {
      if (s.flag == name) {
        r.is_option = true;
        r.spec = &s;
        r.inline_value = tok.substr(eq + 1);
        return r;
      }
    }
  }
  if (tok.rfind("--", 0) == 0) {
    std::string prefix = eq == std::string::npos ? tok : tok.substr(0, eq);
    std::vector<const OptSpec*> matches;
    for (const OptSpec& s : specs)
      if (s.flag.rfind(prefix, 0) == 0) matches.push_back(&s);
    if (matches.size() > 1) {
      std::string names;
      for (const OptSpec* m : matches) names += (names.empty() ? "" : ", ") + m->flag;
      UsageError(fmt::format("ambiguous option: {} could match {}", tok, names));
    }
    if (matches.size() == 1) {
      r.is_option = true;
      r.spec = matches[0];
      if (eq != std::string::npos) r.inline_value = tok.substr(eq + 1);
      return r;
    }
  }
  if (NegativeNumber(tok)) return r;
  if (tok.find(' ') != std::string::npos) return r;
  r.is_option = true;  // unknown
  return r;
}

// --- parameter files -----------------------------------------------------------------------

std::string ExpandUser(std::string path) {
  if (!path.empty() && path[0] == '~' && (path.size() == 1 || path[1] == '/')) {
    if (const char* home = std::getenv("HOME")) path = home + path.substr(1);
  }
  return path;
}

// file:// (text) and fileb:// (bytes): the CLI replaces the value with the file's contents.
bool LoadParamFile(const std::string& value, const std::string& cli_name, Value* out) {
  bool binary;
  std::string path;
  if (value.rfind("fileb://", 0) == 0) {
    binary = true;
    path = value.substr(8);
  } else if (value.rfind("file://", 0) == 0) {
    binary = false;
    path = value.substr(7);
  } else {
    return false;
  }
  path = ExpandUser(path);
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    int err = errno;
    ParamFailure(fmt::format("Error parsing parameter '{}': Unable to load paramfile {}: [Errno {}] {}: '{}'", cli_name,
                             value, err, std::strerror(err), path));
  }
  std::stringstream ss;
  ss << f.rdbuf();
  *out = binary ? Value::Bytes(ss.str()) : Value::String(ss.str());
  return true;
}

// --- unpacking one argument (argprocess.py) ------------------------------------------------

bool SupportsShorthand(const Shape& s) {
  if (s.type == Type::kStructure || s.type == Type::kMap) return true;
  if (s.type == Type::kList) {
    Type m = s.element->type;
    return m == Type::kStructure || m == Type::kList || m == Type::kMap;
  }
  return false;
}

bool IsComplex(const Shape& s) { return s.type == Type::kStructure || s.type == Type::kMap || s.type == Type::kList; }

std::string LStrip(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

Value UnpackJson(const std::string& text, const std::string& cli_name) {
  Value v;
  std::string err;
  if (!ParseJson(text, &v, &err))
    ParamFailure(fmt::format("Error parsing parameter '{}': Invalid JSON: {}\nJSON received: {}", cli_name, err, text));
  return v;
}

Value UnpackScalar(const Shape& shape, const Value& raw) {
  if ((shape.type == Type::kInteger || shape.type == Type::kLong) && raw.kind != Value::Kind::kInt) {
    int64_t n;
    std::string text = raw.s;
    if (!PyIntFromString(text, &n))
      ParamFailure(fmt::format("invalid literal for int() with base 10: {}", PyRepr(Value::String(text))));
    return Value::Int(n);
  }
  return raw;
}

Value UnpackComplex(const Shape& shape, const Value& raw, const std::string& cli_name);

Value Unpack(const Shape& shape, const Value& raw, const std::string& cli_name) {
  if (!IsComplex(shape)) return UnpackScalar(shape, raw);
  return UnpackComplex(shape, raw, cli_name);
}

Value UnpackComplex(const Shape& shape, const Value& raw, const std::string& cli_name) {
  if (shape.type == Type::kStructure || shape.type == Type::kMap) {
    std::string text = raw.is_array() && !raw.a.empty() ? raw.a[0].s : raw.s;
    std::string stripped = LStrip(text);
    if (!stripped.empty() && stripped[0] == '{') return UnpackJson(text, cli_name);
    ParamFailure(fmt::format("Error parsing parameter '{}': Invalid JSON:\n{}", cli_name, text));
  }
  // A list.
  if (!raw.is_array()) {
    std::string stripped = LStrip(raw.s);
    if (!stripped.empty() && stripped[0] == '[') return UnpackJson(raw.s, cli_name);
    // The CLI iterates the string: one element per character.
    Value list = Value::Array();
    for (char c : raw.s) list.a.push_back(Unpack(*shape.element, Value::String(std::string(1, c)), cli_name));
    return list;
  }
  if (raw.a.size() == 1) {
    std::string stripped = LStrip(raw.a[0].s);
    if (!stripped.empty() && stripped[0] == '[') return UnpackJson(raw.a[0].s, cli_name);
  }
  Value list = Value::Array();
  for (const Value& v : raw.a) list.a.push_back(Unpack(*shape.element, v, cli_name));
  return list;
}

Value UnpackArgument(const Member& m, const std::string& cli_name, Value raw) {
  // Parameter files: a list flag with exactly one value is read as that one value.
  if (raw.is_array() && raw.a.size() == 1) {
    Value loaded;
    if (LoadParamFile(raw.a[0].s, cli_name, &loaded)) raw = std::move(loaded);
  } else if (raw.is_string()) {
    Value loaded;
    if (LoadParamFile(raw.s, cli_name, &loaded)) raw = std::move(loaded);
  }
  if (raw.kind == Value::Kind::kBytes && m.shape->type != Type::kBlob) raw = Value::String(raw.s);
  const Shape& shape = *m.shape;
  if (SupportsShorthand(shape)) {
    const Value& check = raw.is_array() ? (raw.a.empty() ? Value() : raw.a[0]) : raw;
    std::string stripped = check.is_string() ? LStrip(check.s) : "";
    bool looks_json = !stripped.empty() && (stripped[0] == '[' || stripped[0] == '{');
    if (!looks_json && !(raw.is_array() && raw.a.empty())) {
      Value parsed;
      if (raw.is_array()) {
        parsed = Value::Array();
        for (const Value& v : raw.a) parsed.a.push_back(ParseShorthand(v.s, cli_name));
      } else {
        parsed = ParseShorthand(raw.s, cli_name);
      }
      ApplyShorthandModel(shape, &parsed, cli_name);
      return parsed;
    }
  }
  return Unpack(shape, raw, cli_name);
}

// --- validation (botocore/validate.py) -------------------------------------------------------

struct Validator {
  std::vector<std::string> errors;

  static std::string Name(const std::string& name) {
    if (name.empty()) return "input";
    if (name[0] == '.') return name.substr(1);
    return name;
  }
  void InvalidType(const std::string& name, const Value& v, const std::string& valid) {
    errors.push_back(fmt::format("Invalid type for parameter {}, value: {}, type: {}, valid types: {}", Name(name),
                                 PyStr(v), PyTypeName(v), valid));
  }
  void Range(const std::string& name, long long value, const Shape& s, bool length) {
    if (s.min && value < *s.min)
      errors.push_back(fmt::format("Invalid {} for parameter {}, value: {}, valid min {}: {}", length ? "length" : "value",
                                   Name(name), value, length ? "length" : "value", *s.min));
  }

  void Validate(const Value& v, const Shape& s, const std::string& name) {
    switch (s.type) {
      case Type::kStructure: {
        if (!v.is_object()) return InvalidType(name, v, "<class 'dict'>");
        for (const Member& m : s.members)
          if (m.required && !v.Get(m.name))
            errors.push_back(fmt::format("Missing required parameter in {}: \"{}\"", Name(name), m.name));
        std::vector<const std::pair<std::string, Value>*> known;
        for (const auto& kv : v.o) {
          if (!s.Find(kv.first)) {
            std::string valid;
            for (const Member& m : s.members) valid += (valid.empty() ? "" : ", ") + m.name;
            errors.push_back(
                fmt::format("Unknown parameter in {}: \"{}\", must be one of: {}", Name(name), kv.first, valid));
          } else {
            known.push_back(&kv);
          }
        }
        for (const auto* kv : known) Validate(kv->second, *s.Find(kv->first)->shape, name + "." + kv->first);
        return;
      }
      case Type::kList:
        if (!v.is_array()) return InvalidType(name, v, "<class 'list'>, <class 'tuple'>");
        Range(name, static_cast<long long>(v.a.size()), s, true);
        for (size_t i = 0; i < v.a.size(); ++i) Validate(v.a[i], *s.element, fmt::format("{}[{}]", name, i));
        return;
      case Type::kMap:
        if (!v.is_object()) return InvalidType(name, v, "<class 'dict'>");
        for (const auto& [k, x] : v.o) {
          Validate(Value::String(k), *s.key, fmt::format("{} (key: {})", name, k));
          Validate(x, *s.element, name + "." + k);
        }
        return;
      case Type::kString:
        if (!v.is_string()) return InvalidType(name, v, "<class 'str'>");
        Range(name, static_cast<long long>(Utf8Length(v.s)), s, true);
        return;
      case Type::kInteger:
      case Type::kLong:
        if (v.kind != Value::Kind::kInt && v.kind != Value::Kind::kBool) return InvalidType(name, v, "<class 'int'>");
        Range(name, v.kind == Value::Kind::kBool ? v.b : v.i, s, false);
        return;
      case Type::kBoolean:
        if (v.kind != Value::Kind::kBool) return InvalidType(name, v, "<class 'bool'>");
        return;
      case Type::kBlob:
        if (v.kind != Value::Kind::kString && v.kind != Value::Kind::kBytes)
          return InvalidType(name, v, "<class 'bytes'>, <class 'bytearray'>, file-like object");
        return;
      case Type::kTimestamp: {
        int64_t ignored;
        if (!ParseTimestampParam(v, &ignored))
          return InvalidType(name, v, "<class 'datetime.datetime'>, timestamp-string");
        return;
      }
    }
  }

  static size_t Utf8Length(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xc0) != 0x80;
    return n;
  }
};

// --- base64 of blobs (customizations/binaryformat.py) -------------------------------------

void DecodeBlobs(const Shape& s, Value* v) {
  switch (s.type) {
    case Type::kStructure:
      if (!v->is_object()) return;
      for (const Member& m : s.members)
        if (Value* x = v->Get(m.name)) DecodeBlobs(*m.shape, x);
      return;
    case Type::kList:
      if (!v->is_array()) return;
      for (Value& x : v->a) DecodeBlobs(*s.element, &x);
      return;
    case Type::kMap:
      if (!v->is_object()) return;
      for (auto& [k, x] : v->o) DecodeBlobs(*s.element, &x);
      return;
    case Type::kBlob:
      if (v->is_string()) {
        std::string bytes;
        if (!PyBase64Decode(v->s, &bytes)) ParamFailure(fmt::format("Invalid base64: \"{}\"", v->s));
        *v = Value::Bytes(std::move(bytes));
      }
      return;
    default:
      return;
  }
}

// --- serialization (botocore/serialize.py, JSON protocol) ----------------------------------

Value Serialize(const Shape& s, const Value& v) {
  switch (s.type) {
    case Type::kStructure: {
      Value out = Value::Object();
      for (const auto& [k, x] : v.o)
        if (const Member* m = s.Find(k)) out.Set(k, Serialize(*m->shape, x));
      return out;
    }
    case Type::kList: {
      Value out = Value::Array();
      for (const Value& x : v.a) out.a.push_back(Serialize(*s.element, x));
      return out;
    }
    case Type::kMap: {
      Value out = Value::Object();
      for (const auto& [k, x] : v.o) out.Set(k, Serialize(*s.element, x));
      return out;
    }
    case Type::kTimestamp: {
      int64_t secs = 0;
      ParseTimestampParam(v, &secs);
      return Value::Int(secs);
    }
    case Type::kBlob: {
      std::string b64;
      api::Base64Encode(v.s, &b64);  // text blobs go as their UTF-8 bytes
      return Value::String(std::move(b64));
    }
    default:
      return v;
  }
}

// --- timestamps ------------------------------------------------------------------------------

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ParseIso(const std::string& text, int64_t* out) {
  static const std::regex kIso(
      R"(^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ](\d{1,2})(?::(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?)?)"
      R"(\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$)");
  static const std::regex kCompact(R"(^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?)?(Z)?$)");
  std::smatch m;
  if (!std::regex_match(text, m, kIso) && !std::regex_match(text, m, kCompact)) return false;
  auto num = [&](int i) { return m[i].matched && m[i].length() > 0 ? std::stoll(m[i].str()) : 0LL; };
  long long y = num(1), mo = num(2), d = num(3), h = num(4), mi = num(5), s = num(6);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return false;
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[mo - 1] || (mo == 2 && d == 29 && !leap)) return false;
  int64_t secs = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 + mi * 60 + s;
  int tz_group = m.size() > 8 ? 8 : 7;
  std::string tz = m[tz_group].matched ? m[tz_group].str() : "";
  if (!tz.empty() && (tz[0] == '+' || tz[0] == '-')) {
    std::string digits;
    for (char c : tz)
      if (std::isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
    int64_t off = std::stoll(digits.substr(0, 2)) * 3600 + (digits.size() >= 4 ? std::stoll(digits.substr(2, 2)) * 60 : 0);
    secs -= tz[0] == '+' ? off : -off;
  }
  *out = secs;
  return true;
}

}  // namespace

// --- public ----------------------------------------------------------------------------------

CommandArgs ParseCommandArgs(const Operation& op, const std::vector<std::string>& args) {
  const std::vector<OptSpec> specs = Specs(op);
  CommandArgs out;
  std::vector<Given> given;
  std::vector<std::string> unknown;
  for (size_t i = 0; i < args.size();) {
    const std::string& tok = args[i];
    OptionMatch om = MatchOption(tok, specs);
    if (!om.is_option) {
      if (tok == "help") out.help = true;
      else unknown.push_back(tok);
      ++i;
      continue;
    }
    if (!om.spec) {
      if (tok == "--help" || tok == "-h") out.help = true;
      else unknown.push_back(tok);
      ++i;
      continue;
    }
    const OptSpec& s = *om.spec;
    ++i;
    Given g{&s, {}, false};
    switch (s.kind) {
      case OptSpec::kTrue:
      case OptSpec::kFalse:
        if (om.inline_value) UsageError(fmt::format("argument {}: ignored explicit argument '{}'", s.flag, *om.inline_value));
        g.flag_value = s.kind == OptSpec::kTrue;
        break;
      case OptSpec::kOne:
        if (om.inline_value) {
          g.values.push_back(*om.inline_value);
        } else if (i < args.size() && !MatchOption(args[i], specs).is_option) {
          g.values.push_back(args[i++]);
        } else {
          UsageError(fmt::format("argument {}: expected one argument", s.flag));
        }
        break;
      case OptSpec::kList:
        if (om.inline_value) {
          g.values.push_back(*om.inline_value);
        } else {
          while (i < args.size() && !MatchOption(args[i], specs).is_option) g.values.push_back(args[i++]);
        }
        break;
    }
    // argparse keeps the last occurrence (and the two halves of a boolean share a dest).
    std::erase_if(given, [&](const Given& x) {
      return x.spec == &s || (s.member && x.spec->member == s.member);
    });
    given.push_back(std::move(g));
  }
  if (out.help) return out;

  bool has_input_json = false;
  for (const Given& g : given) has_input_json |= g.spec->special == "cli-input-json";
  if (!has_input_json) {
    std::vector<std::string> missing;
    for (const OptSpec& s : specs) {
      if (!s.member || !s.member->required || s.kind == OptSpec::kFalse) continue;
      bool present = false;
      for (const Given& g : given) present |= g.spec->member == s.member;
      if (!present) missing.push_back(s.flag);
    }
    if (!missing.empty()) {
      std::string list;
      for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
      UsageError("the following arguments are required: " + list);
    }
  }
  if (!unknown.empty()) {
    std::string list;
    for (const std::string& u : unknown) list += (list.empty() ? "" : ", ") + u;
    UnknownOptions(list);
  }

  // Unpack in the argument table's order (the model's member order).
  for (const OptSpec& s : specs) {
    const Given* g = nullptr;
    for (const Given& x : given)
      if (x.spec == &s) g = &x;
    if (!g) continue;
    if (s.member) {
      if (s.kind == OptSpec::kTrue || s.kind == OptSpec::kFalse) {
        out.params.Set(s.member->name, Value::Bool(g->flag_value));
      } else if (s.kind == OptSpec::kList) {
        Value raw = Value::Array();
        for (const std::string& v : g->values) raw.a.push_back(Value::String(v));
        out.params.Set(s.member->name, UnpackArgument(*s.member, s.flag, std::move(raw)));
      } else {
        out.params.Set(s.member->name, UnpackArgument(*s.member, s.flag, Value::String(g->values[0])));
      }
      continue;
    }
    const std::string& v = g->values[0];
    if (s.special == "cli-input-json") {
      Value loaded;
      out.cli_input_json = LoadParamFile(v, s.flag, &loaded) ? loaded.s : v;
    } else if (s.special == "starting-token") {
      out.starting_token = v;
    } else {
      int64_t n;
      if (!PyIntFromString(v, &n))
        UsageError(fmt::format("argument {}: invalid int value: '{}'", s.flag, v));
      (s.special == "page-size" ? out.page_size : out.max_items) = n;
    }
  }
  return out;
}

Value BuildParameters(const Operation& op, const CommandArgs& args, bool binary_base64) {
  Value params = args.params;
  if (args.cli_input_json) {
    Value input;
    std::string err;
    if (!ParseJson(*args.cli_input_json, &input, &err))
      ParamFailure(fmt::format("Error parsing parameter '--cli-input-json': Invalid JSON received: {}", err));
    if (!input.is_object())
      ParamFailure("Error parsing parameter '--cli-input-json': Invalid JSON received: the input must be a JSON object.");
    for (auto& [k, v] : input.o)
      if (!params.Get(k)) params.Set(k, v);  // the command line wins
  }
  if (binary_base64) DecodeBlobs(*op.input, &params);
  Validator val;
  val.Validate(params, *op.input, "");
  if (!val.errors.empty()) {
    std::string text = "Parameter validation failed:";
    for (const std::string& e : val.errors) text += "\n" + e;
    ParamFailure(text);
  }
  return params;
}

std::string SerializeRequest(const Shape& input, const Value& params) {
  return ToCompactJson(Serialize(input, params));
}

bool PyBase64Decode(const std::string& text, std::string* out) {
  // CPython's binascii.a2b_base64(strict_mode=False).
  static const auto kTable = [] {
    std::array<int, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = i;
    return t;
  }();
  out->clear();
  for (unsigned char c : text)
    if (c >= 0x80) return false;  // b64decode refuses non-ASCII text
  int quad_pos = 0, pads = 0;
  unsigned leftchar = 0;
  for (unsigned char c : text) {
    if (c == '=') {
      if (quad_pos >= 2 && quad_pos + ++pads >= 4) return true;
      continue;
    }
    int v = kTable[c];
    if (v < 0) continue;
    pads = 0;
    switch (quad_pos) {
      case 0: quad_pos = 1; leftchar = static_cast<unsigned>(v); break;
      case 1:
        quad_pos = 2;
        out->push_back(static_cast<char>((leftchar << 2) | (static_cast<unsigned>(v) >> 4)));
        leftchar = static_cast<unsigned>(v) & 0x0f;
        break;
      case 2:
        quad_pos = 3;
        out->push_back(static_cast<char>((leftchar << 4) | (static_cast<unsigned>(v) >> 2)));
        leftchar = static_cast<unsigned>(v) & 0x03;
        break;
      case 3:
        quad_pos = 0;
        out->push_back(static_cast<char>((leftchar << 6) | static_cast<unsigned>(v)));
        leftchar = 0;
        break;
    }
  }
  return quad_pos == 0;
}

bool ParseTimestampParam(const Value& v, int64_t* epoch_seconds) {
  if (v.kind == Value::Kind::kInt) {
    *epoch_seconds = v.i;
    return true;
  }
  if (v.kind == Value::Kind::kDouble) {
    if (!std::isfinite(v.d)) return false;
    *epoch_seconds = static_cast<int64_t>(std::floor(v.d));
    return true;
  }
  if (v.kind != Value::Kind::kString) return false;
  std::string t = v.s;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  t = LStrip(t);
  static const std::regex kNumber(R"(^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$)");
  if (std::regex_match(t, kNumber)) {
    double d = std::strtod(t.c_str(), nullptr);
    if (!std::isfinite(d)) return false;
    *epoch_seconds = static_cast<int64_t>(std::floor(d));
    return true;
  }
  return ParseIso(t, epoch_seconds);
}

}  // namespace shoal::cli
