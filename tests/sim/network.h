// The simulated network: every message between nodes goes through here.
//
// Faults (all drawn from the run's seeded Rng):
//  - loss:        a message is dropped with probability drop_ppm;
//  - delay:       each copy arrives after a uniform delay in [delay_min, delay_max]; different
//                 delays reorder messages, also between the same pair of nodes;
//  - duplication: a second copy with its own delay, with probability duplicate_ppm;
//  - replay:      an old, already delivered message is delivered again later (a stale
//                 retransmission from a previous term), with probability replay_ppm per step;
//  - partitions:  a directed link matrix. A message is checked against it when sent; what
//                 is already in flight still arrives (a packet queued before the cut);
//  - clogging:    extra delay on chosen directed links (a slow, congested path).
// Delivery order is (arrival time, send sequence number): deterministic.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "consensus/types.h"
#include "sim/rng.h"
#include "sim/trace.h"

namespace kv::sim {

using raft::Message;
using raft::NodeId;

struct NetworkFaults {
  std::uint32_t drop_ppm = 0;
  std::uint32_t duplicate_ppm = 0;
  std::uint32_t replay_ppm = 0;  // per call of maybe_replay()
  SimTime delay_min = 1;
  SimTime delay_max = 1;
};

// Which directed links carry messages: up[from][to], node ids 1..n (index 0 unused).
class Connectivity {
 public:
  explicit Connectivity(int node_count);

  int node_count() const { return node_count_; }
  bool up(NodeId from, NodeId to) const { return up_[index(from, to)]; }
  void set(NodeId from, NodeId to, bool is_up) { up_[index(from, to)] = is_up; }
  void set_both(NodeId a, NodeId b, bool is_up);
  // Cuts every link between the two groups, in both directions.
  void split(const std::vector<NodeId>& group);
  bool fully_connected() const;
  // "1>2 1>3 ..." for every link that is down: a compact line for the trace.
  std::string describe_cuts() const;

 private:
  std::size_t index(NodeId from, NodeId to) const;

  int node_count_;
  std::vector<bool> up_;
};

enum class PartitionShape : std::uint8_t {
  kHeal,            // every link up
  kSymmetricSplit,  // a random minority cut off from the rest, both directions
  kOneWay,          // some node can send but not receive, or receive but not send
  kIsolateLeader,   // the current leader cut off from everyone
  kBridge,          // two halves that only one bridge node connects
  kRing,            // each node reaches only its ring neighbours: majorities overlap but differ
  kRandomLinks,     // each directed link independently down with probability 1/3
};
inline constexpr int kPartitionShapeCount = 7;
const char* to_string(PartitionShape shape);

// Builds a connectivity of the given shape. `leader` may be kNoNode (then kIsolateLeader
// isolates a random node).
Connectivity make_partition(PartitionShape shape, int node_count, NodeId leader, Rng& rng);

class Network {
 public:
  Network(int node_count, Rng rng, Trace& trace);

  void set_faults(const NetworkFaults& faults) { faults_ = faults; }
  const NetworkFaults& faults() const { return faults_; }
  void set_connectivity(const Connectivity& c) { links_ = c; }
  const Connectivity& connectivity() const { return links_; }
  // Extra delay on the directed link from -> to (0 removes the clog).
  void set_clog(NodeId from, NodeId to, SimTime extra_delay);
  void clear_clogs();

  // Hands a message to the network at time `now`. Returns false when it was dropped at once
  // (a cut link or random loss), which a stream transport would notice.
  bool send(SimTime now, Message message);
  // Maybe re-injects a random recently delivered message (see NetworkFaults::replay_ppm).
  void maybe_replay(SimTime now);
  // The next message due at or before `now`, if any, removed from the network.
  std::optional<Message> pop_due(SimTime now);

  std::size_t in_flight() const { return flight_.size(); }
  std::uint64_t sent() const { return sent_; }
  std::uint64_t dropped() const { return dropped_; }

 private:
  void enqueue(SimTime at, Message message);
  SimTime draw_delay(NodeId from, NodeId to);

  int node_count_;
  Rng rng_;
  Trace& trace_;
  NetworkFaults faults_;
  Connectivity links_;
  std::vector<SimTime> clog_;  // extra delay per directed link, same indexing as Connectivity
  std::map<std::pair<SimTime, std::uint64_t>, Message> flight_;
  std::vector<Message> recent_;  // ring of delivered messages, for replay
  std::size_t recent_next_ = 0;
  std::uint64_t seq_ = 0;
  std::uint64_t sent_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace kv::sim
