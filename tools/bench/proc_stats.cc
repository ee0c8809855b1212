#include "proc_stats.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/assert.h"

namespace kv::bench {

namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

double ticks_per_second() {
  static const long hz = ::sysconf(_SC_CLK_TCK);
  KV_ASSERT(hz > 0);
  return static_cast<double>(hz);
}

std::vector<std::string> split_fields(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  return fields;
}

std::optional<std::uint64_t> to_u64(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(text);
}

}  // namespace

std::optional<std::uint64_t> parse_stat_cpu_ticks(const std::string& stat) {
  const std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  // After the ')': state(3) ppid(4) ... utime(14) stime(15): indexes 11 and 12 from field 3.
  const std::vector<std::string> f = split_fields(stat.substr(close + 1));
  if (f.size() < 13) return std::nullopt;
  const auto utime = to_u64(f[11]);
  const auto stime = to_u64(f[12]);
  if (!utime || !stime) return std::nullopt;
  return *utime + *stime;
}

std::optional<std::uint64_t> parse_status_kib(const std::string& status, const std::string& name) {
  std::istringstream in(status);
  const std::string wanted = name + ":";
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, wanted.size(), wanted) != 0) continue;
    const std::vector<std::string> f = split_fields(line.substr(wanted.size()));
    if (f.empty()) return std::nullopt;
    return to_u64(f[0]);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_host_busy_ticks(const std::string& proc_stat) {
  const std::string first = proc_stat.substr(0, proc_stat.find('\n'));
  const std::vector<std::string> f = split_fields(first);
  // cpu user nice system idle iowait irq softirq steal ...
  if (f.size() < 8 || f[0] != "cpu") return std::nullopt;
  std::uint64_t busy = 0;
  for (std::size_t i : {1u, 2u, 3u, 6u, 7u}) {
    const auto v = to_u64(f[i]);
    if (!v) return std::nullopt;
    busy += *v;
  }
  return busy;
}

std::optional<double> process_cpu_seconds(int pid) {
  const auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  const auto ticks = parse_stat_cpu_ticks(*text);
  if (!ticks) return std::nullopt;
  return static_cast<double>(*ticks) / ticks_per_second();
}

double self_cpu_seconds() {
  rusage usage{};
  const int rc = ::getrusage(RUSAGE_SELF, &usage);
  KV_ASSERT(rc == 0);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double host_busy_seconds() {
  const auto text = read_file("/proc/stat");
  if (!text) return 0;
  const auto ticks = parse_host_busy_ticks(*text);
  return ticks ? static_cast<double>(*ticks) / ticks_per_second() : 0;
}

std::optional<MemoryStatus> process_memory(int pid) {
  const auto text = read_file("/proc/" + std::to_string(pid) + "/status");
  if (!text) return std::nullopt;
  MemoryStatus m;
  m.vm_hwm_kib = parse_status_kib(*text, "VmHWM").value_or(0);
  m.vm_rss_kib = parse_status_kib(*text, "VmRSS").value_or(0);
  m.rss_anon_kib = parse_status_kib(*text, "RssAnon").value_or(0);
  return m;
}

std::string load_average() {
  const auto text = read_file("/proc/loadavg");
  if (!text) return "";
  const std::vector<std::string> f = split_fields(*text);
  if (f.size() < 3) return "";
  return f[0] + " " + f[1] + " " + f[2];
}

bool process_alive(int pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

}  // namespace kv::bench
