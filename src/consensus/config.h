// Per-group configuration of the Raft core. Every field is checked by validate() before the
// core starts; there are no process-global switches.
#pragma once

#include <cstdint>
#include <string>

#include "consensus/types.h"

namespace kv::raft {

struct Config {
  // This node's id. Required; never kNoNode.
  NodeId id = kNoNode;

  // A follower that hears nothing from a leader for a randomized timeout in
  // [election_timeout_ticks, 2 * election_timeout_ticks) starts an election.
  // Default: 10. Must be greater than heartbeat_interval_ticks.
  int election_timeout_ticks = 10;

  // A leader sends heartbeats every this many ticks. Default: 1.
  int heartbeat_interval_ticks = 1;

  // Thesis §9.6: a node first asks whether it could win before disturbing the cluster
  // with a higher term. Default: true.
  bool pre_vote = true;

  // Thesis §6.2: a leader that has not heard from a quorum within an election timeout
  // steps down, and followers ignore vote requests while they hear from a leader.
  // Default: true.
  bool check_quorum = true;

  // Upper bound on the entry data carried by one append message (at least one entry is
  // always sent). Default: 1 MiB.
  std::uint64_t max_message_bytes = 1 << 20;

  // How a leader tells its followers that the commit index moved. false (etcd's way): at
  // once, with an append (usually empty) to every follower, which each follower answers.
  // true: the new commit index rides on the next append, or at the latest on a heartbeat at
  // the next tick. Under a steady stream of writes that halves the messages per write;
  // followers then apply up to one tick later. Safety is the same either way: only when a
  // follower learns of a commit changes. Default: false.
  bool defer_commit_broadcast = false;

  // How many append messages may be in flight to one follower in the replicate state
  // (the pipelining window). Default: 256.
  std::uint32_t max_inflight_messages = 256;

  // The core asks for a snapshot (Ready::snapshot_request) once this many entries have been
  // applied since the last snapshot. 0 disables the request. Default: 10000.
  LogIndex snapshot_interval_entries = 10000;

  // The state machine's applied index at start: committed entries up to here are not
  // handed out again. Default: 0.
  LogIndex applied = 0;

  // Seeds the randomized election timeout. Give every node a different seed.
  std::uint64_t random_seed = 0;

  // Returns an empty string when valid, otherwise what is wrong.
  std::string validate() const;
};

}  // namespace kv::raft
