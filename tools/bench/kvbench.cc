// kvbench: drives a running cluster through the client library and reports throughput,
// latency percentiles and the servers' CPU use. See `kvbench --help` and tools/bench/README.md.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "kvbench_args.h"
#include "kvbench_report.h"
#include "kvbench_run.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;       // no operation succeeded, or the run could not be made
constexpr int kExitUsage = 2;
// 3 meant "workload not available yet" while txn --cross-shard waited for the server.
constexpr int kExitCheckFailed = 4;  // transfer's balances do not sum to 0

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const kv::bench::ParseResult parsed = kv::bench::parse_args(args);
  if (parsed.help) {
    std::cout << kv::bench::usage_text();
    return kExitOk;
  }
  if (!parsed.config) {
    std::cerr << "kvbench: " << parsed.error << "\nRun 'kvbench --help' for usage.\n";
    return kExitUsage;
  }
  const kv::bench::BenchConfig& config = *parsed.config;
  kv::bench::RunReport report;
  try {
    report = kv::bench::run_benchmark(config);
  } catch (const std::exception& e) {
    std::cerr << "kvbench: " << e.what() << "\n";
    return kExitFailed;
  }
  const std::string json = kv::bench::format_json(report);
  if (config.format == kv::bench::OutputFormat::kJson) {
    std::cout << json << "\n";
  } else {
    std::cout << kv::bench::format_table(report);
  }
  if (!config.json_file.empty()) {
    std::ofstream out(config.json_file);
    out << json << "\n";
    if (!out) std::cerr << "kvbench: cannot write " << config.json_file << "\n";
  }
  if (report.balance_check && !report.balance_check->ok()) {
    // The table says so already; a JSON reader learns it from the exit code and here.
    std::cerr << "kvbench: transfer's balance check failed (" << report.balance_check->sum << " over "
              << report.balance_check->keys << " keys, " << report.balance_check->bad_values << " unreadable"
              << (report.balance_check->error.empty() ? "" : "; " + report.balance_check->error) << ")\n";
    return kExitCheckFailed;
  }
  return report.ops > 0 ? kExitOk : kExitFailed;
}
