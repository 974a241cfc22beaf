// Value: an ordered JSON-like tree for the `shoal` CLI, with the Python semantics the AWS
// CLI shows its users: objects keep insertion order (Python dicts), bytes are distinct from
// text (a blob read with fileb:// or decoded from base64), and the printers reproduce
// Python's json.dumps(indent=4, ensure_ascii=False) and repr().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shoal::cli {

struct Value {
  enum class Kind { kNull, kBool, kInt, kDouble, kString, kBytes, kArray, kObject };

  Kind kind = Kind::kNull;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string s;  // kString (UTF-8 text) and kBytes (raw bytes)
  std::vector<Value> a;
  std::vector<std::pair<std::string, Value>> o;

  static Value Null() { return {}; }
  static Value Bool(bool v) { Value x; x.kind = Kind::kBool; x.b = v; return x; }
  static Value Int(int64_t v) { Value x; x.kind = Kind::kInt; x.i = v; return x; }
  static Value Double(double v) { Value x; x.kind = Kind::kDouble; x.d = v; return x; }
  static Value String(std::string v) { Value x; x.kind = Kind::kString; x.s = std::move(v); return x; }
  static Value Bytes(std::string v) { Value x; x.kind = Kind::kBytes; x.s = std::move(v); return x; }
  static Value Array() { Value x; x.kind = Kind::kArray; return x; }
  static Value Object() { Value x; x.kind = Kind::kObject; return x; }

  bool is_null() const { return kind == Kind::kNull; }
  bool is_object() const { return kind == Kind::kObject; }
  bool is_array() const { return kind == Kind::kArray; }
  bool is_string() const { return kind == Kind::kString; }

  // Object members (nullptr when absent or when this is not an object).
  const Value* Get(std::string_view key) const;
  Value* Get(std::string_view key);
  // Replaces the member in place (keeping its position, like a Python dict) or appends it.
  void Set(std::string_view key, Value v);
  bool Erase(std::string_view key);
  // Python truthiness: None, False, 0, "", [] and {} are false.
  bool Truthy() const;
};

// json.dumps(v, indent=4, ensure_ascii=False): 4-space indent, ": " and "," separators,
// "[]" / "{}" for empty containers. Bytes print as base64 (how the CLI shows blobs).
std::string ToPrettyJson(const Value& v);
// Compact JSON for request bodies. Bytes print as base64.
std::string ToCompactJson(const Value& v);
// json.dumps(v) with Python's default separators (", " and ": ") and ensure_ascii=True:
// what botocore base64-wraps into pagination resume tokens.
std::string ToPythonDefaultJson(const Value& v);
// repr(v) and str(type(v)) as Python prints them in botocore's validation messages.
std::string PyRepr(const Value& v);
std::string PyStr(const Value& v);  // str(v): strings unquoted
std::string PyTypeName(const Value& v);

// int(text) as Python parses a str: surrounding whitespace, a sign, '_' between digits.
// Values beyond int64 clamp (Python ints are unbounded; the service rejects them anyway).
bool PyIntFromString(const std::string& text, int64_t* out);

// Parses JSON text keeping object member order. On failure returns false and sets `error`.
bool ParseJson(std::string_view text, Value* out, std::string* error);

}  // namespace shoal::cli
