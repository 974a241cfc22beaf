#include "tests/fuzz/support/scratch_dir.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace shoal::fuzz {

const std::string& ScratchBase() {
  static const std::string base = [] {
    const char* env = std::getenv("SHOAL_FUZZ_TMPDIR");
    if (env && *env) return std::string(env);
    if (::access("/dev/shm", W_OK) == 0) return std::string("/dev/shm");
    env = std::getenv("SHOAL_TEST_TMPDIR");
    if (env && *env) return std::string(env);
    return std::string("/tmp");
  }();
  return base;
}

ScratchDir::ScratchDir() {
  std::string tmpl = ScratchBase() + "/shoal-fuzz-XXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    std::perror(("mkdtemp " + tmpl).c_str());
    std::abort();
  }
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace shoal::fuzz
