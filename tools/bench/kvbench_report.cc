#include "kvbench_report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace kv::bench {

namespace {

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Latency in ms with about three significant digits: 0.412, 8.13, 64.2, 1234.
std::string latency(std::uint64_t ns) {
  const double v = ms(ns);
  return fixed(v, v < 1 ? 3 : v < 10 ? 2 : v < 100 ? 1 : 0);
}

std::string mib(std::uint64_t kib) { return fixed(static_cast<double>(kib) / 1024.0, 1); }

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

const double kPercentiles[] = {50, 90, 99, 99.9};
const char* const kPercentileKeys[] = {"p50_ms", "p90_ms", "p99_ms", "p999_ms"};
const char* const kPercentileHeads[] = {"p50", "p90", "p99", "p99.9"};

std::string percent(double fraction) { return fixed(100 * fraction, fraction < 0.001 && fraction > 0 ? 3 : 1) + "%"; }

void txn_table(std::ostringstream& out, const RunReport& r) {
  const TxnStats& t = r.txns;
  out << "transactions (ops and latencies above are whole run_transaction calls that committed, retries "
         "included)\n";
  out << "run_transaction calls in the window: " << t.runs << " runs: " << t.committed << " committed ("
      << fixed(r.seconds > 0 ? static_cast<double>(t.committed) / r.seconds : 0, 1) << "/s), " << t.gave_up
      << " gave up on conflicts, " << t.indeterminate << " indeterminate, " << t.failed << " other errors\n";
  out << "attempts " << t.attempts << " ("
      << fixed(t.runs > 0 ? static_cast<double>(t.attempts) / static_cast<double>(t.runs) : 0, 2)
      << " per run, at most " << t.most_attempts << " of --max-attempts " << r.config.max_attempts << "), conflicts "
      << t.conflicts << ", abort rate " << percent(t.abort_rate()) << " (conflicts / attempts)\n";
  out << "committed by participant shards:";
  for (std::size_t n = 0; n < t.committed_by_participants.size(); ++n) {
    if (t.committed_by_participants[n] == 0) continue;
    out << " " << n << (n + 1 == TxnStats::kParticipantSlots ? "+" : "") << "=" << t.committed_by_participants[n];
  }
  out << (t.committed == 0 ? " -" : "") << "\n";
  if (const auto& check = r.balance_check) {
    if (!check->error.empty()) {
      out << "balance check: could not read the pool back: " << check->error << "\n";
    } else {
      out << "balance check: " << check->keys << " keys sum to " << check->sum << ", " << check->bad_values
          << " unreadable values: " << (check->ok() ? "ok" : "FAILED (money was created or destroyed)") << "\n";
    }
  }
}

void txn_json(std::ostringstream& j, const RunReport& r) {
  const TxnStats& t = r.txns;
  j << ",\"txn_runs\":" << t.runs << ",\"txn_committed\":" << t.committed << ",\"committed_per_s\":"
    << fixed(r.seconds > 0 ? static_cast<double>(t.committed) / r.seconds : 0, 1) << ",\"txn_attempts\":" << t.attempts
    << ",\"txn_conflicts\":" << t.conflicts << ",\"abort_rate\":" << fixed(t.abort_rate(), 5)
    << ",\"txn_gave_up\":" << t.gave_up << ",\"txn_indeterminate\":" << t.indeterminate
    << ",\"txn_failed\":" << t.failed << ",\"txn_most_attempts\":" << t.most_attempts
    << ",\"max_attempts\":" << r.config.max_attempts << ",\"committed_by_participants\":{";
  bool first = true;
  for (std::size_t n = 0; n < t.committed_by_participants.size(); ++n) {
    if (t.committed_by_participants[n] == 0) continue;
    j << (first ? "" : ",") << "\"" << n << (n + 1 == TxnStats::kParticipantSlots ? "+" : "")
      << "\":" << t.committed_by_participants[n];
    first = false;
  }
  j << "}";
  if (const auto& check = r.balance_check) {
    j << ",\"balance_check\":{\"ok\":" << (check->ok() ? "true" : "false") << ",\"keys\":" << check->keys
      << ",\"sum\":" << check->sum << ",\"bad_values\":" << check->bad_values;
    if (!check->error.empty()) j << ",\"error\":" << json_quote(check->error);
    j << "}";
  }
}

}  // namespace

void TxnStats::record(TxnEnd end, std::uint64_t run_attempts, std::uint32_t participants) {
  ++runs;
  attempts += run_attempts;
  most_attempts = std::max(most_attempts, run_attempts);
  const std::uint64_t earlier = run_attempts > 0 ? run_attempts - 1 : 0;
  switch (end) {
    case TxnEnd::kCommitted:
      ++committed;
      ++committed_by_participants[std::min<std::size_t>(participants, kParticipantSlots - 1)];
      conflicts += earlier;
      break;
    case TxnEnd::kGaveUp:
      ++gave_up;
      conflicts += run_attempts;
      break;
    case TxnEnd::kIndeterminate:
      ++indeterminate;
      conflicts += earlier;
      break;
    case TxnEnd::kFailed:
      ++failed;
      conflicts += earlier;
      break;
  }
}

void TxnStats::merge(const TxnStats& o) {
  runs += o.runs;
  committed += o.committed;
  gave_up += o.gave_up;
  indeterminate += o.indeterminate;
  failed += o.failed;
  attempts += o.attempts;
  conflicts += o.conflicts;
  most_attempts = std::max(most_attempts, o.most_attempts);
  for (std::size_t n = 0; n < committed_by_participants.size(); ++n) committed_by_participants[n] += o.committed_by_participants[n];
}

bool uses_run_transaction(const BenchConfig& c) {
  return c.workload == Workload::kTransfer || (c.workload == Workload::kTxn && c.cross_shard);
}

std::string workload_name(const BenchConfig& c) {
  switch (c.workload) {
    case Workload::kGet: return c.serializable ? "get-s" : "get-l";
    case Workload::kTxn: return c.cross_shard ? "txn-cross-shard" : "txn";
    case Workload::kMixed: return std::string("mixed-") + (c.serializable ? "s-" : "l-") + fixed(c.read_ratio, 2);
    default: return to_string(c.workload);
  }
}

std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20 || u > 0x7e) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string format_table(const RunReport& r) {
  const BenchConfig& c = r.config;
  std::ostringstream out;
  out << "kvbench " << workload_name(c) << ": ";
  out << c.clients << " clients over " << c.connections << " connections (" << c.io_threads << " io thread"
      << (c.io_threads > 1 ? "s" : "") << "), ";
  if (c.count) out << *c.count << " operations in " << fixed(r.seconds, 2) << " s";
  else out << fixed(r.seconds, 1) << " s after " << fixed(c.warmup_s, 1) << " s warm-up";
  out << "; key " << c.key_size << " B, value " << c.value_size << " B, key space " << c.key_space << "\n\n";

  const std::size_t w = 9;
  out << pad("ops", 10) << pad("ops/s", 11) << pad("mean", w);
  for (const char* h : kPercentileHeads) out << pad(h, w);
  out << pad("max", w) << "  (latency in ms)" << pad("errors", 9) << "\n";
  out << pad(std::to_string(r.ops), 10) << pad(fixed(r.ops_per_s(), 1), 11)
      << pad(latency(static_cast<std::uint64_t>(r.latency_ns.mean())), w);
  for (double p : kPercentiles) out << pad(latency(r.latency_ns.value_at_percentile(p)), w);
  out << pad(latency(r.latency_ns.max()), w) << std::string(16, ' ') << pad(std::to_string(r.errors), 9) << "\n\n";

  if (c.workload == Workload::kLoad) {
    out << "keys written: " << r.keys_written << " ("
        << fixed(r.seconds > 0 ? static_cast<double>(r.keys_written) / r.seconds : 0, 0) << " keys/s)\n";
  }
  if (c.workload == Workload::kTxn) out << "compares that failed: " << r.cas_failed << "\n";
  if (uses_run_transaction(c)) txn_table(out, r);
  if (!r.first_error.empty()) {
    out << "errors:";
    for (const auto& [kind, n] : r.errors_by_kind) out << " " << kind << "=" << n;
    out << "; first: " << r.first_error << "\n";
  }
  if (!r.servers.empty()) {
    out << "server CPU (" << r.servers.size() << " processes): " << fixed(r.server_cpu_s, 2) << " s = "
        << fixed(r.server_cpu_cores(), 2) << " cores -> " << fixed(r.ops_per_server_cpu_s(), 0)
        << " ops per server CPU-second\n";
    for (const ServerUsage& s : r.servers) {
      out << "  pid " << s.pid << ": " << fixed(s.cpu_s, 2) << " CPU s";
      if (s.memory) {
        out << ", peak RSS " << mib(s.memory->vm_hwm_kib) << " MiB, RSS " << mib(s.memory->vm_rss_kib)
            << " MiB (anon " << mib(s.memory->rss_anon_kib) << ")";
      } else {
        out << ", exited";
      }
      out << "\n";
    }
  }
  out << "kvbench CPU " << fixed(r.loadgen_cpu_cores, 2) << " cores; machine busy " << fixed(r.host_busy_cores, 2)
      << " cores (others " << fixed(r.other_cores(), 2) << ", before the run " << fixed(r.host_busy_before, 2)
      << "); load average " << r.load_average << "\n";
  return out.str();
}

std::string format_json(const RunReport& r) {
  const BenchConfig& c = r.config;
  std::ostringstream j;
  j << "{\"tool\":\"kvbench\",\"op\":" << json_quote(to_string(c.workload)) << ",\"workload\":"
    << json_quote(workload_name(c));
  if (c.workload == Workload::kGet || c.workload == Workload::kMixed) {
    j << ",\"consistency\":" << json_quote(c.serializable ? "s" : "l");
  }
  j << ",\"clients\":" << c.clients << ",\"conns\":" << c.connections << ",\"io_threads\":" << c.io_threads
    << ",\"ops\":" << r.ops << ",\"secs\":" << fixed(r.seconds, 3) << ",\"ops_per_s\":" << fixed(r.ops_per_s(), 1)
    << ",\"mean_ms\":" << fixed(r.latency_ns.mean() / 1e6, 4);
  for (std::size_t i = 0; i < std::size(kPercentiles); ++i) {
    j << ",\"" << kPercentileKeys[i] << "\":" << fixed(ms(r.latency_ns.value_at_percentile(kPercentiles[i])), 4);
  }
  j << ",\"max_ms\":" << fixed(ms(r.latency_ns.max()), 4) << ",\"errors\":" << r.errors;
  if (!r.errors_by_kind.empty()) {
    j << ",\"errors_by_kind\":{";
    for (std::size_t i = 0; i < r.errors_by_kind.size(); ++i) {
      j << (i ? "," : "") << json_quote(r.errors_by_kind[i].first) << ":" << r.errors_by_kind[i].second;
    }
    j << "}";
  }
  if (!r.first_error.empty()) j << ",\"first_error\":" << json_quote(r.first_error);
  if (c.workload == Workload::kTxn) j << ",\"cas_failed\":" << r.cas_failed;
  if (uses_run_transaction(c)) txn_json(j, r);
  if (c.workload == Workload::kLoad) j << ",\"keys_written\":" << r.keys_written << ",\"batch\":" << c.batch;
  if (c.workload == Workload::kMixed) j << ",\"read_ratio\":" << fixed(c.read_ratio, 3);
  j << ",\"key_size\":" << c.key_size << ",\"val_size\":" << c.value_size << ",\"key_space\":" << c.key_space
    << ",\"server_cpu_s\":" << fixed(r.server_cpu_s, 3) << ",\"server_cpu_cores\":" << fixed(r.server_cpu_cores(), 4)
    << ",\"ops_per_server_cpu_s\":" << fixed(r.ops_per_server_cpu_s(), 1)
    << ",\"loadgen_cpu_cores\":" << fixed(r.loadgen_cpu_cores, 4) << ",\"host_busy_cores\":" << fixed(r.host_busy_cores, 4)
    << ",\"host_busy_before\":" << fixed(r.host_busy_before, 4) << ",\"load_average\":" << json_quote(r.load_average)
    << ",\"servers\":[";
  for (std::size_t i = 0; i < r.servers.size(); ++i) {
    const ServerUsage& s = r.servers[i];
    j << (i ? "," : "") << "{\"pid\":" << s.pid << ",\"cpu_s\":" << fixed(s.cpu_s, 3);
    if (s.memory) {
      j << ",\"vm_hwm_kib\":" << s.memory->vm_hwm_kib << ",\"vm_rss_kib\":" << s.memory->vm_rss_kib
        << ",\"rss_anon_kib\":" << s.memory->rss_anon_kib;
    }
    j << "}";
  }
  j << "],\"attempts\":" << r.attempts << ",\"redirects\":" << r.redirects << ",\"connects\":" << r.connects;
  if (!c.label.empty()) j << ",\"label\":" << json_quote(c.label);
  if (c.round) j << ",\"round\":" << c.round;
  j << "}";
  return j.str();
}

}  // namespace kv::bench
