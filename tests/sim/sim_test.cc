// Unit tests for the simulator's parts, and proof that the checker has teeth: each safety
// property is shown failing on a hand-made history that breaks it.
#include <catch2/catch.hpp>

#include <sstream>

#include "sim/checker.h"
#include "sim/network.h"
#include "sim/rng.h"
#include "sim/scenario.h"
#include "sim/state_machine.h"

using namespace kv::sim;
using kv::raft::Entry;
using kv::raft::HardState;
using kv::raft::MemoryStorage;
using kv::raft::Message;
using kv::raft::MessageType;
using kv::raft::Role;
using kv::raft::Status;

namespace {

Status status_of(NodeId id, Term term, Role role, NodeId leader, LogIndex commit = 0) {
  Status s;
  s.id = id;
  s.hard_state = HardState{term, role == Role::kLeader ? id : kv::raft::kNoNode, commit};
  s.soft_state = {leader, role};
  s.last_index = commit;
  s.applied = commit;
  return s;
}

// A checker whose nodes 1..n have all booted from empty storage.
Checker booted_checker(int n) {
  Checker c(n);
  for (int i = 1; i <= n; ++i) c.on_restart(static_cast<NodeId>(i), HardState{});
  return c;
}

Entry entry(LogIndex index, Term term, std::string data) {
  return Entry{term, index, kv::raft::EntryType::kNormal, std::move(data)};
}

}  // namespace

TEST_CASE("rng: a pure function of the seed, uniform enough to cover every bucket") {
  Rng a(42), b(42), c(43);
  int hits[10] = {};
  bool differs = false;
  for (int i = 0; i < 10'000; ++i) {
    const auto x = a.next();
    REQUIRE(x == b.next());
    differs = differs || x != c.next();
    ++hits[a.below(10)];
    (void)b.below(10);
  }
  CHECK(differs);
  for (int h : hits) CHECK(h > 800);
}

TEST_CASE("network: delivers in arrival order, drops what it must, never early") {
  Trace trace;
  Network net(3, Rng(7), trace);
  net.set_faults({.drop_ppm = 0, .duplicate_ppm = 0, .replay_ppm = 0, .delay_min = 5, .delay_max = 5});
  Message m;
  m.from = 1;
  m.to = 2;
  for (LogIndex i = 1; i <= 3; ++i) {
    m.index = i;
    net.send(10, m);
  }
  CHECK_FALSE(net.pop_due(14).has_value());
  for (LogIndex i = 1; i <= 3; ++i) {
    const auto got = net.pop_due(15);
    REQUIRE(got.has_value());
    CHECK(got->index == i);  // equal arrival times keep send order
  }
  Connectivity cut(3);
  cut.set(1, 2, false);
  net.set_connectivity(cut);
  net.send(20, m);
  CHECK(net.in_flight() == 0);
  CHECK(net.dropped() == 1);
}

TEST_CASE("network: partition shapes have the promised structure") {
  Rng rng(3);
  SECTION("split cuts a minority off in both directions") {
    const Connectivity c = make_partition(PartitionShape::kSymmetricSplit, 5, 0, rng);
    int cut = 0;
    for (NodeId a = 1; a <= 5; ++a) {
      for (NodeId b = 1; b <= 5; ++b) {
        CHECK(c.up(a, b) == c.up(b, a));
        cut += c.up(a, b) ? 0 : 1;
      }
    }
    CHECK((cut == 2 * 4 || cut == 2 * 6));  // 1|4 or 2|3
  }
  SECTION("isolate-leader cuts exactly the leader") {
    const Connectivity c = make_partition(PartitionShape::kIsolateLeader, 5, 4, rng);
    for (NodeId b = 1; b <= 5; ++b) {
      if (b != 4) CHECK_FALSE(c.up(4, b));
    }
    CHECK(c.up(1, 2));
  }
  SECTION("ring: with 5 nodes every node reaches exactly two others") {
    const Connectivity c = make_partition(PartitionShape::kRing, 5, 0, rng);
    for (NodeId a = 1; a <= 5; ++a) {
      int out = 0;
      for (NodeId b = 1; b <= 5; ++b) out += (a != b && c.up(a, b)) ? 1 : 0;
      CHECK(out == 2);
    }
  }
  SECTION("bridge: exactly one node reaches everybody") {
    const Connectivity c = make_partition(PartitionShape::kBridge, 5, 0, rng);
    int bridges = 0;
    for (NodeId a = 1; a <= 5; ++a) {
      bool all = true;
      for (NodeId b = 1; b <= 5; ++b) all = all && c.up(a, b);
      bridges += all ? 1 : 0;
    }
    CHECK(bridges == 1);
  }
}

TEST_CASE("state machine: images restore, truncation forgets the undurable suffix") {
  StateMachine sm;
  sm.apply(entry(1, 1, "a"));
  sm.apply(entry(2, 1, ""));
  sm.apply(entry(3, 2, "b"));
  StateMachine copy;
  REQUIRE(copy.restore(sm.image_at(3), 3));
  CHECK(copy.commands() == sm.commands());
  REQUIRE(copy.restore(sm.image_at(2), 2));
  CHECK(copy.commands().size() == 1);
  CHECK_FALSE(copy.restore("garbage", 2));
  CHECK_FALSE(copy.restore(sm.image_at(3), 4));  // image of another index
  sm.truncate_to(1);
  CHECK(sm.applied() == 1);
  CHECK(sm.commands().size() == 1);
}

TEST_CASE("checker: election safety - two leaders in one term") {
  Checker c = booted_checker(3);
  c.observe(1, status_of(1, 2, Role::kLeader, 1), 0);
  CHECK_FALSE(c.failed());
  c.observe(2, status_of(2, 2, Role::kLeader, 2), 0);
  CHECK(c.failed());
  CHECK(c.violation().find("election safety") != std::string::npos);
}

TEST_CASE("checker: change invariants - term and commit never go backwards") {
  Checker c = booted_checker(3);
  c.observe(1, status_of(1, 3, Role::kFollower, 0, 0), 0);
  c.observe(1, status_of(1, 2, Role::kFollower, 0, 0), 0);
  CHECK(c.violation().find("term went backwards") != std::string::npos);
}

TEST_CASE("checker: a follower may only follow a real leader of its term") {
  Checker c = booted_checker(3);
  c.observe(2, status_of(2, 4, Role::kFollower, 1), 0);
  CHECK(c.violation().find("never became leader") != std::string::npos);
}

TEST_CASE("checker: a node grants one vote per term on the wire") {
  Checker c = booted_checker(3);
  Message vote;
  vote.type = MessageType::kVoteResponse;
  vote.from = 3;
  vote.term = 5;
  vote.to = 1;
  c.on_send(vote);
  c.on_send(vote);  // a resend is fine
  CHECK_FALSE(c.failed());
  vote.to = 2;
  c.on_send(vote);
  CHECK(c.violation().find("granted its vote") != std::string::npos);
}

TEST_CASE("checker: state machine safety - different entries applied at one index") {
  Checker c = booted_checker(2);
  MemoryStorage s1, s2;
  s1.append({entry(1, 1, "x")});
  s1.set_hard_state({1, 1, 1});
  s2.append({entry(1, 2, "y")});
  s2.set_hard_state({2, 2, 1});
  c.before_apply(1, entry(1, 1, "x"), s1, 0);
  CHECK_FALSE(c.failed());
  c.before_apply(2, entry(1, 2, "y"), s2, 0);
  CHECK(c.violation().find("state machine safety") != std::string::npos);
}

TEST_CASE("checker: entries are applied once and in order, only when durable") {
  Checker c = booted_checker(1);
  MemoryStorage s;
  s.append({entry(1, 1, "x"), entry(2, 1, "y")});
  s.set_hard_state({1, 1, 1});
  SECTION("a gap") {
    c.before_apply(1, entry(2, 1, "y"), s, 0);
    CHECK(c.violation().find("out of order") != std::string::npos);
  }
  SECTION("beyond the persisted commit") {
    c.before_apply(1, entry(1, 1, "x"), s, 0);
    c.before_apply(1, entry(2, 1, "y"), s, 1);
    CHECK(c.violation().find("beyond its persisted commit") != std::string::npos);
  }
}

TEST_CASE("checker: log matching - one index and term with two contents") {
  Checker c = booted_checker(2);
  MemoryStorage s1, s2;
  kv::raft::Ready r1, r2;
  r1.entries = {entry(1, 1, "x")};
  r2.entries = {entry(1, 1, "y")};
  s1.append(r1.entries);
  s2.append(r2.entries);
  s1.set_hard_state({1, 1, 0});
  s2.set_hard_state({1, 1, 0});
  c.after_persist(1, r1, s1, 1);
  CHECK_FALSE(c.failed());
  c.after_persist(2, r2, s2, 1);
  CHECK(c.violation().find("log matching") != std::string::npos);
}

TEST_CASE("checker: the commit rule - a leader commits only entries of its own term") {
  Checker c = booted_checker(3);
  MemoryStorage s;
  s.append({entry(1, 1, "x"), entry(2, 2, "y")});
  s.set_hard_state({3, 1, 0});
  c.observe(1, status_of(1, 3, Role::kLeader, 1, 0), 0);
  c.observe(1, status_of(1, 3, Role::kLeader, 1, 2), 0);  // commits 2:2 while leading term 3
  kv::raft::Ready r;
  s.set_hard_state({3, 1, 2});
  c.after_persist(1, r, s, 1);
  CHECK(c.violation().find("commit rule") != std::string::npos);
}

TEST_CASE("checker: log matching over whole persisted logs") {
  Checker c = booted_checker(2);
  MemoryStorage s1, s2;
  s1.append({entry(1, 1, "x"), entry(2, 2, "z")});
  s2.append({entry(1, 1, "y"), entry(2, 2, "z")});
  c.check_logs({&s1, &s2});
  CHECK(c.violation().find("log matching") != std::string::npos);
}

TEST_CASE("checker: a read must see every commit made before it started") {
  Checker c = booted_checker(3);
  c.observe(1, status_of(1, 1, Role::kLeader, 1, 5), 0);
  c.on_read_request(2, "r1", c.max_commit_seen());
  c.on_read_state(2, {4, "r1"});
  CHECK(c.violation().find("linearizability") != std::string::npos);
}

TEST_CASE("checker: must_sync and messages_after_persist follow the Ready contract") {
  Checker c = booted_checker(2);
  MemoryStorage s;
  kv::raft::Ready r;
  SECTION("entries without sync") {
    r.entries = {entry(1, 1, "x")};
    c.on_ready(1, r, s);
    CHECK(c.violation().find("must_sync") != std::string::npos);
  }
  SECTION("an append acknowledgement sent before the persist step") {
    Message ack;
    ack.type = MessageType::kAppendResponse;
    ack.from = 1;
    ack.to = 2;
    r.messages = {ack};
    c.on_ready(1, r, s);
    CHECK(c.violation().find("messages_after_persist") != std::string::npos);
  }
}

TEST_CASE("simulation: seeds pass and a seed's trace is byte-identical on replay") {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    std::ostringstream first, second;
    Trace t1(&first), t2(&second);
    const SimResult a = run_seed(seed, t1);
    const SimResult b = run_seed(seed, t2);
    INFO("seed " << seed << ": " << a.violation);
    CHECK(a.ok);
    CHECK(a.steps == b.steps);
    CHECK(first.str() == second.str());
  }
}
