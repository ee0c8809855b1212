// The pieces every jepsen_client workload shares: the history log, the cluster of per-node
// clients, a worker (Jepsen's "process"), and the one place where a client error becomes
// `fail` or `info`.
//
// History events follow jepsen/checker/README.md exactly (JSON Lines; invoke/ok/fail/info;
// t_ns from CLOCK_MONOTONIC, which is also Python's time.monotonic_ns(), so the nemesis
// timeline written by run.py shares the clock).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "checker/json.h"
#include "client/blocking_client.h"

namespace kv::jepsen {

using checker::Json;

// CLOCK_MONOTONIC in nanoseconds: the history's single clock.
std::int64_t monotonic_ns();

// Appends events to a JSONL file. The timestamp is taken under the lock, so the file is in
// t_ns order and each process's events are in the order it logged them.
// Thread-safety: log() may be called from any thread.
class HistoryLog {
 public:
  // Opens `path` for appending; aborts with a message when it cannot.
  explicit HistoryLog(const std::string& path);
  ~HistoryLog();
  HistoryLog(const HistoryLog&) = delete;
  HistoryLog& operator=(const HistoryLog&) = delete;

  // Sets "t_ns" on `event` (an object) and writes it as one line. Returns the timestamp.
  std::int64_t log(Json event);
  // A meta event (workload parameters for the checker); carries no process.
  void meta(const std::string& f, Json value);

 private:
  std::mutex mu_;
  std::FILE* file_ = nullptr;
  std::int64_t last_flush_ns_ = 0;
};

// One node of the cluster as the harness names it ("n3") and reaches it ("10.77.0.3:7100").
struct NodeAddr {
  std::string name;
  std::string endpoint;
};

// Timeouts of every client; the defaults suit a 5-node cluster on 2 loaded cores.
struct ClientTimeouts {
  int request_ms = 1000;    // one attempt
  int operation_ms = 3000;  // the whole op, retries included; then fail or info
  int connect_ms = 500;
};

// One BlockingClient per node, whose only endpoint is that node: reads go to the node itself
// (as a Jepsen process is bound to its node), and writes follow NotLeader hints from there.
// Thread-safety: client() may be used from any number of threads.
class Cluster {
 public:
  Cluster(std::vector<NodeAddr> nodes, ClientTimeouts timeouts);
  std::size_t size() const { return nodes_.size(); }
  const NodeAddr& node(std::size_t i) const { return nodes_.at(i); }
  client::BlockingClient& client(std::size_t i) { return *clients_.at(i); }
  const ClientTimeouts& timeouts() const { return timeouts_; }

 private:
  std::vector<NodeAddr> nodes_;
  ClientTimeouts timeouts_;
  std::vector<std::unique_ptr<client::BlockingClient>> clients_;
};

// How an op ended, in Jepsen's terms.
enum class Outcome { ok, fail, info };
const char* to_string(Outcome o);

// The crux of the history's honesty. A write error the client library documents as "surely
// not applied" (invalid argument, unavailable, timeout waiting for a session, conflict,
// closed) is `fail`; anything that may have been applied after sending (indeterminate, an
// internal error, a retried write whose result was lost) is `info`.
Outcome classify_write_error(client::ErrorKind kind);
// Reads change nothing, so fail and info are equally sound; a timeout after sending is
// still recorded as `info` (what happened is unknown), everything else as `fail`.
Outcome classify_read_error(client::ErrorKind kind);

// The end of one op: its outcome, the value to log with it, and an error text (for people).
struct Completion {
  Outcome outcome = Outcome::info;
  Json value;
  std::string error;
  Json extra;  // an object of extra fields to log on the completion, or null
};

// Shared run state: stop flag, op budget, counters.
class RunControl {
 public:
  RunControl(std::int64_t max_ops, std::int64_t deadline_ns) : max_ops_(max_ops), deadline_ns_(deadline_ns) {}
  // False once stop() was called, the op budget is spent or the deadline passed. Each true
  // answer reserves one op of the budget.
  bool take_op();
  void stop();
  bool stopped() const { return stopped_.load(); }
  // Sleeps up to `ns`, returning early when stopped.
  void sleep_ns(std::int64_t ns);
  std::int64_t deadline_ns() const { return deadline_ns_; }

 private:
  std::atomic<std::int64_t> ops_{0};
  std::int64_t max_ops_;
  std::int64_t deadline_ns_;
  std::atomic<bool> stopped_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

// A client thread. Its process id changes after every `info` (the op stays open for ever in
// the history, as Jepsen's crashed processes do); its node never changes.
struct Worker {
  std::size_t index = 0;
  std::int64_t process = 0;
  std::int64_t process_stride = 1;  // the number of workers: ids never collide
  std::size_t node = 0;
  std::mt19937_64 rng;
  HistoryLog* log = nullptr;
  Cluster* cluster = nullptr;

  client::BlockingClient& client() { return cluster->client(node); }
  const std::string& node_name() const { return cluster->node(node).name; }
  std::uint64_t uniform(std::uint64_t n);  // [0, n)
  double unit();                           // [0, 1)

  // Logs the invocation, runs `run`, logs its completion (with the same f and key, and
  // `extra` fields on both events), and takes a new process id after an `info`.
  Completion perform(const std::string& f, const Json& key, const Json& value, const std::function<Completion()>& run,
                     const Json& extra = Json());
};

// Exception-free integer parsing of a stored value: nullopt when it is not a decimal int64.
std::optional<std::int64_t> parse_int(const std::string& s);
// A stored value as history JSON: the integer it encodes, or the raw string (which then
// shows up in the checker's verdict as a value nobody wrote).
Json value_json(const std::string& s);

}  // namespace kv::jepsen
