// File helpers shared by the checkers.
#include <fmt/format.h>

#include "tools/dump/checks.h"

namespace shoal::dump {

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool ParseIndexFileName(std::string_view name, uint64_t* ordinal) {
  if (name.size() != 16 || name.substr(12) != ".idx") return false;
  std::string as_seg = std::string(name.substr(0, 12)) + ".seg";
  return format::ParseSegmentFileName(as_seg, ordinal);
}

std::string FindSegmentFor(io::FileSystem& fs, const std::string& dir, uint32_t ordinal_low32,
                           const std::string& index_path, bool clean) {
  if (!clean) {
    // <ordinal>.idx describes <ordinal>.seg beside it, whatever the file says.
    std::string base = BaseName(index_path);
    if (base.size() > 4 && base.substr(base.size() - 4) == ".idx") {
      std::string seg = dir + "/" + base.substr(0, base.size() - 4) + ".seg";
      if (fs.Exists(seg)) return seg;
    }
    return {};
  }
  auto names = fs.ListDir(dir);
  if (!names.ok()) return {};
  std::string found;
  uint64_t best = 0;
  for (const std::string& n : *names) {
    uint64_t ord;
    // The highest match: CLEAN describes the active segment, the newest one.
    if (format::ParseSegmentFileName(n, &ord) && static_cast<uint32_t>(ord) == ordinal_low32 &&
        (found.empty() || ord > best)) {
      found = dir + "/" + n;
      best = ord;
    }
  }
  return found;
}

}  // namespace shoal::dump
