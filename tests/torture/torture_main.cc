// shoal-torture: see tests/torture/torture.h and tests/torture/README.md.
//
//   shoal-torture [--embedded|--server] [--soak] [--minutes N] [--cycles N] [--seed S]
//                 [--work-dir DIR] [--shoald PATH] [--verbose]
//
// Exit status: 0 everything held; 1 a check failed (details on stderr); 2 usage error.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "tests/torture/torture.h"

int main(int argc, char** argv) {
  using namespace shoal::torture;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--child") == 0) EmbeddedChildMain(argc, argv);

  CLI::App app{"shoal-torture: kill-and-recover and soak runs against the engine and shoald"};
  TortureOptions o;
  bool server = false, embedded = false, soak = false, keep = false;
  o.seed = std::random_device{}() | (uint64_t{std::random_device{}()} << 32);
  app.add_flag("--embedded", embedded, "the engine in a child process (default)");
  app.add_flag("--server", server, "shoald, driven over HTTP");
  app.add_flag("--soak", soak, "sustained load without kills; checks RSS, fds and mappings stay bounded");
  app.add_option("--minutes", o.minutes, "run this long");
  app.add_option("--cycles", o.max_cycles, "kill-and-recover cycles (with --minutes: whichever ends first)");
  app.add_option("--seed", o.seed, "base seed (printed; default random)");
  app.add_option("--work-dir", o.work_dir, "where data directories go (default: a new directory in $TMPDIR)");
  app.add_option("--shoald", o.shoald, "the shoald binary (--server)");
  app.add_option("--epoch-cycles", o.epoch_cycles, "cycles per data directory");
  app.add_flag("--keep", keep, "keep the work directory");
  app.add_flag("--verbose", o.verbose, "a line per cycle");
  CLI11_PARSE(app, argc, argv);
  if (server && embedded) {
    std::fprintf(stderr, "shoal-torture: --server and --embedded exclude each other\n");
    return 2;
  }
  if (o.minutes <= 0 && o.max_cycles == 0) o.max_cycles = 10;
  if (o.epoch_cycles == 0) o.epoch_cycles = 1;
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return 2;
  o.self_exe.assign(exe, static_cast<size_t>(n));
  if (server && o.shoald.empty()) {
    const std::string sibling = std::filesystem::path(o.self_exe).parent_path().parent_path().string() + "/tools/shoald";
    if (::access(sibling.c_str(), X_OK) == 0) o.shoald = sibling;
    else {
      std::fprintf(stderr, "shoal-torture: --server needs --shoald PATH\n");
      return 2;
    }
  }
  // Moved to fd >= 10: the embedded child's ack pipe goes to fd 3.
  auto open_high = [](const char* path) {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fd;
    const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
    ::close(fd);
    return high;
  };
  o.self_fd = open_high("/proc/self/exe");
  if (o.self_fd < 0) return 2;
  if (server) {
    o.shoald_fd = open_high(o.shoald.c_str());
    if (o.shoald_fd < 0) {
      std::fprintf(stderr, "shoal-torture: cannot open %s: %s\n", o.shoald.c_str(), std::strerror(errno));
      return 2;
    }
  }
  bool made = false;
  if (o.work_dir.empty()) {
    const char* base = std::getenv("SHOAL_TEST_TMPDIR");
    if (!base || !*base) base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/shoal-torture-XXXXXX";
    if (!::mkdtemp(tmpl.data())) return 2;
    o.work_dir = tmpl;
    made = true;
  } else {
    std::filesystem::create_directories(o.work_dir);
  }
  int rc;
  if (server) rc = soak ? RunServerSoak(o) : RunServerTorture(o);
  else rc = soak ? RunEmbeddedSoak(o) : RunEmbeddedTorture(o);
  if (made && rc == 0 && !keep) std::filesystem::remove_all(o.work_dir);
  else if (rc != 0) std::fprintf(stderr, "shoal-torture: data kept in %s (seed %llu)\n", o.work_dir.c_str(),
                                  static_cast<unsigned long long>(o.seed));
  return rc;
}
