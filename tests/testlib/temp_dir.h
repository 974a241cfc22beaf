// TempDir: a fresh directory under $SHOAL_TEST_TMPDIR (or /tmp), removed on destruction.
#pragma once

#include <string>

namespace shoal::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace shoal::testing
