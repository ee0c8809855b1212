// The membership and what the leader knows of every member: progress, votes, activity.
// Everything quorum-shaped goes through here, so that joint consensus only has to change
// this file and quorum.h.
#pragma once

#include <map>
#include <optional>
#include <set>

#include "consensus/progress.h"
#include "consensus/quorum.h"
#include "consensus/types.h"

namespace kv::raft {

class ProgressTracker {
 public:
  explicit ProgressTracker(std::uint32_t max_inflight);

  // Installs a configuration; every member's progress restarts at `next`.
  void reset(const ConfState& conf, LogIndex next);
  // Restarts every member's progress at `next`, keeping the configuration.
  void reset_progress(LogIndex next);

  const ConfState& conf() const { return conf_; }
  bool is_voter(NodeId id) const;
  bool is_member(NodeId id) const { return progress_.contains(id); }
  // True when `id` is the only voter (a single-node group decides alone).
  bool is_sole_voter(NodeId id) const;

  Progress& progress(NodeId id);
  std::map<NodeId, Progress>& all() { return progress_; }
  const std::map<NodeId, Progress>& all() const { return progress_; }

  // The largest index a quorum of voters has acknowledged (joint: of both halves).
  LogIndex committed() const;

  void reset_votes() { votes_.clear(); }
  void record_vote(NodeId id, bool granted);
  VoteResult tally_votes() const;

  // Whether `ids` contain a quorum of voters (joint: of both halves).
  bool is_quorum(const std::set<NodeId>& ids) const;

  // Whether a quorum of voters was recently active (`self` always counts).
  bool quorum_active(NodeId self) const;

 private:
  LogIndex committed_of(const std::vector<NodeId>& voters) const;
  VoteResult tally_of(const std::vector<NodeId>& voters) const;

  std::uint32_t max_inflight_;
  ConfState conf_;
  std::map<NodeId, Progress> progress_;  // ordered: deterministic iteration for the simulator
  std::map<NodeId, bool> votes_;
};

}  // namespace kv::raft
