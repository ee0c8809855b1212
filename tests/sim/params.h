// Everything one seed decides about a run before it starts: cluster size, Raft settings,
// clock skew, network and disk fault rates, client load and phase lengths. Rates are in
// parts per million per simulated time unit. A node ticks every `tick_period` units
// (about 10), so an election timeout is on the order of a hundred time units.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "consensus/config.h"
#include "sim/network.h"

namespace kv::sim {

using raft::LogIndex;

struct SimParams {
  std::uint64_t seed = 0;
  int node_count = 3;

  // Shared by every node (id, applied and random_seed are set per node and incarnation).
  raft::Config raft;

  // Clock skew: node i + 1 ticks every tick_period[i] time units.
  std::vector<SimTime> tick_period;

  NetworkFaults faults;
  std::uint32_t partition_ppm = 0;  // the partition changes shape (or heals)
  std::uint32_t clog_ppm = 0;       // a link is clogged, or clogs are cleared

  std::uint32_t crash_ppm = 0;      // some up node crashes
  // A newly elected leader is crashed soon after its election, with this probability. Quick
  // successions of short-lived leaders leave the divergent log suffixes of the Raft paper's
  // Figure 8, where committing an old-term entry by counting replicas loses it.
  std::uint32_t kill_new_leader_ppm = 0;
  SimTime down_min = 0;             // how long a crashed node stays down
  SimTime down_max = 0;
  std::uint32_t storage_ppm = 0;    // a Ready in progress moves on by one stage
  // Ready::messages go out when the Ready is pulled with this probability, otherwise only
  // after the persist step (the contract allows both), so that a crash can fall between a
  // leader persisting new entries and sending them.
  std::uint32_t early_send_ppm = 0;
  LogIndex compact_lag_max = 0;     // entries kept behind a new snapshot (random up to this)

  std::uint32_t propose_ppm = 0;
  std::uint32_t read_ppm = 0;
  std::uint32_t campaign_ppm = 0;   // a random node forces an election
  std::uint32_t transfer_ppm = 0;   // the leader hands leadership to a random node

  SimTime safety_time = 0;          // faults are injected until then
  SimTime liveness_budget = 0;      // after healing, progress must happen within this
  // The healed environment of the liveness phase: no loss, no partitions, no crashes, and
  // message and disk latency well below the election timeout (broadcast time << election
  // timeout, thesis §3.4), which the safety phase is free to violate.
  NetworkFaults liveness_faults;
  std::uint32_t liveness_storage_ppm = 0;
};

// Draws a run's parameters from its seed (a pure function of the seed).
SimParams choose_params(std::uint64_t seed);

// One line for the trace and failure reports.
std::string describe(const SimParams& params);

}  // namespace kv::sim
