#include "bench/loadgen/shoald_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace shoal::loadgen {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::string FindSiblingBinary(const std::string& name) {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  const std::filesystem::path dir = self.parent_path();
  for (const std::filesystem::path& p : {dir / name, dir / ".." / ".." / "tools" / name}) {
    if (::access(p.c_str(), X_OK) == 0) return std::filesystem::weakly_canonical(p, ec).string();
  }
  return "";
}

Result<std::unique_ptr<ShoaldProcess>> ShoaldProcess::Start(const ShoaldOptions& o) {
  if (o.binary.empty() || ::access(o.binary.c_str(), X_OK) != 0)
    return Status::Make(Code::kNotFound, "shoald binary '{}' not found or not executable (build the shoald target, "
                        "or pass its path)", o.binary);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  io::UniqueFd read_end(pipefd[0]), write_end(pipefd[1]);
  io::UniqueFd log(::open(o.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!log.valid()) return Status::FromErrno(errno, "create " + o.log_path);

  std::vector<std::string> args = {o.binary, "--data-dir", o.data_dir, "--host", "127.0.0.1", "--port", "0"};
  args.insert(args.end(), o.extra_args.begin(), o.extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, log.get(), STDERR_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  // The child must not inherit a blocked SIGTERM or an ignored SIGPIPE from us.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, o.binary.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::FromErrno(rc, "spawn " + o.binary);

  std::unique_ptr<ShoaldProcess> p(new ShoaldProcess());
  p->pid_ = pid;
  p->log_path_ = o.log_path;
  write_end.Reset();

  // The ready line: "shoald listening on http://HOST:PORT (data DIR, durability X)".
  std::string line;
  const auto t0 = std::chrono::steady_clock::now();
  while (line.find('\n') == std::string::npos) {
    const double left = o.ready_timeout_s - SecondsSince(t0);
    if (left <= 0)
      return Status::Make(Code::kIOError, "shoald printed no ready line within {} s; its log: {}", o.ready_timeout_s,
                          p->LogTail());
    struct pollfd pfd{read_end.get(), POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(left * 1000) + 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[512];
    ssize_t got = ::read(read_end.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      // Give the child a moment to finish writing its log before quoting it.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      return Status::Make(Code::kIOError, "shoald exited before it was ready; its log: {}", p->LogTail());
    }
    line.append(buf, static_cast<size_t>(got));
  }
  line.resize(line.find('\n'));
  p->ready_line_ = line;
  p->stdout_ = std::move(read_end);
  constexpr std::string_view kPrefix = "shoald listening on ";
  const size_t at = line.find(kPrefix);
  const size_t url_end = at == std::string::npos ? std::string::npos : line.find(' ', at + kPrefix.size());
  if (url_end == std::string::npos)
    return Status::Make(Code::kInternal, "unexpected shoald ready line: '{}'", line);
  SHOAL_ASSIGN_OR_RETURN(p->endpoint_, ParseEndpoint(line.substr(at + kPrefix.size(), url_end - at - kPrefix.size())));
  constexpr std::string_view kDurability = "durability ";
  if (size_t d = line.rfind(kDurability); d != std::string::npos) {
    p->durability_ = line.substr(d + kDurability.size());
    while (!p->durability_.empty() && (p->durability_.back() == ')' || p->durability_.back() == '\r'))
      p->durability_.pop_back();
  }
  return p;
}

ShoaldProcess::~ShoaldProcess() {
  if (pid_ > 0) Stop(10).IgnoreError();
}

double ShoaldProcess::CpuSeconds() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces, so find its closing paren):
  // state(3) ... utime(14) stime(15).
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stod(f);
    if (i == 15) stime = std::stod(f);
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string ShoaldProcess::LogTail() const {
  std::ifstream in(log_path_);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > 2000) text = "..." + text.substr(text.size() - 2000);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text.empty() ? "(empty; " + log_path_ + ")" : text;
}

Status ShoaldProcess::Stop(double timeout_s) {
  if (pid_ <= 0) return Status::Ok();
  ::kill(pid_, SIGTERM);
  const auto t0 = std::chrono::steady_clock::now();
  int wstatus = 0;
  bool killed = false;
  for (;;) {
    pid_t r = ::waitpid(pid_, &wstatus, WNOHANG);
    if (r == pid_) break;
    if (r < 0 && errno != EINTR) {
      pid_ = -1;
      return Status::FromErrno(errno, "waitpid shoald");
    }
    if (!killed && SecondsSince(t0) > timeout_s) {
      ::kill(pid_, SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  stdout_.Reset();
  if (killed) return Status::Make(Code::kIOError, "shoald did not stop within {} s of SIGTERM; killed. Log: {}",
                                  timeout_s, LogTail());
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)
    return Status::Make(Code::kIOError, "shoald exited with {} {}; its log: {}",
                        WIFEXITED(wstatus) ? "status" : "signal",
                        WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : WTERMSIG(wstatus), LogTail());
  return Status::Ok();
}

}  // namespace shoal::loadgen
