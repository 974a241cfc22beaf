// A small JSON value for shoal-bench's results.json: build, then dump. Objects keep their
// insertion order (so results.json reads in the order the harness produced it), numbers are
// written with the fewest digits (15 to 17) that read back as the same double (so the
// validator sees exactly the values the harness computed with), and non-finite numbers
// become null.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace shoal::bench {

class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() : v_(nullptr) {}
  Json(std::nullptr_t) : v_(nullptr) {}                 // NOLINT
  Json(bool b) : v_(b) {}                               // NOLINT
  Json(double d) : v_(d) {}                             // NOLINT
  Json(int i) : v_(static_cast<int64_t>(i)) {}          // NOLINT
  Json(unsigned i) : v_(static_cast<int64_t>(i)) {}     // NOLINT
  Json(long i) : v_(static_cast<int64_t>(i)) {}         // NOLINT
  Json(long long i) : v_(static_cast<int64_t>(i)) {}    // NOLINT
  Json(unsigned long i) : v_(static_cast<int64_t>(i)) {}       // NOLINT
  Json(unsigned long long i) : v_(static_cast<int64_t>(i)) {}  // NOLINT
  Json(const char* s) : v_(std::string(s)) {}          // NOLINT
  Json(std::string s) : v_(std::move(s)) {}             // NOLINT
  Json(std::string_view s) : v_(std::string(s)) {}      // NOLINT
  Json(Array a) : v_(std::move(a)) {}                   // NOLINT
  Json(Object o) : v_(std::move(o)) {}                  // NOLINT

  static Json MakeObject() { return Json(Object{}); }
  static Json MakeArray() { return Json(Array{}); }
  template <typename T>
  static Json ArrayOf(const std::vector<T>& xs) {
    Array a;
    for (const T& x : xs) a.emplace_back(x);
    return Json(std::move(a));
  }

  bool is_object() const { return std::holds_alternative<Object>(v_); }
  bool is_array() const { return std::holds_alternative<Array>(v_); }
  bool is_null() const { return std::holds_alternative<std::nullptr_t>(v_); }

  // Object access: sets (replacing an existing key) and returns the member.
  Json& Set(std::string key, Json value) {
    if (!is_object()) v_ = Object{};
    Object& o = std::get<Object>(v_);
    for (auto& [k, v] : o)
      if (k == key) return v = std::move(value);
    o.emplace_back(std::move(key), std::move(value));
    return o.back().second;
  }
  // The member `key`, created as null if absent.
  Json& operator[](const std::string& key) {
    if (!is_object()) v_ = Object{};
    Object& o = std::get<Object>(v_);
    for (auto& [k, v] : o)
      if (k == key) return v;
    o.emplace_back(key, Json());
    return o.back().second;
  }
  const Json* Find(std::string_view key) const {
    if (!is_object()) return nullptr;
    for (const auto& [k, v] : std::get<Object>(v_))
      if (k == key) return &v;
    return nullptr;
  }
  void Push(Json value) {
    if (!is_array()) v_ = Array{};
    std::get<Array>(v_).push_back(std::move(value));
  }
  size_t size() const {
    if (is_array()) return std::get<Array>(v_).size();
    if (is_object()) return std::get<Object>(v_).size();
    return 0;
  }

  std::string Dump(int indent = 2) const {
    std::string out;
    DumpTo(out, indent, 0);
    out += '\n';
    return out;
  }

 private:
  static void Escape(std::string& out, const std::string& s) {
    out += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else {
            out += static_cast<char>(c);
          }
      }
    }
    out += '"';
  }
  static void Newline(std::string& out, int indent, int depth) {
    if (indent <= 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent * depth), ' ');
  }
  // Short arrays of scalars stay on one line (samples, load averages).
  bool Compact() const {
    if (!is_array()) return false;
    const Array& a = std::get<Array>(v_);
    if (a.size() > 16) return false;
    for (const Json& j : a)
      if (j.is_array() || j.is_object()) return false;
    return true;
  }
  void DumpTo(std::string& out, int indent, int depth) const {
    if (std::holds_alternative<std::nullptr_t>(v_)) {
      out += "null";
    } else if (auto* b = std::get_if<bool>(&v_)) {
      out += *b ? "true" : "false";
    } else if (auto* i = std::get_if<int64_t>(&v_)) {
      out += std::to_string(*i);
    } else if (auto* d = std::get_if<double>(&v_)) {
      if (!std::isfinite(*d)) {
        out += "null";
      } else {
        // Shortest of %.15g / %.16g / %.17g that reads back as the same double.
        char buf[40];
        for (int prec = 15; prec <= 17; ++prec) {
          std::snprintf(buf, sizeof buf, "%.*g", prec, *d);
          if (std::strtod(buf, nullptr) == *d) break;
        }
        out += buf;
      }
    } else if (auto* s = std::get_if<std::string>(&v_)) {
      Escape(out, *s);
    } else if (auto* a = std::get_if<Array>(&v_)) {
      if (a->empty()) {
        out += "[]";
        return;
      }
      const bool compact = Compact();
      out += '[';
      for (size_t k = 0; k < a->size(); ++k) {
        if (k) out += compact ? ", " : ",";
        if (!compact) Newline(out, indent, depth + 1);
        (*a)[k].DumpTo(out, indent, depth + 1);
      }
      if (!compact) Newline(out, indent, depth);
      out += ']';
    } else if (auto* o = std::get_if<Object>(&v_)) {
      if (o->empty()) {
        out += "{}";
        return;
      }
      out += '{';
      for (size_t k = 0; k < o->size(); ++k) {
        if (k) out += ',';
        Newline(out, indent, depth + 1);
        Escape(out, (*o)[k].first);
        out += indent > 0 ? ": " : ":";
        (*o)[k].second.DumpTo(out, indent, depth + 1);
      }
      Newline(out, indent, depth);
      out += '}';
    }
  }

  std::variant<std::nullptr_t, bool, int64_t, double, std::string, Array, Object> v_;
};

}  // namespace shoal::bench
