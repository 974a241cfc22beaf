#include "bench/lib/page_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <vector>

#include "io/unique_fd.h"

namespace shoal::bench {
namespace {

std::vector<std::string> RegularFiles(const std::string& path) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    out.push_back(path);
    return out;
  }
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2)) out.push_back(it->path().string());
  }
  return out;
}

}  // namespace

Status DropPageCache(const std::string& path) {
  for (const std::string& f : RegularFiles(path)) {
    io::UniqueFd fd(::open(f.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) continue;  // unlinked meanwhile (a background trim)
      return Status::FromErrno(errno, "open " + f);
    }
    if (::fdatasync(fd.get()) != 0) return Status::FromErrno(errno, "fdatasync " + f);
    if (int rc = ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED); rc != 0)
      return Status::FromErrno(rc, "posix_fadvise(DONTNEED) " + f);
  }
  return Status::Ok();
}

uint64_t ResidentBytes(const std::string& path) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  uint64_t resident = 0;
  std::vector<unsigned char> vec;
  for (const std::string& f : RegularFiles(path)) {
    io::UniqueFd fd(::open(f.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) continue;
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || st.st_size == 0) continue;
    const size_t len = static_cast<size_t>(st.st_size);
    void* p = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd.get(), 0);
    if (p == MAP_FAILED) continue;
    vec.assign((len + page - 1) / page, 0);
    if (::mincore(p, len, vec.data()) == 0) {
      for (size_t i = 0; i < vec.size(); ++i) {
        if (vec[i] & 1) resident += (i + 1 == vec.size()) ? len - i * page : page;
      }
    }
    ::munmap(p, len);
  }
  return resident;
}

uint64_t TreeBytes(const std::string& path) {
  uint64_t total = 0;
  for (const std::string& f : RegularFiles(path)) {
    std::error_code ec;
    uint64_t n = std::filesystem::file_size(f, ec);
    if (!ec) total += n;
  }
  return total;
}

}  // namespace shoal::bench
