#pragma once
// Peak memory of a piece of code, measured in a forked child. The test process's own peak
// (ru_maxrss) only grows: a test that ran before it (the order is random) would hide a regression.
#include <functional>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace funnel::test {

/// Runs `work` in a forked child and returns by how many MiB the child's peak resident set grew
/// while it ran; a negative number if `work` threw or the child failed. A child's peak starts at
/// its resident set at the fork, not at the parent's peak.
inline double child_peak_growth_mib(const std::function<void()>& work) {
  int fds[2];
  if (::pipe(fds) != 0) return -1.0;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return -1.0;
  }
  if (pid == 0) {
    ::close(fds[0]);
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    const long before = u.ru_maxrss;
    double growth = -1.0;
    try {
      work();
      ::getrusage(RUSAGE_SELF, &u);
      growth = static_cast<double>(u.ru_maxrss - before) / 1024.0;
    } catch (...) {
      growth = -2.0;
    }
    const auto written = ::write(fds[1], &growth, sizeof growth);
    ::_exit(written == sizeof growth ? 0 : 1);
  }
  ::close(fds[1]);
  double growth = -1.0;
  if (::read(fds[0], &growth, sizeof growth) != static_cast<ssize_t>(sizeof growth)) growth = -1.0;
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return growth;
}

}  // namespace funnel::test
