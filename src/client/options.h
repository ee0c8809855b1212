// kv::client::Options: how a Client finds the cluster, how long it waits, how it retries.
// validate() rejects a bad configuration before a Client is built (the constructors assert
// it), so tools can report a bad --endpoints flag as a usage error.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kv::client {

struct Options {
  // Client addresses of some or all nodes, "host:port" ("[::1]:7101" for IPv6). The client
  // needs one reachable node to start; it learns the leader from NotLeader hints.
  // Required: at least one.
  std::vector<std::string> endpoints;

  // How long one attempt waits for its response; also sent to the server as the request's
  // timeout, so the server gives up when the client does. Capped by what is left of the
  // operation's deadline. Default: 5 s.
  std::chrono::milliseconds request_timeout{5000};

  // An operation's whole budget: waiting for a write session, connecting, every attempt and
  // every backoff. When it runs out the operation fails (kUnavailable, kTimeout or, for a
  // write that may have been applied, kIndeterminate). Default: 10 s.
  std::chrono::milliseconds operation_timeout{10000};

  // Connecting to one endpoint gives up after this long (capped by the deadline). Default: 2 s.
  std::chrono::milliseconds connect_timeout{2000};

  // Backoff between attempts: the n-th consecutive retry waits about
  // min(backoff_max, backoff_min * 2^n). Following a fresh leader hint does not wait.
  // Defaults: 10 ms, 500 ms.
  std::chrono::milliseconds backoff_min{10};
  std::chrono::milliseconds backoff_max{500};
  // Each wait is drawn uniformly from [(1 - backoff_jitter) * d, d], so that many clients
  // retrying after one leader change do not all arrive at once. 0 = no jitter; at most 1.
  // Default: 0.5.
  double backoff_jitter = 0.5;

  // Write sessions (Raft thesis §6.3): each carries at most one outstanding write, so this
  // is the number of writes in flight at once; further writes wait for a free session
  // (within their deadline). Sessions are created on demand. Default: 256.
  std::size_t max_sessions = 256;
  // Reads (get, range) go first to endpoints[0] instead of the shard's leader: any replica
  // serves them (linearizable ones through ReadIndex), so a client can stay on its own node,
  // as Jepsen's node-bound clients do, or spread read load. Writes still go to leaders.
  // Default: false.
  bool reads_at_endpoints = false;

  // Empty when usable, else what is wrong (one sentence, names the field).
  std::string validate() const;
};

struct HostPort {
  std::string host;
  std::uint16_t port = 0;

  bool operator==(const HostPort&) const = default;
};

// Parses "host:port" or "[v6-address]:port". nullopt when malformed (no port, port 0 or
// > 65535, empty host).
std::optional<HostPort> parse_host_port(const std::string& endpoint);

}  // namespace kv::client
