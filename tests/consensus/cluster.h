// A tiny synchronous cluster for the core's unit tests: every node's Ready is handled at
// once (persist into MemoryStorage, queue messages, apply), and queued messages are
// delivered in order until nothing moves. The deterministic simulator (tests/sim) is where
// faults and interleavings are explored; here each test sets up one situation by hand.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "consensus/memory_storage.h"
#include "consensus/raw_node.h"

namespace kv::raft::test {

struct TestNode {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<RawNode> node;
  std::vector<std::string> applied;  // data of applied non-empty entries
  std::vector<ReadState> reads;
};

class TestCluster {
 public:
  // Nodes 1..n, all voters. `tweak` adjusts every node's Config.
  explicit TestCluster(int n, const std::function<void(Config&)>& tweak = {});

  RawNode& node(NodeId id) { return *nodes_.at(id).node; }
  TestNode& member(NodeId id) { return nodes_.at(id); }
  MemoryStorage& storage(NodeId id) { return *nodes_.at(id).storage; }

  // Messages for which `drop` returns true are lost.
  std::function<bool(const Message&)> drop;
  // Nodes in `down` neither receive messages nor have their Ready handled.
  std::set<NodeId> down;

  // Handles every Ready and delivers every message until the cluster is quiet.
  void stabilize();
  // Ticks `id` until it campaigns, then stabilizes; returns the leader afterwards.
  NodeId elect(NodeId id);
  void tick_all(int times);
  NodeId leader() const;

  // Every message handed out, in order (for tests that inspect traffic).
  std::vector<Message> sent;

 private:
  bool handle_ready(NodeId id);
  std::map<NodeId, TestNode> nodes_;
  std::vector<Message> in_flight_;
};

}  // namespace kv::raft::test
