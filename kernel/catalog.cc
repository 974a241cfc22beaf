#include "kernel/catalog.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "io/crc32c.h"
#include "kernel/sequence_number.h"
#include "kernel/stream_name.h"
#include "kernel/text.h"

namespace shoal {

std::string_view StreamStatusName(StreamStatus s) {
  switch (s) {
    case StreamStatus::kCreating: return "CREATING";
    case StreamStatus::kActive: return "ACTIVE";
    case StreamStatus::kUpdating: return "UPDATING";
    case StreamStatus::kDeleting: return "DELETING";
  }
  return "?";
}

std::string_view CapacityModeName(CapacityMode m) {
  return m == CapacityMode::kOnDemand ? "ON_DEMAND" : "PROVISIONED";
}

ShardMeta* StreamMeta::FindShard(uint32_t index) {
  for (ShardMeta& s : shards)
    if (s.index == index) return &s;
  return nullptr;
}
const ShardMeta* StreamMeta::FindShard(uint32_t index) const {
  return const_cast<StreamMeta*>(this)->FindShard(index);
}
size_t StreamMeta::OpenShardCount() const {
  return static_cast<size_t>(std::count_if(shards.begin(), shards.end(), [](const ShardMeta& s) { return !s.closed; }));
}

StreamMeta* Catalog::Find(std::string_view name) {
  for (StreamMeta& s : streams)
    if (s.name == name) return &s;
  return nullptr;
}

namespace {

// Tag keys and values may hold any bytes: percent-encode everything outside [A-Za-z0-9._-].
std::string Escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out.empty() ? "%" : out;  // "%" alone = the empty string
}

Result<std::string> Unescape(std::string_view s) {
  if (s == "%") return std::string();
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return Status(Code::kCorruption, "bad escape");
    unsigned v = 0;
    auto r = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (r.ec != std::errc() || r.ptr != s.data() + i + 3) return Status(Code::kCorruption, "bad escape");
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

std::string Idx(uint32_t i) { return i == kNoShard ? "-" : std::to_string(i); }

// key=value fields of one line.
class Fields {
 public:
  explicit Fields(std::string_view line) {
    size_t pos = 0;
    while (pos < line.size()) {
      size_t sp = line.find(' ', pos);
      if (sp == std::string_view::npos) sp = line.size();
      std::string_view tok = line.substr(pos, sp - pos);
      size_t eq = tok.find('=');
      if (eq == std::string_view::npos) words_.emplace_back(tok);
      else kv_.emplace(std::string(tok.substr(0, eq)), std::string(tok.substr(eq + 1)));
      pos = sp + 1;
    }
  }
  const std::vector<std::string>& words() const { return words_; }
  bool Get(const char* k, std::string* v) const {
    auto it = kv_.find(k);
    if (it == kv_.end()) return false;
    *v = it->second;
    return true;
  }
  template <typename T>
  bool Int(const char* k, T* v) const {
    std::string s;
    if (!Get(k, &s)) return false;
    if (s == "-") {
      *v = static_cast<T>(kNoShard);
      return true;
    }
    auto r = std::from_chars(s.data(), s.data() + s.size(), *v);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
  }
  bool Key(const char* k, HashKey* v) const {
    std::string s;
    if (!Get(k, &s)) return false;
    auto r = ParseHashKey(s);
    if (!r.ok()) return false;
    *v = *r;
    return true;
  }

 private:
  std::vector<std::string> words_;
  std::map<std::string, std::string> kv_;
};

}  // namespace

std::string EncodeCatalog(const Catalog& c) {
  std::string out = "shoal-catalog 1\n";
  for (const StreamMeta& s : c.streams) {
    out += fmt::format(
        "stream name={} uid={} status={} mode={} retention_h={} created_ms={} until_ms={} "
        "next_shard={}\n",
        s.name, s.uid, static_cast<int>(s.status), static_cast<int>(s.mode), s.retention_hours,
        s.created_ms, s.status_until_ms, s.next_shard);
    for (const ShardMeta& sh : s.shards) {
      out += fmt::format(
          "shard index={} start={} end={} parent={} adjacent={} created_s={} closed={} "
          "closed_ms={} end_offset={}\n",
          sh.index, FormatHashKey(sh.range.start), FormatHashKey(sh.range.end), Idx(sh.parent),
          Idx(sh.adjacent_parent), sh.created_s, sh.closed ? 1 : 0, sh.closed_ms, sh.end_offset);
      for (uint32_t child : sh.children) out += fmt::format("child of={} index={}\n", sh.index, child);
    }
    for (const auto& [k, v] : s.tags) out += fmt::format("tag key={} value={}\n", Escape(k), Escape(v));
    for (int64_t t : s.update_count_calls_ms) out += fmt::format("update_call ms={}\n", t);
    if (s.pending.kind != PendingReshard::Kind::kNone)
      out += fmt::format("pending kind={} shard={} adjacent={} key={} target={}\n",
                         static_cast<int>(s.pending.kind), s.pending.shard, s.pending.adjacent,
                         FormatHashKey(s.pending.key), s.pending.target);
  }
  out += fmt::format("crc {:08x}\n", io::Crc32c(out.data(), out.size()));
  return out;
}

Result<Catalog> DecodeCatalog(std::string_view text, std::string_view file) {
  auto bad = [&](std::string_view why) {
    return Status::Make(Code::kCorruption, "{}: {}; the catalog is damaged", file, why);
  };
  size_t crc_pos = text.rfind("crc ");
  if (crc_pos == std::string_view::npos || text.substr(0, 16) != "shoal-catalog 1\n")
    return bad("missing header or checksum");
  uint32_t crc = 0;
  std::string_view crc_hex = text.substr(crc_pos + 4);
  while (!crc_hex.empty() && crc_hex.back() == '\n') crc_hex.remove_suffix(1);
  auto r = std::from_chars(crc_hex.data(), crc_hex.data() + crc_hex.size(), crc, 16);
  if (r.ec != std::errc() || io::Crc32c(text.data(), crc_pos) != crc) return bad("checksum mismatch");
  Catalog c;
  std::string_view body = text.substr(16, crc_pos - 16);
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string_view::npos) nl = body.size();
    Fields f(body.substr(pos, nl - pos));
    pos = nl + 1;
    if (f.words().empty()) return bad("empty line");
    const std::string& kind = f.words()[0];
    if (kind == "stream") {
      StreamMeta s;
      int status = 0, mode = 0;
      if (!f.Get("name", &s.name) || !f.Int("uid", &s.uid) || !f.Int("status", &status) ||
          !f.Int("mode", &mode) || !f.Int("retention_h", &s.retention_hours) ||
          !f.Int("created_ms", &s.created_ms) || !f.Int("until_ms", &s.status_until_ms) ||
          !f.Int("next_shard", &s.next_shard) || status < 0 || status > 3 || mode < 0 || mode > 1)
        return bad("bad stream line");
      s.status = static_cast<StreamStatus>(status);
      s.mode = static_cast<CapacityMode>(mode);
      c.streams.push_back(std::move(s));
      continue;
    }
    if (c.streams.empty()) return bad("line before the first stream");
    StreamMeta& s = c.streams.back();
    if (kind == "shard") {
      ShardMeta sh;
      int closed = 0;
      if (!f.Int("index", &sh.index) || !f.Key("start", &sh.range.start) ||
          !f.Key("end", &sh.range.end) || !f.Int("parent", &sh.parent) ||
          !f.Int("adjacent", &sh.adjacent_parent) || !f.Int("created_s", &sh.created_s) ||
          !f.Int("closed", &closed) || !f.Int("closed_ms", &sh.closed_ms) ||
          !f.Int("end_offset", &sh.end_offset))
        return bad("bad shard line");
      sh.closed = closed != 0;
      s.shards.push_back(sh);
    } else if (kind == "child") {
      uint32_t of = 0, index = 0;
      if (!f.Int("of", &of) || !f.Int("index", &index) || !s.FindShard(of)) return bad("bad child line");
      s.FindShard(of)->children.push_back(index);
    } else if (kind == "tag") {
      std::string k, v;
      if (!f.Get("key", &k) || !f.Get("value", &v)) return bad("bad tag line");
      auto uk = Unescape(k), uv = Unescape(v);
      if (!uk.ok() || !uv.ok()) return bad("bad tag escape");
      s.tags[*uk] = *uv;
    } else if (kind == "update_call") {
      int64_t ms = 0;
      if (!f.Int("ms", &ms)) return bad("bad update_call line");
      s.update_count_calls_ms.push_back(ms);
    } else if (kind == "pending") {
      int k = 0;
      if (!f.Int("kind", &k) || !f.Int("shard", &s.pending.shard) ||
          !f.Int("adjacent", &s.pending.adjacent) || !f.Key("key", &s.pending.key) ||
          !f.Int("target", &s.pending.target) || k < 0 || k > 3)
        return bad("bad pending line");
      s.pending.kind = static_cast<PendingReshard::Kind>(k);
    } else {
      return bad(fmt::format("unknown line kind '{}'", kind));
    }
  }
  // The engine builds names, directories and sequence numbers from these fields without
  // checking them again (an out-of-range creation second aborted FormatSequenceNumber in
  // DescribeStream; found by catalog_fuzz), so a catalog it could not have written is
  // damage, like a bad checksum.
  std::vector<std::string_view> names;
  for (const StreamMeta& s : c.streams) {
    if (!IsValidStreamName(s.name)) return bad(fmt::format("invalid stream name {}", QuoteInput(s.name, 140)));
    names.push_back(s.name);
    std::vector<uint32_t> indexes;
    for (const ShardMeta& sh : s.shards) {
      if (sh.index > kMaxShardIndex || sh.index >= s.next_shard)
        return bad(fmt::format("stream {}: shard index {} is not below next_shard {}", s.name, sh.index, s.next_shard));
      if (sh.created_s < 0 || sh.created_s > kMaxSeqCreatedSeconds || sh.closed_ms < 0 ||
          sh.closed_ms / 1000 > kMaxSeqArrivalSeconds || sh.end_offset > kMaxSeqRecordOffset)
        return bad(fmt::format("stream {}: shard {} has times or an end offset out of range", s.name, sh.index));
      if (!sh.range.Valid()) return bad(fmt::format("stream {}: shard {} has an inverted hash key range", s.name, sh.index));
      indexes.push_back(sh.index);
    }
    std::sort(indexes.begin(), indexes.end());
    if (std::adjacent_find(indexes.begin(), indexes.end()) != indexes.end())
      return bad(fmt::format("stream {} lists a shard twice", s.name));
  }
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end()) return bad("a stream is listed twice");
  return c;
}

Status WriteCatalog(io::FileSystem& fs, const std::string& path, const Catalog& c) {
  return io::WriteFileAtomic(fs, path, EncodeCatalog(c));
}

Result<Catalog> ReadCatalog(io::FileSystem& fs, const std::string& path) {
  if (!fs.Exists(path)) return Catalog{};
  SHOAL_ASSIGN_OR_RETURN(std::string text, io::ReadWholeFile(fs, path));
  return DecodeCatalog(text, path);
}

}  // namespace shoal
