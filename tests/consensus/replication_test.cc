// Log replication (thesis §3.5), the commitment rule (§3.6.2), snapshots (§5), and the
// Ready persistence contract (§10.2.1).
#include <catch2/catch.hpp>

#include "cluster.h"

namespace kv::raft {
namespace {

using test::TestCluster;

std::vector<Entry> entries_with_terms(LogIndex first, const std::vector<Term>& terms) {
  std::vector<Entry> out;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    out.push_back(Entry{terms[i], first + i, EntryType::kNormal, "e" + std::to_string(first + i)});
  }
  return out;
}

std::vector<Term> log_terms(const MemoryStorage& s) {
  std::vector<Term> out;
  for (LogIndex i = s.first_index(); i <= s.last_index(); ++i) out.push_back(s.term(i));
  return out;
}

TEST_CASE("log matching: appends are accepted only after a matching entry", "[replication]") {
  // The follower's log holds terms [1, 1, 2]; current term 3.
  struct Case {
    LogIndex prev_index;
    Term prev_term;
    std::vector<Term> entries;
    bool accepted;
    std::vector<Term> want_log;
  };
  const std::vector<Case> cases = {
      {0, 0, {1}, true, {1, 1, 2}},              // already present: nothing changes
      {3, 2, {3}, true, {1, 1, 2, 3}},           // extends the log
      {2, 1, {3, 3}, true, {1, 1, 3, 3}},        // conflict at 3: the suffix is replaced
      {3, 3, {3}, false, {1, 1, 2}},             // (3, 3) does not match (3, 2)
      {5, 3, {3}, false, {1, 1, 2}},             // beyond our log
      {1, 1, {1, 2, 3, 3}, true, {1, 1, 2, 3, 3}},
  };
  for (const Case& c : cases) {
    MemoryStorage storage(ConfState{{1, 2}, {}, {}});
    storage.append(entries_with_terms(1, {1, 1, 2}));
    storage.set_hard_state(HardState{3, kNoNode, 1});
    Config cfg;
    cfg.id = 1;
    RawNode node(cfg, storage);
    node.step(Message{.type = MessageType::kAppend, .from = 2, .to = 1, .term = 3, .log_term = c.prev_term,
                      .index = c.prev_index, .entries = entries_with_terms(c.prev_index + 1, c.entries),
                      .commit = 1});
    Ready rd = node.ready();
    storage.append(rd.entries);
    node.advance(rd);
    INFO("append after (" << c.prev_index << ", " << c.prev_term << ")");
    REQUIRE(rd.messages_after_persist.size() == 1);
    REQUIRE(rd.messages_after_persist[0].reject == !c.accepted);
    REQUIRE(log_terms(storage) == c.want_log);
  }
}

TEST_CASE("a rejection hints where to retry, skipping a whole term", "[replication]") {
  MemoryStorage storage(ConfState{{1, 2}, {}, {}});
  storage.append(entries_with_terms(1, {1, 2, 2, 2, 2}));
  storage.set_hard_state(HardState{4, kNoNode, 1});
  Config cfg;
  cfg.id = 1;
  RawNode node(cfg, storage);
  // The leader's entry 5 has term 3: our term-2 run cannot match anything of term 3.
  node.step(Message{.type = MessageType::kAppend, .from = 2, .to = 1, .term = 4, .log_term = 3, .index = 5});
  Ready rd = node.ready();
  node.advance(rd);
  const Message& resp = rd.messages_after_persist.at(0);
  REQUIRE(resp.reject);
  REQUIRE(resp.reject_hint == 5);  // our last entry of term <= 3
  REQUIRE(resp.log_term == 2);
}

// Thesis §3.6.2 (Figure 3.7): counting replicas of a previous-term entry is not enough.
TEST_CASE("a previous-term entry replicated to a majority stays uncommitted until the new leader's entries commit",
          "[replication][commit]") {
  TestCluster c(3, [](Config& cfg) { cfg.check_quorum = false; });
  REQUIRE(c.elect(1) == 1);
  // Entry "x" reaches node 2's disk but no acknowledgement reaches node 1.
  c.drop = [](const Message& m) { return m.type == MessageType::kAppendResponse; };
  c.node(1).propose({"x"});
  c.stabilize();
  REQUIRE(c.storage(2).last_index() == 2);
  REQUIRE(c.member(1).applied.empty());
  // Node 2 becomes leader of term 2; acknowledgements still lost, so only its own log counts.
  REQUIRE(c.elect(2) == 2);
  REQUIRE(c.storage(1).last_index() == 3);
  REQUIRE(c.member(2).applied.empty());  // "x" is on all three logs, yet not committed
  c.drop = nullptr;
  c.node(2).propose({"y"});
  c.tick_all(1);  // the followers are probing: a heartbeat round unpauses them
  for (NodeId id : {1, 2, 3}) REQUIRE(c.member(id).applied == std::vector<std::string>{"x", "y"});
}

TEST_CASE("the leader counts its own log only once it is durable", "[replication][contract]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.down = {3};
  c.node(1).propose({"v"});
  Ready leader_rd = c.node(1).ready();
  // The append may leave before the leader's own write...
  REQUIRE(leader_rd.must_sync);
  REQUIRE_FALSE(leader_rd.messages.empty());
  REQUIRE(leader_rd.messages[0].type == MessageType::kAppend);
  // ...and node 2 acknowledges it. One follower plus a non-durable leader is no quorum.
  c.node(2).step(leader_rd.messages[0]);
  Ready follower_rd = c.node(2).ready();
  REQUIRE(follower_rd.messages.empty());
  REQUIRE(follower_rd.messages_after_persist.size() == 1);
  c.storage(2).append(follower_rd.entries);
  c.node(2).advance(follower_rd);
  c.node(1).step(follower_rd.messages_after_persist[0]);
  REQUIRE(c.node(1).status().hard_state.commit == 1);
  // Once the leader's own write is done, the entry commits.
  c.storage(1).append(leader_rd.entries);
  c.node(1).advance(leader_rd);
  REQUIRE(c.node(1).status().hard_state.commit == 2);
}

TEST_CASE("a follower acknowledges only after persisting, and its vote waits too", "[replication][contract]") {
  TestCluster c(3);
  c.node(1).campaign();
  Ready rd = c.node(1).ready();
  REQUIRE(rd.messages.empty());  // pre-vote requests are not leader traffic
  REQUIRE(rd.messages_after_persist.size() == 2);
  c.node(1).advance(rd);
}

TEST_CASE("the in-flight window bounds what an unresponsive follower can cost", "[replication][inflight]") {
  TestCluster c(3, [](Config& cfg) { cfg.max_inflight_messages = 4; });
  REQUIRE(c.elect(1) == 1);
  c.down = {3};
  c.sent.clear();
  for (int i = 0; i < 20; ++i) {
    c.node(1).propose({"p" + std::to_string(i)});
    c.stabilize();
  }
  std::size_t appends_to_3 = 0;
  for (const Message& m : c.sent) {
    if (m.to == 3 && m.type == MessageType::kAppend && !m.entries.empty()) ++appends_to_3;
  }
  REQUIRE(appends_to_3 == 4);
  REQUIRE(c.member(1).applied.size() == 20);  // the others keep committing
}

TEST_CASE("a follower behind the compacted log catches up through a snapshot", "[replication][snapshot]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.down = {3};
  for (int i = 0; i < 10; ++i) c.node(1).propose({"k" + std::to_string(i)});
  c.stabilize();
  // The leader snapshots its state machine at the applied index and drops the log behind it.
  const LogIndex applied = c.node(1).status().applied;
  c.storage(1).create_snapshot(applied, ConfState{{1, 2, 3}, {}, {}}, "image@" + std::to_string(applied));
  c.storage(1).compact(applied);
  c.down.clear();
  c.sent.clear();
  c.tick_all(3);  // heartbeat responses reveal how far behind node 3 is
  bool snapshot_sent = false;
  for (const Message& m : c.sent) snapshot_sent |= (m.type == MessageType::kSnapshot && m.to == 3);
  REQUIRE(snapshot_sent);
  REQUIRE(c.storage(3).snapshot()->data == "image@" + std::to_string(applied));
  REQUIRE(c.storage(3).first_index() == applied + 1);
  c.node(1).propose({"after"});
  c.stabilize();
  REQUIRE(c.member(3).applied == std::vector<std::string>{"after"});
  REQUIRE(c.node(3).status().applied == applied + 1);
}

TEST_CASE("the core asks for a snapshot every snapshot_interval_entries", "[replication][snapshot]") {
  TestCluster c(1, [](Config& cfg) { cfg.snapshot_interval_entries = 5; });
  REQUIRE(c.elect(1) == 1);
  std::vector<LogIndex> requests;
  for (int i = 0; i < 12; ++i) {
    c.node(1).propose({"x"});
    Ready rd = c.node(1).ready();
    c.storage(1).append(rd.entries);
    if (rd.hard_state) c.storage(1).set_hard_state(*rd.hard_state);
    if (rd.snapshot_request) requests.push_back(*rd.snapshot_request);
    c.node(1).advance(rd);
    while (c.node(1).has_ready()) {
      Ready more = c.node(1).ready();
      if (more.hard_state) c.storage(1).set_hard_state(*more.hard_state);
      if (more.snapshot_request) requests.push_back(*more.snapshot_request);
      c.node(1).advance(more);
    }
  }
  REQUIRE(requests == std::vector<LogIndex>{5, 10});
}

TEST_CASE("malformed appends from a peer are dropped, not trusted", "[replication][robustness]") {
  MemoryStorage storage(ConfState{{1, 2}, {}, {}});
  Config cfg;
  cfg.id = 1;
  RawNode node(cfg, storage);
  const std::vector<Message> bad = {
      // entries not contiguous after index
      Message{.type = MessageType::kAppend, .from = 2, .to = 1, .term = 1, .index = 0,
              .entries = entries_with_terms(2, {1})},
      // an entry of a term later than the message's
      Message{.type = MessageType::kAppend, .from = 2, .to = 1, .term = 1, .index = 0,
              .entries = entries_with_terms(1, {5})},
      // a snapshot message without a snapshot
      Message{.type = MessageType::kSnapshot, .from = 2, .to = 1, .term = 1},
      // from a node outside the configuration
      Message{.type = MessageType::kHeartbeat, .from = 9, .to = 1, .term = 7},
      // addressed to someone else
      Message{.type = MessageType::kHeartbeat, .from = 2, .to = 3, .term = 7},
  };
  for (const Message& m : bad) {
    node.step(m);
    REQUIRE_FALSE(node.has_ready());
    REQUIRE(node.term() == 0);
  }
}

TEST_CASE("a leader's appends can leave while its previous Ready is still being persisted", "[replication][contract]") {
  test::TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.node(1).propose({"a"});
  Ready in_flight = c.node(1).ready();  // its fsync is "running"
  c.node(1).propose({"b"});
  std::vector<Message> early = c.node(1).take_messages();
  REQUIRE(early.size() == 2);
  for (const Message& m : early) {
    REQUIRE(m.type == MessageType::kAppend);
    REQUIRE(m.entries.back().data == "b");
  }
  c.storage(1).append(in_flight.entries);
  c.node(1).advance(in_flight);
  Ready next = c.node(1).ready();
  REQUIRE(next.messages.empty());  // already taken: nothing is sent twice
  REQUIRE(next.entries.back().data == "b");
  c.node(1).advance(next);
}

TEST_CASE("a deferred commit index rides on the next append or goes out at the next tick", "[replication][commit]") {
  auto appends_from_leader = [](const TestCluster& c, std::size_t from) {
    std::size_t n = 0;
    for (std::size_t i = from; i < c.sent.size(); ++i) n += c.sent[i].type == MessageType::kAppend ? 1 : 0;
    return n;
  };
  SECTION("by default every follower hears of the commit at once, with an append of its own") {
    TestCluster c(3);
    REQUIRE(c.elect(1) == 1);
    const std::size_t before = c.sent.size();
    c.node(1).propose({"a"});
    c.stabilize();
    REQUIRE(appends_from_leader(c, before) == 4);  // the entry, then the commit, to each follower
    REQUIRE(c.member(2).applied == std::vector<std::string>{"a"});
  }
  SECTION("deferred: one append per follower per write, and followers apply a step behind") {
    TestCluster c(3, [](Config& cfg) {
      cfg.defer_commit_broadcast = true;
      cfg.heartbeat_interval_ticks = 5;  // so that the tick below is not a heartbeat round anyway
    });
    REQUIRE(c.elect(1) == 1);
    c.tick_all(5);  // the no-op's commit reaches the followers
    const std::size_t before = c.sent.size();
    c.node(1).propose({"a"});
    c.stabilize();
    REQUIRE(appends_from_leader(c, before) == 2);
    REQUIRE(c.member(1).applied == std::vector<std::string>{"a"});
    REQUIRE(c.member(2).applied.empty());
    c.node(1).propose({"b"});  // its append carries the commit of "a"
    c.stabilize();
    REQUIRE(c.member(2).applied == std::vector<std::string>{"a"});
    REQUIRE(c.member(3).applied == std::vector<std::string>{"a"});
    c.tick_all(1);  // not a heartbeat round, but the leader owes the followers a commit index
    REQUIRE(c.member(2).applied == std::vector<std::string>{"a", "b"});
    REQUIRE(c.member(3).applied == std::vector<std::string>{"a", "b"});
    const std::size_t quiet = c.sent.size();
    c.tick_all(1);  // nothing is owed any more: no message at all
    REQUIRE(c.sent.size() == quiet);
  }
}

}  // namespace
}  // namespace kv::raft
