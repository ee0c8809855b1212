#include "kvbench_args.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <map>

namespace kv::bench {

const char* to_string(Workload w) {
  switch (w) {
    case Workload::kPut: return "put";
    case Workload::kGet: return "get";
    case Workload::kTxn: return "txn";
    case Workload::kMixed: return "mixed";
    case Workload::kLoad: return "load";
    case Workload::kTransfer: return "transfer";
  }
  return "?";
}

std::string usage_text() {
  return R"(kvbench: drive a running cluster through the client library and report throughput,
latency percentiles and the servers' CPU use.

Usage: kvbench WORKLOAD [flags]

Workloads:
  put     puts of random keys over --key-space, --value-size values
  get     gets of random keys of a key space written first (--consistency l|s)
  txn     compare-and-swap txns: if the key's version is the one this client last saw,
          put, else get. Each client owns a disjoint slice of fresh keys, so a compare
          fails only if something else wrote the key. --cross-shard: the same over a key
          on each of two shards, as one transaction (two-phase commit)
  mixed   --read-ratio gets, the rest puts, over a key space written first
  load    writes every key of --key-space once, --batch puts per txn (fills a cluster)
  transfer  bank transfers with run_transaction over ONE pool of --key-space balances
          spread over every shard: read two keys on different shards, move 1 from one to
          the other. Small pools contend: reports attempts, conflicts and the abort rate,
          then checks that the balances still sum to 0

Flags:
  --endpoints H:P,H:P     nodes (default 127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103)
  --clients C             closed-loop clients (default 1)
  --connections K         client instances, one connection per node each; clients are
                          spread over them (default 1, at most C)
  --io-threads N          threads running the connections (default 1)
  --duration SECONDS      measured window (default 10), after --warmup
  --warmup SECONDS        unmeasured start (default 1)
  --count N               stop after N operations instead; every one is measured
  --key-size B            fixed key size (default 16, at least 8)
  --value-size B          value size (default 256)
  --key-space N           distinct keys (default 100000)
  --consistency l|s       get/mixed reads: linearizable (default) or serializable
  --read-ratio R          mixed: fraction of reads, 0..1 (default 0.5)
  --cross-shard           txn: each txn spans two shards
  --max-attempts N        txn --cross-shard, transfer: runs of one transaction before it
                          gives up on conflicts (default 10, run_transaction's)
  --no-populate           get/mixed: do not write the key space first
  --batch N               load: puts per txn (default 100)
  --server-pids P,P,P     report these processes' CPU seconds (and peak memory)
  --timeout SECONDS       one operation's whole budget, retries included (default 10)
  --wait-quiet CORES      first wait until the machine uses fewer than CORES cores...
  --quiet-max SECONDS     ...for at most this long (default 60)
  --write-out table|json  result format on stdout (default table)
  --json-file FILE        also write the JSON result to FILE
  --label TEXT, --round N copied into the JSON
  --seed N                random seed (default: time-based)
  --no-progress           no progress line on stderr

Latencies are client-side, from issuing an operation to its answer, of operations that
start after the warm-up and end inside the window; p50..max come from a log-linear
histogram (within 0.8%). Errors are counted, not timed. A transaction's latency is its
whole run_transaction call, retries included. Exit codes: 0 ok, 1 no operation succeeded,
2 usage, 4 transfer's balance check failed.
)";
}

namespace {

template <class T>
bool parse_number(const std::string& text, T& out) {
  if (text.empty()) return false;
  if constexpr (std::is_floating_point_v<T>) {
    std::size_t used = 0;
    try {
      out = static_cast<T>(std::stod(text, &used));
    } catch (...) {
      return false;
    }
    return used == text.size() && std::isfinite(out);
  } else {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
  }
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

bool valid_endpoint(const std::string& e) {
  const std::size_t colon = e.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  unsigned port = 0;
  return parse_number(e.substr(colon + 1), port) && port > 0 && port < 65536;
}

// Checks relations between flags once all are known.
std::string validate(const BenchConfig& c) {
  if (c.endpoints.empty()) return "--endpoints: no endpoint given";
  for (const std::string& e : c.endpoints) {
    if (!valid_endpoint(e)) return "--endpoints: \"" + e + "\" is not host:port";
  }
  if (c.clients < 1 || c.clients > 100000) return "--clients must be 1..100000";
  if (c.connections < 1) return "--connections must be at least 1";
  if (c.io_threads < 1 || c.io_threads > 64) return "--io-threads must be 1..64";
  if (!c.count && !(c.duration_s > 0)) return "--duration must be positive";
  if (c.warmup_s < 0) return "--warmup must not be negative";
  if (c.count && *c.count == 0) return "--count must be positive";
  if (c.key_size < 8 || c.key_size > 4096) return "--key-size must be 8..4096";
  if (c.value_size > (1u << 20)) return "--value-size must be at most 1048576";
  if (c.key_space < 1) return "--key-space must be positive";
  if (c.read_ratio < 0 || c.read_ratio > 1) return "--read-ratio must be within 0..1";
  if (c.batch < 1 || c.batch > 1000) return "--batch must be 1..1000";
  if (!(c.operation_timeout_s > 0)) return "--timeout must be positive";
  if (c.cross_shard && c.workload != Workload::kTxn) return "--cross-shard applies to txn only";
  if (c.max_attempts < 1 || c.max_attempts > 10000) return "--max-attempts must be 1..10000";
  // Two distinct keys per transfer.
  if (c.workload == Workload::kTransfer && c.key_space < 2) return "transfer needs --key-space of at least 2";
  return "";
}

}  // namespace

ParseResult parse_args(const std::vector<std::string>& args) {
  ParseResult r;
  BenchConfig c;
  bool have_workload = false;
  std::string consistency = "l";
  std::string format = "table";
  std::string pids;
  std::optional<std::string> endpoints;
  std::optional<std::uint64_t> count;

  using Setter = std::function<bool(const std::string&)>;
  auto number = [](auto& field) { return Setter([&field](const std::string& v) { return parse_number(v, field); }); };
  auto text = [](auto& field) { return Setter([&field](const std::string& v) { field = v; return true; }); };
  auto optional_number = [](std::optional<std::uint64_t>& field) {
    return Setter([&field](const std::string& v) {
      std::uint64_t n = 0;
      if (!parse_number(v, n)) return false;
      field = n;
      return true;
    });
  };
  const std::map<std::string, Setter> valued = {
      {"endpoints", text(endpoints)},        {"clients", number(c.clients)},
      {"connections", number(c.connections)}, {"io-threads", number(c.io_threads)},
      {"duration", number(c.duration_s)},    {"warmup", number(c.warmup_s)},
      {"count", optional_number(count)},              {"key-size", number(c.key_size)},
      {"value-size", number(c.value_size)},  {"key-space", number(c.key_space)},
      {"consistency", text(consistency)},    {"read-ratio", number(c.read_ratio)},
      {"batch", number(c.batch)},            {"server-pids", text(pids)},
      {"timeout", number(c.operation_timeout_s)}, {"wait-quiet", number(c.wait_quiet_cores)},
      {"quiet-max", number(c.quiet_max_s)},  {"write-out", text(format)},
      {"json-file", text(c.json_file)},      {"label", text(c.label)},
      {"round", number(c.round)},            {"seed", number(c.seed)},
      {"max-attempts", number(c.max_attempts)},
  };
  const std::map<std::string, bool*> flags = {
      {"cross-shard", &c.cross_shard}, {"no-populate", &c.populate}, {"no-progress", &c.progress}};

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      r.help = true;
      return r;
    }
    if (a.rfind("--", 0) != 0) {
      if (have_workload) return {std::nullopt, false, "unexpected argument \"" + a + "\""};
      static const std::map<std::string, Workload> kNames = {
          {"put", Workload::kPut},     {"get", Workload::kGet},   {"txn", Workload::kTxn},
          {"mixed", Workload::kMixed}, {"load", Workload::kLoad}, {"transfer", Workload::kTransfer}};
      const auto it = kNames.find(a);
      if (it == kNames.end()) {
        return {std::nullopt, false, "unknown workload \"" + a + "\" (put, get, txn, mixed, load, transfer)"};
      }
      c.workload = it->second;
      have_workload = true;
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (const std::size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (const auto f = flags.find(name); f != flags.end()) {
      if (value) return {std::nullopt, false, "--" + name + " takes no value"};
      *f->second = name == "cross-shard";  // the --no-* flags switch a default off
      continue;
    }
    const auto s = valued.find(name);
    if (s == valued.end()) return {std::nullopt, false, "unknown flag --" + name};
    if (!value) {
      if (i + 1 >= args.size()) return {std::nullopt, false, "--" + name + " needs a value"};
      value = args[++i];
    }
    if (!s->second(*value)) return {std::nullopt, false, "--" + name + ": bad value \"" + *value + "\""};
  }
  if (!have_workload) return {std::nullopt, false, "no workload given (put, get, txn, mixed, load, transfer)"};
  if (endpoints) c.endpoints = split_commas(*endpoints);
  if (consistency == "l" || consistency == "linearizable") c.serializable = false;
  else if (consistency == "s" || consistency == "serializable") c.serializable = true;
  else return {std::nullopt, false, "--consistency must be l or s"};
  if (format == "table") c.format = OutputFormat::kTable;
  else if (format == "json") c.format = OutputFormat::kJson;
  else return {std::nullopt, false, "--write-out must be table or json"};
  for (const std::string& p : split_commas(pids)) {
    int pid = 0;
    if (!parse_number(p, pid) || pid <= 0) return {std::nullopt, false, "--server-pids: bad pid \"" + p + "\""};
    c.server_pids.push_back(pid);
  }
  if (count) {
    c.count = count;
    c.warmup_s = 0;
  }
  c.connections = std::min(c.connections, c.clients);
  if (std::string bad = validate(c); !bad.empty()) return {std::nullopt, false, bad};
  r.config = std::move(c);
  return r;
}

}  // namespace kv::bench
