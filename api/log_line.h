// One-line logs of shoald and its HTTP server: "<UTC time> <who>: <message>".
#pragma once

#include <fmt/format.h>
#include <time.h>

#include <chrono>
#include <string>
#include <string_view>

namespace shoal::api {

// "2024-01-01T12:00:00.123Z": the prefix of every log line.
inline std::string LogTime() {
  auto now = std::chrono::system_clock::now();
  time_t secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  struct tm tm;
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

// One fmt::print call per line: stderr is unbuffered, so lines from threads do not mix.
template <typename... Args>
void LogLine(std::string_view who, fmt::format_string<Args...> f, Args&&... args) {
  fmt::print(stderr, "{} {}: {}\n", LogTime(), who, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace shoal::api
