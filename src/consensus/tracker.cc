#include "consensus/tracker.h"

#include <algorithm>

#include "common/assert.h"

namespace kv::raft {

namespace {
bool contains(const std::vector<NodeId>& ids, NodeId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}
}  // namespace

ProgressTracker::ProgressTracker(std::uint32_t max_inflight) : max_inflight_(max_inflight) {}

void ProgressTracker::reset(const ConfState& conf, LogIndex next) {
  conf_ = conf;
  progress_.clear();
  auto add = [&](NodeId id, bool learner) {
    KV_ASSERT(id != kNoNode);
    progress_.try_emplace(id, next, max_inflight_, learner);
  };
  for (NodeId id : conf.voters) add(id, false);
  for (NodeId id : conf.voters_outgoing) add(id, false);
  for (NodeId id : conf.learners) {
    KV_ASSERT_MSG(!is_voter(id), "a node is either a voter or a learner");
    add(id, true);
  }
  votes_.clear();
}

void ProgressTracker::reset_progress(LogIndex next) { reset(conf_, next); }

bool ProgressTracker::is_voter(NodeId id) const {
  return contains(conf_.voters, id) || contains(conf_.voters_outgoing, id);
}

bool ProgressTracker::is_sole_voter(NodeId id) const {
  return conf_.voters.size() == 1 && conf_.voters[0] == id &&
         (conf_.voters_outgoing.empty() ||
          (conf_.voters_outgoing.size() == 1 && conf_.voters_outgoing[0] == id));
}

Progress& ProgressTracker::progress(NodeId id) {
  auto it = progress_.find(id);
  KV_ASSERT_MSG(it != progress_.end(), "progress of a node outside the configuration");
  return it->second;
}

LogIndex ProgressTracker::committed_of(const std::vector<NodeId>& voters) const {
  std::vector<LogIndex> acked;
  acked.reserve(voters.size());
  for (NodeId id : voters) acked.push_back(progress_.at(id).match());
  return majority_committed_index(acked);
}

LogIndex ProgressTracker::committed() const {
  return std::min(committed_of(conf_.voters), committed_of(conf_.voters_outgoing));
}

void ProgressTracker::record_vote(NodeId id, bool granted) {
  // The first answer of a voter counts; a duplicate or late change of mind does not.
  votes_.try_emplace(id, granted);
}

VoteResult ProgressTracker::tally_of(const std::vector<NodeId>& voters) const {
  std::size_t granted = 0;
  std::size_t rejected = 0;
  for (NodeId id : voters) {
    auto it = votes_.find(id);
    if (it == votes_.end()) continue;
    (it->second ? granted : rejected) += 1;
  }
  return majority_vote_result(voters.size(), granted, rejected);
}

VoteResult ProgressTracker::tally_votes() const {
  return joint_vote_result(tally_of(conf_.voters), tally_of(conf_.voters_outgoing));
}

bool ProgressTracker::is_quorum(const std::set<NodeId>& ids) const {
  auto half_ok = [&](const std::vector<NodeId>& voters) {
    std::size_t n = 0;
    for (NodeId id : voters) n += ids.contains(id) ? 1 : 0;
    return voters.empty() || n >= voters.size() / 2 + 1;
  };
  return half_ok(conf_.voters) && half_ok(conf_.voters_outgoing);
}

bool ProgressTracker::quorum_active(NodeId self) const {
  std::set<NodeId> active{self};
  for (const auto& [id, pr] : progress_) {
    if (pr.recent_active) active.insert(id);
  }
  return is_quorum(active);
}

}  // namespace kv::raft
