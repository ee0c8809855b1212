// Quorum arithmetic against naive oracles over random inputs (etcd-io/raft quorum/quick_test.go).
#include <catch2/catch.hpp>

#include <random>

#include "consensus/quorum.h"

namespace kv::raft {
namespace {

// Naive: the largest index that at least a majority has reached.
LogIndex naive_committed(const std::vector<LogIndex>& acked) {
  LogIndex best = 0;
  for (LogIndex candidate : acked) {
    std::size_t n = 0;
    for (LogIndex a : acked) n += a >= candidate ? 1 : 0;
    if (n > acked.size() / 2 && candidate > best) best = candidate;
  }
  return best;
}

TEST_CASE("majority committed index matches the naive definition", "[quorum]") {
  std::mt19937_64 rng(12345);
  for (int iteration = 0; iteration < 5000; ++iteration) {
    std::vector<LogIndex> acked(1 + rng() % 7);
    for (LogIndex& a : acked) a = rng() % 20;
    INFO("voters " << acked.size());
    REQUIRE(majority_committed_index(acked) == naive_committed(acked));
  }
}

TEST_CASE("an empty majority config never constrains a joint config", "[quorum]") {
  REQUIRE(majority_committed_index({}) == std::numeric_limits<LogIndex>::max());
  REQUIRE(majority_vote_result(0, 0, 0) == VoteResult::kWon);
}

TEST_CASE("vote results", "[quorum]") {
  struct Case {
    std::size_t voters, granted, rejected;
    VoteResult want;
  };
  const std::vector<Case> cases = {
      {1, 1, 0, VoteResult::kWon},     {1, 0, 1, VoteResult::kLost},    {1, 0, 0, VoteResult::kPending},
      {3, 1, 0, VoteResult::kPending}, {3, 2, 0, VoteResult::kWon},     {3, 1, 1, VoteResult::kPending},
      {3, 1, 2, VoteResult::kLost},    {3, 0, 2, VoteResult::kLost},    {4, 2, 2, VoteResult::kLost},
      {4, 2, 1, VoteResult::kPending}, {4, 3, 0, VoteResult::kWon},     {5, 3, 2, VoteResult::kWon},
      {5, 2, 2, VoteResult::kPending}, {5, 2, 3, VoteResult::kLost},
  };
  for (const Case& c : cases) {
    INFO(c.voters << " voters, " << c.granted << " granted, " << c.rejected << " rejected");
    REQUIRE(majority_vote_result(c.voters, c.granted, c.rejected) == c.want);
  }
}

TEST_CASE("joint decisions need both halves", "[quorum]") {
  using V = VoteResult;
  REQUIRE(joint_vote_result(V::kWon, V::kWon) == V::kWon);
  REQUIRE(joint_vote_result(V::kWon, V::kPending) == V::kPending);
  REQUIRE(joint_vote_result(V::kWon, V::kLost) == V::kLost);
  REQUIRE(joint_vote_result(V::kLost, V::kPending) == V::kLost);
  REQUIRE(joint_vote_result(V::kPending, V::kPending) == V::kPending);
}

}  // namespace
}  // namespace kv::raft
