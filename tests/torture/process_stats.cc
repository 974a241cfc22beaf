#include "tests/torture/process_stats.h"

#include <dirent.h>
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <cstring>

namespace shoal::torture {

bool SampleProcess(pid_t pid, const std::string& data_dir, ProcessSample* out) {
  const std::string base = "/proc/" + std::to_string(pid);
  FILE* f = std::fopen((base + "/status").c_str(), "r");
  if (!f) return false;
  char line[512];
  bool rss = false;
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long v;
    if (std::sscanf(line, "VmRSS: %llu kB", &v) == 1) {
      out->rss_kib = v;
      rss = true;
    } else if (std::sscanf(line, "RssAnon: %llu kB", &v) == 1) {
      out->rss_anon_kib = v;
    }
  }
  std::fclose(f);
  DIR* d = ::opendir((base + "/fd").c_str());
  if (!d) return false;
  uint64_t fds = 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++fds;
  ::closedir(d);
  out->fds = fds;
  f = std::fopen((base + "/maps").c_str(), "r");
  if (!f) return false;
  uint64_t maps = 0;
  int c;
  while ((c = std::fgetc(f)) != EOF)
    if (c == '\n') ++maps;
  std::fclose(f);
  out->maps = maps;
  out->segments = 0;
  if (!data_dir.empty()) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(data_dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
      if (it->path().extension() == ".seg") ++out->segments;
  }
  out->maps_beyond_segments = maps > out->segments ? maps - out->segments : 0;
  return rss;
}

std::string CheckBounded(const std::vector<ProcessSample>& s, const char* what, uint64_t ProcessSample::*field,
                         double factor, uint64_t slack) {
  if (s.size() < 6) return fmt::format("{}: only {} samples, too few to judge", what, s.size());
  const size_t third = s.size() / 3;
  double first = 0, last = 0;
  for (size_t i = 0; i < third; ++i) first += static_cast<double>(s[i].*field);
  for (size_t i = s.size() - third; i < s.size(); ++i) last += static_cast<double>(s[i].*field);
  first /= static_cast<double>(third);
  last /= static_cast<double>(third);
  if (last > first * factor + static_cast<double>(slack))
    return fmt::format("{} grew without bound: mean {:.0f} in the first third, {:.0f} in the last (limit {:.0f})", what,
                       first, last, first * factor + static_cast<double>(slack));
  return "";
}

}  // namespace shoal::torture
