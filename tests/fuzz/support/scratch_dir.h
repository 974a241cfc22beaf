// ScratchDir: a fresh directory for one fuzz input, removed with everything in it on
// destruction.
//
// Targets that run the real file code (shard log recovery, the engine behind the service)
// create and delete a directory per input, thousands of times a second, so it goes on a
// RAM file system when there is one: $SHOAL_FUZZ_TMPDIR if set, else /dev/shm if writable,
// else $SHOAL_TEST_TMPDIR, else /tmp.
#pragma once

#include <string>

namespace shoal::fuzz {

// The base directory scratch directories are created in (see above).
const std::string& ScratchBase();

class ScratchDir {
 public:
  ScratchDir();  // aborts if no directory can be created: the target cannot run
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace shoal::fuzz
