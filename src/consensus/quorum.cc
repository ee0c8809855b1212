#include "consensus/quorum.h"

#include <algorithm>
#include <limits>

#include "common/assert.h"

namespace kv::raft {

LogIndex majority_committed_index(std::span<const LogIndex> acked) {
  if (acked.empty()) return std::numeric_limits<LogIndex>::max();
  // Five voters at most in practice; a small sorted copy beats anything clever.
  std::vector<LogIndex> sorted(acked.begin(), acked.end());
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  const std::size_t quorum = sorted.size() / 2 + 1;
  // The quorum-th largest value is held by at least `quorum` voters.
  return sorted[quorum - 1];
}

VoteResult majority_vote_result(std::size_t voters, std::size_t granted, std::size_t rejected) {
  KV_ASSERT(granted + rejected <= voters);
  if (voters == 0) return VoteResult::kWon;  // an empty half never blocks a joint decision
  const std::size_t quorum = voters / 2 + 1;
  if (granted >= quorum) return VoteResult::kWon;
  if (voters - rejected < quorum) return VoteResult::kLost;
  return VoteResult::kPending;
}

VoteResult joint_vote_result(VoteResult incoming, VoteResult outgoing) {
  if (incoming == outgoing) return incoming;
  if (incoming == VoteResult::kLost || outgoing == VoteResult::kLost) return VoteResult::kLost;
  return VoteResult::kPending;
}

}  // namespace kv::raft
