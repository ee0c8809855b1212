// Real kvd processes on 127.0.0.1 for multi-process tests. Every process a test starts is
// tracked by PID and stopped by PID (SIGKILL in the destructor at the latest); data
// directories are made under /tmp and removed afterwards.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace kv::test {

class ProcessCluster {
 public:
  struct Options {
    int nodes = 3;
    // Extra kvd flags for every node, e.g. {"--snapshot-interval", "500"}.
    std::vector<std::string> extra_args{};
  };

  explicit ProcessCluster(Options options);
  ~ProcessCluster();  // kills what still runs, removes the data directories
  ProcessCluster(const ProcessCluster&) = delete;
  ProcessCluster& operator=(const ProcessCluster&) = delete;

  void start_all();
  // Starts node `id` (1-based) on its data directory. REQUIRES: not running.
  void start(int id);
  // kill -9: no chance to flush anything.
  void kill(int id);
  // SIGTERM, then waits (bounded) for a clean exit; returns the exit status (-1 on timeout).
  int terminate(int id);
  bool running(int id) const;
  pid_t pid(int id) const;

  int size() const { return static_cast<int>(nodes_.size()); }
  std::string client_endpoint(int id) const;
  std::uint16_t client_port(int id) const;
  std::uint16_t peer_port(int id) const;
  std::vector<std::string> client_endpoints() const;
  std::string data_dir(int id) const;
  std::string log_path(int id) const;
  // The tail of a node's log, for failure messages.
  std::string log_tail(int id, std::size_t bytes = 4000) const;

 private:
  struct Node {
    int id = 0;
    std::uint16_t peer_port = 0;
    std::uint16_t client_port = 0;
    pid_t pid = -1;
  };
  void reap(Node& node, int signal_to_send, std::chrono::milliseconds wait);

  Options options_;
  std::string root_;
  std::string kvd_path_;
  std::string initial_cluster_;
  std::vector<Node> nodes_;
};

// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
template <class Condition>
bool eventually(std::chrono::milliseconds timeout, Condition condition);

}  // namespace kv::test

#include "process_cluster_inl.h"
