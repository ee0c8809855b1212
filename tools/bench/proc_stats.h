// What kvbench reads from Linux's /proc: CPU time of given processes (the servers under test)
// and of itself, the whole machine's busy time (to see other tenants' load), and memory high
// water marks. The parsers are separate pure functions so tests can feed them text.
//
// Thread-safety: every function is safe from any thread (each call reads /proc afresh).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace kv::bench {

// user + system CPU seconds of process `pid` (all its threads), or nullopt if it is gone.
std::optional<double> process_cpu_seconds(int pid);
// user + system CPU seconds of this process (getrusage: microsecond resolution).
double self_cpu_seconds();
// Non-idle CPU seconds of the whole machine, all cores (/proc/stat; idle, iowait and steal
// excluded), or 0 if unreadable. Only differences between two calls mean anything.
double host_busy_seconds();

struct MemoryStatus {
  std::uint64_t vm_hwm_kib = 0;    // peak resident set (VmHWM)
  std::uint64_t vm_rss_kib = 0;    // resident set now (VmRSS)
  std::uint64_t rss_anon_kib = 0;  // of which anonymous memory (heap), not mapped files
};
// From /proc/PID/status; nullopt if the process is gone.
std::optional<MemoryStatus> process_memory(int pid);

// "0.52 0.58 0.59" (1, 5, 15 minutes), or "" if unreadable.
std::string load_average();

// Whether a process with this pid exists.
bool process_alive(int pid);

// ---- parsers (pure)

// utime + stime in clock ticks from the text of /proc/PID/stat; nullopt if malformed. The
// command name (field 2) may contain spaces and parentheses: fields are counted after the
// last ')'.
std::optional<std::uint64_t> parse_stat_cpu_ticks(const std::string& stat);
// The value in kB of a "Name:   1234 kB" line of /proc/PID/status; nullopt if absent.
std::optional<std::uint64_t> parse_status_kib(const std::string& status, const std::string& name);
// Non-idle ticks (user nice system irq softirq) from the "cpu " line of /proc/stat.
std::optional<std::uint64_t> parse_host_busy_ticks(const std::string& proc_stat);

}  // namespace kv::bench
