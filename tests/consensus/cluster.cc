#include "cluster.h"

#include <catch2/catch.hpp>

namespace kv::raft::test {

TestCluster::TestCluster(int n, const std::function<void(Config&)>& tweak) {
  ConfState conf;
  for (int i = 1; i <= n; ++i) conf.voters.push_back(static_cast<NodeId>(i));
  for (NodeId id : conf.voters) {
    Config c;
    c.id = id;
    c.random_seed = id * 7919;
    c.snapshot_interval_entries = 0;
    if (tweak) tweak(c);
    TestNode t;
    t.storage = std::make_unique<MemoryStorage>(conf);
    t.node = std::make_unique<RawNode>(c, *t.storage);
    nodes_.emplace(id, std::move(t));
  }
}

bool TestCluster::handle_ready(NodeId id) {
  TestNode& t = nodes_.at(id);
  if (!t.node->has_ready()) return false;
  Ready rd = t.node->ready();
  if (rd.snapshot) t.storage->apply_snapshot(*rd.snapshot);
  t.storage->append(rd.entries);
  if (rd.hard_state) t.storage->set_hard_state(*rd.hard_state);
  for (auto* list : {&rd.messages, &rd.messages_after_persist}) {
    for (Message& m : *list) {
      sent.push_back(m);
      in_flight_.push_back(std::move(m));
    }
  }
  for (const Entry& e : rd.committed_entries) {
    if (!e.data.empty()) t.applied.push_back(e.data);
  }
  for (ReadState& r : rd.read_states) t.reads.push_back(std::move(r));
  t.node->advance(rd);
  return true;
}

void TestCluster::stabilize() {
  for (int round = 0; round < 10000; ++round) {
    bool moved = false;
    for (auto& [id, t] : nodes_) {
      if (!down.contains(id)) moved = handle_ready(id) || moved;
    }
    std::vector<Message> batch = std::move(in_flight_);
    in_flight_.clear();
    for (const Message& m : batch) {
      moved = true;
      if (down.contains(m.to) || (drop && drop(m))) continue;
      nodes_.at(m.to).node->step(m);
    }
    if (!moved) return;
  }
  FAIL("cluster did not settle");
}

NodeId TestCluster::elect(NodeId id) {
  node(id).campaign();
  stabilize();
  return leader();
}

void TestCluster::tick_all(int times) {
  for (int i = 0; i < times; ++i) {
    for (auto& [id, t] : nodes_) {
      if (!down.contains(id)) t.node->tick();
    }
    stabilize();
  }
}

NodeId TestCluster::leader() const {
  for (const auto& [id, t] : nodes_) {
    if (!down.contains(id) && t.node->role() == Role::kLeader) return id;
  }
  return kNoNode;
}

}  // namespace kv::raft::test
