#include "tests/testlib/temp_dir.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace shoal::testing {

TempDir::TempDir() {
  const char* base = std::getenv("SHOAL_TEST_TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/shoal-test-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace shoal::testing
