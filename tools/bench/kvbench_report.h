// What one kvbench run measured, and its two renderings: a table for people and one JSON
// line for scripts (compare-etcd reads it; field names follow etcd-bench's etcdload where
// the meaning is the same, so the two can be read side by side). Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "histogram.h"
#include "kvbench_args.h"
#include "proc_stats.h"

namespace kv::bench {

struct ServerUsage {
  int pid = 0;
  double cpu_s = 0;                    // CPU seconds during the measured window
  std::optional<MemoryStatus> memory;  // at the end of the run; nullopt if the process is gone
};

struct RunReport {
  BenchConfig config;
  // false: the workload does not exist yet (see `note`); nothing else is meaningful.
  bool available = true;
  std::string note;

  std::uint64_t ops = 0;        // measured, successful operations
  double seconds = 0;           // the measured window (or, with --count, the elapsed time)
  Histogram latency_ns;         // of the measured operations
  std::uint64_t keys_written = 0;  // load: keys written (ops are txns of --batch keys)
  std::uint64_t errors = 0;     // failed operations (not timed), warm-up included
  std::vector<std::pair<std::string, std::uint64_t>> errors_by_kind;
  std::string first_error;
  std::uint64_t cas_failed = 0;  // txn: compares that did not hold (answers, not errors)

  // CPU over the measured window, in cores (CPU seconds per wall second).
  std::vector<ServerUsage> servers;
  double server_cpu_s = 0;
  double loadgen_cpu_cores = 0;
  double host_busy_cores = 0;    // the whole machine
  double host_busy_before = 0;   // the whole machine, the second before the run
  std::string load_average;      // /proc/loadavg at the end

  // Client library counters, summed over the connections.
  std::uint64_t attempts = 0;
  std::uint64_t redirects = 0;
  std::uint64_t connects = 0;

  double ops_per_s() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
  double server_cpu_cores() const { return seconds > 0 ? server_cpu_s / seconds : 0; }
  // Throughput per unit of server CPU: the efficiency figure, independent of the generator.
  double ops_per_server_cpu_s() const { return server_cpu_s > 0 ? static_cast<double>(ops) / server_cpu_s : 0; }
  // Busy cores not explained by the servers or kvbench: other tenants of the machine.
  double other_cores() const { return host_busy_cores - server_cpu_cores() - loadgen_cpu_cores; }
};

// "put", "get-l", "get-s", "txn", "txn-cross-shard", "mixed-s-0.9", "load".
std::string workload_name(const BenchConfig& c);

std::string format_table(const RunReport& r);
// One line, no trailing newline.
std::string format_json(const RunReport& r);
// A JSON string literal (quotes included), escaping what JSON requires.
std::string json_quote(const std::string& s);

}  // namespace kv::bench
