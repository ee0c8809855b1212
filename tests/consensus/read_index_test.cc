// Linearizable reads through ReadIndex (thesis §6.4).
#include <catch2/catch.hpp>

#include "cluster.h"

namespace kv::raft {
namespace {

using test::TestCluster;

TEST_CASE("a leader serves a read once a quorum confirms its leadership", "[read-index]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.node(1).propose({"a"});
  c.stabilize();
  c.down = {2, 3};
  REQUIRE(c.node(1).read_index("r1"));
  c.stabilize();
  REQUIRE(c.member(1).reads.empty());  // no heartbeat acknowledged: not safe yet
  c.down.clear();
  c.tick_all(1);  // the next heartbeat carries the pending context
  REQUIRE(c.member(1).reads.size() == 1);
  REQUIRE(c.member(1).reads[0].context == "r1");
  REQUIRE(c.member(1).reads[0].index == 2);
}

TEST_CASE("a follower's read is forwarded and answered with the leader's commit index", "[read-index]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.node(1).propose({"a", "b"});
  c.stabilize();
  REQUIRE(c.node(3).read_index("f1"));
  c.stabilize();
  REQUIRE(c.member(3).reads.size() == 1);
  REQUIRE(c.member(3).reads[0].index == 3);
}

TEST_CASE("a new leader holds reads until its no-op commits", "[read-index]") {
  TestCluster c(3);
  c.node(1).campaign();
  // Deliver the election but no append responses: the no-op cannot commit.
  c.drop = [](const Message& m) { return m.type == MessageType::kAppendResponse; };
  c.stabilize();
  REQUIRE(c.leader() == 1);
  REQUIRE(c.node(1).read_index("early"));
  c.tick_all(2);
  REQUIRE(c.member(1).reads.empty());
  c.drop = nullptr;
  c.tick_all(2);
  REQUIRE(c.member(1).reads.size() == 1);
  REQUIRE(c.member(1).reads[0].index == 1);  // the no-op's index: everything before is known
}

TEST_CASE("with no leader known a read is refused at once", "[read-index]") {
  TestCluster c(3);
  REQUIRE_FALSE(c.node(2).read_index("x"));
}

TEST_CASE("a single-voter group serves reads without a round trip", "[read-index]") {
  TestCluster c(1);
  REQUIRE(c.elect(1) == 1);
  REQUIRE(c.node(1).read_index("solo"));
  c.stabilize();
  REQUIRE(c.member(1).reads.size() == 1);
}

}  // namespace
}  // namespace kv::raft
