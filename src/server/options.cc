#include "server/options.h"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>

#include "common/assert.h"

namespace kv::server {

namespace {

constexpr const char* kUsage = R"(kvd: one node of a kvstore cluster.

Usage: kvd --node-id N --initial-cluster SPEC --data-dir DIR [flags]

Required:
  --node-id N             this node's id (one of --initial-cluster's ids)
  --initial-cluster SPEC  every member as ID=PEER_HOST:PORT/CLIENT_HOST:PORT, comma separated,
                          e.g. 1=127.0.0.1:7001/127.0.0.1:7101,2=127.0.0.1:7002/127.0.0.1:7102
  --data-dir DIR          where this node keeps its data (created if missing)

Optional:
  --config FILE           read flags from FILE first: one "name = value" per line, names as
                          below without the dashes; '#' starts a comment
  --cluster-name NAME     nodes refuse peers and data of another cluster (default kv-local)
  --shards N              shards the key space is split into at creation (default 8); every
                          node of a cluster must be given the same number, always
  --txn-lock-ttl-ms N     a transaction lock older than this is presumed abandoned by its
                          coordinator and resolved through its primary (default 2000)
  --tick-ms N             length of a Raft tick (default 10)
  --election-ticks N      election timeout in ticks, randomized up to 2x (default 50)
  --heartbeat-ticks N     heartbeat interval in ticks (default 5)
  --snapshot-interval N   snapshot the state machine every N applied entries (default 100000)
  --log-keep N            log entries kept behind a snapshot for lagging followers (default 10000)
  --max-key-bytes N       largest key accepted (default 4096)
  --max-value-bytes N     largest value accepted (default 1048576)
  --max-pending N         requests waiting in the server at once (default 100000)
  --timeout-ms N          deadline of requests that name none (default 5000)
  --max-sessions N        exactly-once client sessions kept per shard (default 100000)
  --log-level LEVEL       debug, info, warn or error (default info)
  --unsafe-stale-reads true  TESTING ONLY: serve linearizable reads without ReadIndex (stale
                          reads become possible); proves the fault-injection checkers work
  --crash-txn-at STEP     TESTING ONLY: the process exits abruptly (as kill -9 would) when
                          it coordinates a cross-shard transaction, at STEP: some-prepared
                          (one participant prepared), all-prepared, or decided (the commit
                          record written, the intents not yet resolved)
  --help                  this text

kvd stops gracefully on SIGTERM or SIGINT.
)";

template <class T>
bool parse_number(const std::string& text, T& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

using Setter = std::function<std::string(ServerOptions&, const std::string&)>;

template <class T>
Setter number_setter(T ServerOptions::*field) {
  return [field](ServerOptions& o, const std::string& v) -> std::string {
    return parse_number(v, o.*field) ? "" : "not a number: " + v;
  };
}

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"node-id", number_setter(&ServerOptions::node_id)},
      {"cluster-name", [](ServerOptions& o, const std::string& v) { o.cluster_name = v; return std::string(); }},
      {"initial-cluster",
       [](ServerOptions& o, const std::string& v) { return parse_initial_cluster(v, o.initial_cluster); }},
      {"data-dir", [](ServerOptions& o, const std::string& v) { o.data_dir = v; return std::string(); }},
      {"shards", number_setter(&ServerOptions::shards)},
      {"txn-lock-ttl-ms", number_setter(&ServerOptions::txn_lock_ttl_ms)},
      {"tick-ms", number_setter(&ServerOptions::tick_ms)},
      {"election-ticks", number_setter(&ServerOptions::election_ticks)},
      {"heartbeat-ticks", number_setter(&ServerOptions::heartbeat_ticks)},
      {"snapshot-interval", number_setter(&ServerOptions::snapshot_interval_entries)},
      {"log-keep", number_setter(&ServerOptions::log_keep_entries)},
      {"max-key-bytes", number_setter(&ServerOptions::max_key_bytes)},
      {"max-value-bytes", number_setter(&ServerOptions::max_value_bytes)},
      {"max-pending", number_setter(&ServerOptions::max_pending_requests)},
      {"timeout-ms", number_setter(&ServerOptions::default_timeout_ms)},
      {"max-sessions", number_setter(&ServerOptions::max_sessions)},
      {"unsafe-stale-reads",
       [](ServerOptions& o, const std::string& v) {
         if (v != "true" && v != "false") return std::string("expected true or false");
         o.unsafe_stale_reads = v == "true";
         return std::string();
       }},
      {"crash-txn-at",
       [](ServerOptions& o, const std::string& v) {
         if (v != "some-prepared" && v != "all-prepared" && v != "decided") {
           return std::string("expected some-prepared, all-prepared or decided");
         }
         o.crash_txn_at = v;
         return std::string();
       }},
      {"log-level",
       [](ServerOptions& o, const std::string& v) {
         return parse_log_level(v, o.log_level) ? "" : "unknown log level: " + v;
       }},
  };
  return table;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

std::string apply_setting(ServerOptions& o, const std::string& name, const std::string& value) {
  const auto it = setters().find(name);
  if (it == setters().end()) return "unknown option: " + name;
  const std::string error = it->second(o, value);
  return error.empty() ? "" : "--" + name + ": " + error;
}

std::string read_config_file(const std::string& path, ServerOptions& o) {
  std::ifstream in(path);
  if (!in) return "cannot read config file " + path;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) return path + ":" + std::to_string(number) + ": expected name = value";
    const std::string error = apply_setting(o, trim(line.substr(0, eq)), trim(line.substr(eq + 1)));
    if (!error.empty()) return path + ":" + std::to_string(number) + ": " + error;
  }
  return {};
}

}  // namespace

bool split_host_port(const std::string& addr, std::string& host, std::uint16_t& port) {
  const auto colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = addr.substr(0, colon);
  return parse_number(addr.substr(colon + 1), port) && port != 0;
}

std::string parse_initial_cluster(const std::string& text, std::vector<MemberSpec>& out) {
  out.clear();
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = trim(text.substr(pos, comma - pos));
    pos = comma + 1;
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const auto slash = item.find('/');
    MemberSpec m;
    if (eq == std::string::npos || slash == std::string::npos || slash < eq || !parse_number(item.substr(0, eq), m.id)) {
      return "expected ID=PEER_HOST:PORT/CLIENT_HOST:PORT, got: " + item;
    }
    m.peer_addr = item.substr(eq + 1, slash - eq - 1);
    m.client_addr = item.substr(slash + 1);
    out.push_back(std::move(m));
  }
  return {};
}

const MemberSpec& ServerOptions::self() const {
  for (const MemberSpec& m : initial_cluster) {
    if (m.id == node_id) return m;
  }
  KV_PANIC("node_id is not in initial_cluster");
}

std::string ServerOptions::validate() const {
  if (node_id == 0) return "--node-id is required and must not be 0";
  if (initial_cluster.empty()) return "--initial-cluster is required";
  if (data_dir.empty()) return "--data-dir is required";
  std::set<std::uint64_t> ids;
  std::set<std::string> addrs;
  for (const MemberSpec& m : initial_cluster) {
    std::string host;
    std::uint16_t port = 0;
    if (m.id == 0) return "--initial-cluster: member id 0 is reserved";
    if (!ids.insert(m.id).second) return "--initial-cluster: member " + std::to_string(m.id) + " appears twice";
    for (const std::string* addr : {&m.peer_addr, &m.client_addr}) {
      if (!split_host_port(*addr, host, port)) return "--initial-cluster: bad address " + *addr;
      if (!addrs.insert(*addr).second) return "--initial-cluster: address " + *addr + " is used twice";
    }
  }
  if (!ids.contains(node_id)) return "--node-id " + std::to_string(node_id) + " is not in --initial-cluster";
  if (shards == 0 || shards > 1024) return "--shards must be between 1 and 1024";
  if (txn_lock_ttl_ms == 0) return "--txn-lock-ttl-ms must be positive";
  if (tick_ms == 0) return "--tick-ms must be positive";
  if (heartbeat_ticks == 0 || election_ticks <= heartbeat_ticks) {
    return "--election-ticks must be greater than --heartbeat-ticks, which must be positive";
  }
  if (max_key_bytes == 0 || max_value_bytes == 0) return "--max-key-bytes and --max-value-bytes must be positive";
  if (max_value_bytes > (64u << 20)) return "--max-value-bytes is at most 64 MiB";
  if (default_timeout_ms == 0) return "--timeout-ms must be positive";
  if (max_sessions == 0) return "--max-sessions must be positive";
  return {};
}

std::optional<ServerOptions> parse_server_args(int argc, char** argv, int& exit_code) {
  ServerOptions o;
  std::vector<std::pair<std::string, std::string>> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      exit_code = 0;
      return std::nullopt;
    }
    if (arg.rfind("--", 0) != 0) {
      std::cerr << "kvd: unexpected argument " << arg << " (see kvd --help)\n";
      exit_code = 2;
      return std::nullopt;
    }
    arg = arg.substr(2);
    std::string value;
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      std::cerr << "kvd: --" << arg << " needs a value (see kvd --help)\n";
      exit_code = 2;
      return std::nullopt;
    }
    flags.emplace_back(arg, value);
  }
  std::string error;
  for (const auto& [name, value] : flags) {
    if (name == "config" && error.empty()) error = read_config_file(value, o);
  }
  for (const auto& [name, value] : flags) {
    if (name != "config" && error.empty()) error = apply_setting(o, name, value);
  }
  if (error.empty()) error = o.validate();
  if (!error.empty()) {
    std::cerr << "kvd: " << error << " (see kvd --help)\n";
    exit_code = 2;
    return std::nullopt;
  }
  exit_code = 0;
  return o;
}

std::uint64_t cluster_id_of(const std::string& cluster_name) {
  // FNV-1a: stable across builds and machines, unlike std::hash.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : cluster_name) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h == 0 ? 1 : h;
}

}  // namespace kv::server
