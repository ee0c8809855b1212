// kvd's configuration: command-line flags, optionally read from a config file first
// (`--config FILE`, lines of `name = value` with the flags' names; flags given on the
// command line win). validate() rejects a bad configuration before anything starts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/log.h"

namespace kv::server {

struct MemberSpec {
  std::uint64_t id = 0;
  std::string peer_addr;    // host:port peers dial
  std::string client_addr;  // host:port clients dial

  bool operator==(const MemberSpec&) const = default;
};

struct ServerOptions {
  // This node's id: one of initial_cluster's. Required.
  std::uint64_t node_id = 0;
  // Nodes refuse peers and data directories of another cluster. Default: "kv-local".
  std::string cluster_name = "kv-local";
  // Every member as ID=PEER_HOST:PORT/CLIENT_HOST:PORT, comma separated. Required.
  std::vector<MemberSpec> initial_cluster;
  // Where this node keeps its RocksDB. Required.
  std::string data_dir;
  // Number of shards (Raft groups) the key space is split into at cluster creation
  // (shard_map.h). Every node must be given the same number, at every start. Default: 8.
  std::uint32_t shards = 8;
  // A prepared transaction's locks older than this are presumed abandoned by their
  // coordinator: the shard's leader asks the primary how the transaction ended and resolves
  // them. Longer than any healthy two-phase commit. Default: 2000 ms.
  std::uint32_t txn_lock_ttl_ms = 2000;
  // Length of one Raft tick. Default: 10 ms.
  std::uint32_t tick_ms = 10;
  // Election timeout in ticks (randomized up to twice this). Default: 50 (500 ms).
  std::uint32_t election_ticks = 50;
  // Heartbeat interval in ticks. Default: 5 (50 ms).
  std::uint32_t heartbeat_ticks = 5;
  // The core asks for a snapshot after this many applied entries. Default: 100000.
  std::uint64_t snapshot_interval_entries = 100000;
  // Entries kept behind a snapshot for slightly lagging followers. Default: 10000.
  std::uint64_t log_keep_entries = 10000;
  // Largest key and value accepted. Defaults: 4 KiB, 1 MiB.
  std::uint32_t max_key_bytes = 4096;
  std::uint32_t max_value_bytes = 1u << 20;
  // Requests waiting in the server at once (proposals and reads); beyond it new requests
  // get kTooManyRequests. Default: 100000.
  std::uint32_t max_pending_requests = 100000;
  // Deadline of a request that names none. Default: 5000 ms.
  std::uint32_t default_timeout_ms = 5000;
  // Client sessions kept per shard for exactly-once writes; the least recently active
  // beyond it are forgotten. Default: 100000.
  std::uint32_t max_sessions = 100000;
  LogLevel log_level = LogLevel::kInfo;
  // TESTING ONLY, unsafe: linearizable reads are served from the local state machine
  // without a ReadIndex round, so a deposed leader or a lagging follower returns stale
  // data. It exists so that the fault-injection harness can prove its checkers catch a
  // weakened store (jepsen/). Default: false.
  bool unsafe_stale_reads = false;
  // TESTING ONLY: "some-prepared", "all-prepared" or "decided" makes the process exit at
  // once (std::_Exit, like kill -9) at that step of the first cross-shard transaction it
  // coordinates, so tests can prove that recovery finishes it. Default: empty (never).
  std::string crash_txn_at;

  // The member entry for node_id (REQUIRES: validate() is empty).
  const MemberSpec& self() const;
  // Empty when usable, else what is wrong.
  std::string validate() const;
};

// Parses argv. Returns the options, or nullopt after printing help (exit 0) or an error
// (exit 2) to stdout/stderr; `exit_code` says which.
std::optional<ServerOptions> parse_server_args(int argc, char** argv, int& exit_code);

// Parses "1=h:p/h:p,2=...". Returns an error message or empty.
std::string parse_initial_cluster(const std::string& text, std::vector<MemberSpec>& out);

// Splits "host:port"; false when malformed.
bool split_host_port(const std::string& addr, std::string& host, std::uint16_t& port);

// A stable 64-bit id of the cluster name (what the wire protocol carries). Never 0.
std::uint64_t cluster_id_of(const std::string& cluster_name);

}  // namespace kv::server
