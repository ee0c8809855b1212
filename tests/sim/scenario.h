// One simulator run: the schedule of one seed.
//
//  1. Safety phase (params.safety_time units): clients propose and read, the network drops,
//     delays, duplicates, replays, clogs and partitions, nodes crash and restart, nodes
//     force elections and leadership transfers. The checker watches every step.
//  2. Liveness phase: the network heals (no loss, no partitions, no clogs), every node is
//     restarted, nothing crashes any more. Within params.liveness_budget units a leader
//     must be elected, a fresh command must be applied on every node, and a linearizable
//     read must be served. Otherwise the seed fails.
// The result is a pure function of the seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/cluster.h"
#include "sim/params.h"
#include "sim/trace.h"

namespace kv::sim {

struct SimResult {
  std::uint64_t seed = 0;
  int node_count = 0;
  bool ok = true;
  std::string violation;       // why the seed failed
  bool liveness_failure = false;  // it failed only the liveness phase (safety held)
  std::uint64_t steps = 0;     // events executed
  SimTime end_time = 0;
  SimTime liveness_time = 0;   // how long the liveness phase took to make progress
  SimTime liveness_budget = 0; // how long it was allowed to take
  std::uint64_t leaders = 0;   // terms that had a leader
  std::uint64_t commit = 0;    // highest commit index seen
  std::uint64_t reads = 0;     // reads served
  std::uint64_t crashes = 0;
  std::uint64_t partitions = 0;
  std::uint64_t messages = 0;
};

class Simulation {
 public:
  Simulation(const SimParams& params, Trace& trace);
  SimResult run();

 private:
  // One simulated time unit: deliveries, ticks, storage, then faults and clients.
  void step(bool inject_faults);
  void drive_nodes();
  void maybe_crash_or_restart();
  // Schedules the crash of leaders elected since the last step (kill_new_leader_ppm).
  void maybe_kill_new_leaders();
  void crash(NodeId id);
  void maybe_partition();
  // Clients propose and read; some force elections or leadership transfers.
  void maybe_clients();
  void heal();
  // Liveness bookkeeping for one time unit; returns true once progress is proven.
  bool liveness_progress();
  std::string liveness_report() const;
  // Extra liveness time for replicating the gap between the logs at the heal.
  SimTime catch_up_allowance() const;
  NodeId random_up_node();
  // A random up node that believes it is the leader (of any term), or kNoNode.
  NodeId random_leader();
  // Whether clients hold back new commands from node `id` (its uncommitted tail is long).
  bool overloaded(NodeId id) const;

  SimParams params_;
  Trace& trace_;
  Rng rng_;
  Cluster cluster_;
  std::uint32_t storage_ppm_;  // params_.storage_ppm, then the healed disk's rate
  SimTime now_ = 0;
  std::vector<SimTime> next_tick_;   // per node (index id - 1)
  std::vector<SimTime> restart_at_;  // per node; 0 = not scheduled
  std::vector<SimTime> kill_at_;     // per node; 0 = not scheduled
  std::vector<raft::Term> led_term_; // per node: the last term it was seen leading
  std::uint64_t next_payload_ = 1;
  std::uint64_t next_read_ = 1;
  std::uint64_t crashes_ = 0;
  std::uint64_t partitions_ = 0;
  std::uint64_t steps_at_log_check_ = 0;
  // Liveness phase state.
  std::vector<std::string> markers_;  // commands proposed to prove progress
  SimTime marker_proposed_at_ = 0;
  bool marker_done_ = false;
  std::string read_context_;        // the read that must be served
  SimTime read_issued_at_ = 0;
};

// Runs one seed. `trace` receives every event when it is on.
SimResult run_seed(std::uint64_t seed, Trace& trace);

}  // namespace kv::sim
