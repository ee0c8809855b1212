// Quorum arithmetic, separate from everything else so it can be tested on its own
// (etcd-io/raft quorum/). A configuration is a majority config, or a joint config of two
// majority configs during a membership change (thesis §4.3) where every decision needs a
// majority of each.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "consensus/types.h"

namespace kv::raft {

enum class VoteResult : std::uint8_t { kPending, kWon, kLost };

// The highest index acknowledged by a majority of `acked` (one entry per voter).
// An empty configuration places no constraint: it returns the largest LogIndex, so that a
// joint config with an empty outgoing half behaves as its incoming half alone.
LogIndex majority_committed_index(std::span<const LogIndex> acked);

// Tally of one majority config: `granted` + `rejected` <= `voters`.
VoteResult majority_vote_result(std::size_t voters, std::size_t granted, std::size_t rejected);

// Both halves must agree: won when both won, lost when either lost.
VoteResult joint_vote_result(VoteResult incoming, VoteResult outgoing);

}  // namespace kv::raft
