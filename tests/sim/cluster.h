// The cluster harness: the nodes, the network and the checker, wired together. Every
// method is one simulator event (counted as a step); after it, the checker observes the
// node it touched. The Simulation (scenario.h) decides which events happen when.
//
// The Ready contract, as carried out here, one stage per drive_ready() call:
//   pull     ready(); `messages` go to the network at once (the leader's parallel append),
//            or, per params.early_send_ppm, only in the send stage
//   persist  snapshot (also rebuilds the state machine), entries, hard state -> MemoryStorage
//   send     (held-back `messages` and) messages_after_persist go to the network
//   apply    committed entries -> state machine; read states queued and served once
//            applied; snapshot_request -> MemoryStorage::create_snapshot + compact
//   advance  advance(ready)
// Ticks, deliveries and client calls run between stages, and a crash may fall between any
// two of them (between persist and send included).
//
// Snapshot status: a snapshot message the network drops, or that arrives at a down node, is
// reported to its sender as failed (RawNode::report_snapshot) at the next step, as a stream
// transport would notice a broken transfer. A snapshot lost in other ways (the receiver
// restarts before answering) is left to the core's own timeout.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "sim/checker.h"
#include "sim/network.h"
#include "sim/node.h"
#include "sim/params.h"
#include "sim/trace.h"

namespace kv::sim {

class Cluster {
 public:
  // Boots params.node_count nodes, all voters of one group.
  Cluster(const SimParams& params, Trace& trace);

  int size() const { return static_cast<int>(nodes_.size()); }
  SimNode& node(NodeId id);
  const SimNode& node(NodeId id) const;
  Network& network() { return network_; }
  const Checker& checker() const { return checker_; }
  std::uint64_t steps() const { return steps_; }
  std::uint64_t reads_served() const { return reads_served_; }
  bool read_served(const std::string& context) const { return served_contexts_.contains(context); }
  void set_time(SimTime now) { now_ = now; }

  // --- Events ---
  // Delivers every message due by now (each delivery is a step).
  void deliver_due();
  void tick(NodeId id);
  // Pulls a Ready when none is in progress and the node has one; otherwise runs the next
  // stage of the Ready in progress. No-op on a down node.
  void drive_ready(NodeId id);
  void crash(NodeId id);
  void restart(NodeId id);
  raft::ProposeResult propose(NodeId id, std::vector<std::string> commands);
  bool read_index(NodeId id, const std::string& context);
  void campaign(NodeId id);
  void transfer_leadership(NodeId id, NodeId target);

  // Pairwise log matching over all persisted logs (costly: the driver calls it now and then).
  void check_logs();
  // The up leader with the highest term, or kNoNode.
  NodeId leader() const;
  // Whether node `id` has applied a command with this payload (searches from the newest).
  bool has_applied(NodeId id, const std::string& payload) const;

 private:
  void after_event(SimNode& n);
  void send(const raft::Message& m);
  void report_failed_snapshots();
  void stage_pull(SimNode& n);
  void stage_persist(SimNode& n);
  void stage_send(SimNode& n);
  void stage_apply(SimNode& n);
  void serve_snapshot_request(SimNode& n, LogIndex request);
  void serve_reads(SimNode& n);
  std::uint64_t node_seed(const SimNode& n) const;

  const SimParams& params_;
  Trace& trace_;
  Rng rng_;
  Network network_;
  Checker checker_;
  std::vector<std::unique_ptr<SimNode>> nodes_;  // node id i lives at [i - 1]
  SimTime now_ = 0;
  std::uint64_t steps_ = 0;
  std::uint64_t reads_served_ = 0;
  std::unordered_set<std::string> served_contexts_;
  std::vector<std::pair<NodeId, NodeId>> failed_snapshots_;  // (sender, receiver)
};

}  // namespace kv::sim
