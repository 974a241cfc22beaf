#include "tools/dump/sink.h"

#include <fmt/format.h>

#include <ctime>
#include <iterator>
#include <vector>

namespace shoal::dump {

// --- helpers ----------------------------------------------------------------------------

std::string IsoTime(int64_t ms) {
  int64_t secs = ms / 1000;
  int64_t rem = ms % 1000;
  if (rem < 0) {  // floor division: -1 ms is 1969-12-31T23:59:59.999Z
    rem += 1000;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return fmt::format("(invalid time {} ms)", ms);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rem);
}

std::string TimeText(int64_t ms) { return fmt::format("{} ({})", IsoTime(ms), ms); }

bool Printable(std::string_view bytes) {
  for (char c : bytes)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string BytesText(std::string_view bytes) {
  if (!Printable(bytes)) return "0x" + Hex(bytes);
  std::string out = "\"";
  for (char c : bytes) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if the bytes there are not one.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n;
  uint32_t min;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) {
    n = 2;
    min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3;
    min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  uint32_t cp = c & (0x7f >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

}  // namespace

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{:04x}", c);
    } else if (c >= 0x80) {
      size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
        continue;
      }
      out.append(s.substr(i, n));
      i += n;
      continue;
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
  return out;
}

namespace {

// --- text -------------------------------------------------------------------------------

std::string TextValue(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kUnsigned:
      return fmt::format("{}", v.u);
    case Value::Kind::kSigned:
      return fmt::format("{}", v.i);
    case Value::Kind::kBool:
      return v.u ? "yes" : "no";
    case Value::Kind::kText:
      return v.s;
    case Value::Kind::kTime:
      return TimeText(v.i);
    case Value::Kind::kBytes:
      return BytesText(v.s);
    case Value::Kind::kCrc:
      return fmt::format("{:#010x}", v.u);
  }
  return "?";
}

class TextSink final : public Sink {
 public:
  explicit TextSink(std::FILE* out) : out_(out) {}

  void BeginFile(std::string_view kind, std::string_view path) override {
    file_problems_ = 0;
    depth_ = 1;
    fmt::print(out_, "{} {}\n", kind, path);
  }
  void Section(std::string_view name, const Fields& fields, std::string_view sentence) override {
    if (sentence.empty())
      Line(name, fields);
    else
      fmt::print(out_, "{:{}}{}\n", "", depth_ * 2, sentence);
  }
  void BeginList(std::string_view) override {}
  void BeginItem(std::string_view label, const Fields& fields) override {
    Line(label, fields);
    ++depth_;
  }
  void EndItem() override { --depth_; }
  void EndList() override {}
  void Note(std::string message) override {
    fmt::print(out_, "{:{}}- {}\n", "", depth_ * 2, message);
  }
  void EndFile() override {
    if (file_problems_ == 0)
      fmt::print(out_, "  result: ok\n\n");
    else
      fmt::print(out_, "  result: {} problem{} (lines marked !)\n\n", file_problems_,
                 file_problems_ == 1 ? "" : "s");
    std::fflush(out_);
  }

 protected:
  void OnProblem(std::string message) override {
    fmt::print(out_, "{:{}}! {}\n", "", depth_ * 2, message);
  }

 private:
  void Line(std::string_view label, const Fields& fields) {
    std::string line = fmt::format("{:{}}{}", "", depth_ * 2, label);
    for (const Field& f : fields)
      fmt::format_to(std::back_inserter(line), " {}: {}", f.key, TextValue(f.value));
    line += '\n';
    std::fputs(line.c_str(), out_);
  }

  std::FILE* out_;
  int depth_ = 1;
};

// --- JSON -------------------------------------------------------------------------------

class JsonSink final : public Sink {
 public:
  explicit JsonSink(std::FILE* out) : out_(out) {}

  void BeginFile(std::string_view kind, std::string_view path) override {
    file_problems_ = 0;
    problems_.clear();
    notes_.clear();
    buf_ = "{\"file\":" + JsonString(path) + ",\"kind\":" + JsonString(kind);
  }
  void Section(std::string_view name, const Fields& fields, std::string_view sentence) override {
    buf_ += ',';
    buf_ += JsonString(name);
    buf_ += ':';
    Object(fields, true);
    if (!sentence.empty()) {
      if (fields.size() != 0) buf_ += ',';
      buf_ += "\"text\":" + JsonString(sentence);
    }
    buf_ += '}';
    Drain();
  }
  void BeginList(std::string_view name) override {
    buf_ += ',';
    buf_ += JsonString(name);
    buf_ += ":[";
    first_.push_back(true);
  }
  void BeginItem(std::string_view, const Fields& fields) override {
    if (!first_.back()) buf_ += ',';
    first_.back() = false;
    Object(fields, true);  // left open for a nested list
  }
  void EndItem() override {
    buf_ += '}';
    Drain();
  }
  void EndList() override {
    buf_ += ']';
    first_.pop_back();
  }
  void Note(std::string message) override { notes_.push_back(std::move(message)); }
  void EndFile() override {
    buf_ += ",\"problems\":";
    Strings(problems_);
    buf_ += ",\"notes\":";
    Strings(notes_);
    buf_ += file_problems_ == 0 ? ",\"ok\":true}\n" : ",\"ok\":false}\n";
    Drain(true);
    std::fflush(out_);
  }

 protected:
  void OnProblem(std::string message) override { problems_.push_back(std::move(message)); }

 private:
  void Object(const Fields& fields, bool leave_open) {
    buf_ += '{';
    bool first = true;
    for (const Field& f : fields) {
      if (!first) buf_ += ',';
      first = false;
      Member(f);
    }
    if (!leave_open) buf_ += '}';
  }
  void Member(const Field& f) {
    const Value& v = f.value;
    auto key = [&](std::string_view suffix = {}) {
      buf_ += JsonString(std::string(f.key) + std::string(suffix));
      buf_ += ':';
    };
    switch (v.kind) {
      case Value::Kind::kUnsigned:
        key();
        buf_ += fmt::format("{}", v.u);
        break;
      case Value::Kind::kSigned:
        key();
        buf_ += fmt::format("{}", v.i);
        break;
      case Value::Kind::kBool:
        key();
        buf_ += v.u ? "true" : "false";
        break;
      case Value::Kind::kText:
        key();
        buf_ += JsonString(v.s);
        break;
      case Value::Kind::kTime:
        key();
        buf_ += fmt::format("{},", v.i);
        key("_iso");
        buf_ += JsonString(IsoTime(v.i));
        break;
      case Value::Kind::kBytes:
        if (Printable(v.s)) {
          key();
          buf_ += JsonString(v.s);
        } else {
          key("_hex");
          buf_ += JsonString(Hex(v.s));
        }
        break;
      case Value::Kind::kCrc:
        key();
        buf_ += JsonString(fmt::format("{:#010x}", v.u));
        break;
    }
  }
  void Strings(const std::vector<std::string>& v) {
    buf_ += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) buf_ += ',';
      buf_ += JsonString(v[i]);
    }
    buf_ += ']';
  }
  // Writes out what is buffered once it is big enough (or at the end of the file).
  void Drain(bool force = false) {
    if (!force && buf_.size() < (64u << 10)) return;
    std::fwrite(buf_.data(), 1, buf_.size(), out_);
    buf_.clear();
  }

  std::FILE* out_;
  std::string buf_;
  std::vector<bool> first_;
  std::vector<std::string> problems_;
  std::vector<std::string> notes_;
};

class NullSink final : public Sink {
 public:
  void BeginFile(std::string_view, std::string_view) override { file_problems_ = 0; }
  void Section(std::string_view, const Fields&, std::string_view) override {}
  void BeginList(std::string_view) override {}
  void BeginItem(std::string_view, const Fields&) override {}
  void EndItem() override {}
  void EndList() override {}
  void Note(std::string) override {}
  void EndFile() override {}

 protected:
  void OnProblem(std::string) override {}
};

}  // namespace

std::unique_ptr<Sink> NewTextSink(std::FILE* out) { return std::make_unique<TextSink>(out); }
std::unique_ptr<Sink> NewJsonSink(std::FILE* out) { return std::make_unique<JsonSink>(out); }
std::unique_ptr<Sink> NewNullSink() { return std::make_unique<NullSink>(); }

}  // namespace shoal::dump
