// Elections: vote granting (thesis §3.4, §3.6.1), pre-vote (§9.6), check-quorum and the
// leader lease on votes (§6.2, §4.2.3), leader transfer (§3.10).
#include <catch2/catch.hpp>

#include "cluster.h"

namespace kv::raft {
namespace {

using test::TestCluster;

// A lone node (of a 3-voter group) whose log holds entries with `terms` (index 1, 2, ...).
struct Voter {
  MemoryStorage storage{ConfState{{1, 2, 3}, {}, {}}};
  std::unique_ptr<RawNode> node;

  Voter(const std::vector<Term>& terms, HardState hs, bool check_quorum = true) {
    std::vector<Entry> entries;
    for (std::size_t i = 0; i < terms.size(); ++i) entries.push_back(Entry{terms[i], i + 1, EntryType::kNormal, {}});
    storage.append(entries);
    storage.set_hard_state(hs);
    Config c;
    c.id = 1;
    c.check_quorum = check_quorum;
    node = std::make_unique<RawNode>(c, storage);
  }
  // The response to one vote request, or nullopt when the node ignored it.
  std::optional<Message> answer(Message request) {
    request.to = 1;
    node->step(request);
    if (!node->has_ready()) return std::nullopt;
    Ready rd = node->ready();
    node->advance(rd);
    REQUIRE(rd.messages.empty());  // a follower's answers wait for the persist step
    if (rd.messages_after_persist.empty()) return std::nullopt;
    REQUIRE(rd.messages_after_persist.size() == 1);
    return rd.messages_after_persist[0];
  }
};

TEST_CASE("a vote is granted only to a candidate whose log is at least as up to date", "[election]") {
  // Our log: terms [1, 1, 2] (last index 3, last term 2); current term 2.
  struct Case {
    Term candidate_last_term;
    LogIndex candidate_last_index;
    bool granted;
  };
  const std::vector<Case> cases = {
      {2, 3, true},  {2, 4, true},  {3, 1, true},   // higher last term, or same term and as long
      {2, 2, false}, {1, 9, false}, {0, 0, false},  // shorter, or lower last term however long
  };
  for (const Case& c : cases) {
    Voter v({1, 1, 2}, HardState{2, kNoNode, 0});
    const auto resp = v.answer(Message{.type = MessageType::kVote, .from = 2, .term = 3,
                                       .log_term = c.candidate_last_term, .index = c.candidate_last_index});
    INFO("candidate last (term " << c.candidate_last_term << ", index " << c.candidate_last_index << ")");
    REQUIRE(resp.has_value());
    REQUIRE(resp->type == MessageType::kVoteResponse);
    REQUIRE(resp->reject == !c.granted);
    REQUIRE(v.node->term() == 3);  // a vote request of a higher term always raises ours
  }
}

TEST_CASE("one vote per term: a second candidate is refused, the same one again is not", "[election]") {
  Voter v({1}, HardState{1, kNoNode, 0});
  const Message from2{.type = MessageType::kVote, .from = 2, .term = 2, .log_term = 1, .index = 1};
  REQUIRE_FALSE(v.answer(from2)->reject);
  Message from3 = from2;
  from3.from = 3;
  REQUIRE(v.answer(from3)->reject);
  REQUIRE_FALSE(v.answer(from2)->reject);  // a retransmitted request gets the same answer
  REQUIRE(v.node->status().hard_state.vote == 2);
}

TEST_CASE("a pre-vote is answered without changing term or vote", "[election][prevote]") {
  Voter v({1, 1}, HardState{1, kNoNode, 0});
  const auto resp = v.answer(Message{.type = MessageType::kPreVote, .from = 2, .term = 2, .log_term = 1, .index = 2});
  REQUIRE(resp->type == MessageType::kPreVoteResponse);
  REQUIRE_FALSE(resp->reject);
  REQUIRE(resp->term == 2);
  REQUIRE(v.node->term() == 1);
  REQUIRE(v.node->status().hard_state.vote == kNoNode);
}

TEST_CASE("while a leader is heard from, vote requests are ignored (leader lease)", "[election][check-quorum]") {
  Voter v({1}, HardState{1, kNoNode, 0});
  v.node->step(Message{.type = MessageType::kHeartbeat, .from = 2, .to = 1, .term = 1});
  Ready rd = v.node->ready();
  v.node->advance(rd);
  REQUIRE(v.node->leader() == 2);
  const Message vote{.type = MessageType::kVote, .from = 3, .term = 5, .log_term = 1, .index = 1};
  REQUIRE_FALSE(v.answer(vote).has_value());
  REQUIRE(v.node->term() == 1);
  // A vote that a leader transfer started overrides the lease.
  Message forced = vote;
  forced.context = "raft.transfer";
  REQUIRE_FALSE(v.answer(forced)->reject);
}

TEST_CASE("a node elects itself and every node follows", "[election]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  for (NodeId id : {2, 3}) {
    REQUIRE(c.node(id).role() == Role::kFollower);
    REQUIRE(c.node(id).leader() == 1);
  }
  REQUIRE(c.node(1).term() == 1);  // pre-vote did not spend a term
}

TEST_CASE("elections happen on their own once the election timeout passes", "[election]") {
  TestCluster c(5);
  c.tick_all(25);  // randomized timeouts are in [10, 20)
  const NodeId leader = c.leader();
  REQUIRE(leader != kNoNode);
  for (NodeId id = 1; id <= 5; ++id) REQUIRE(c.node(id).leader() == leader);
}

TEST_CASE("pre-vote keeps an isolated node from inflating its term", "[election][prevote]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.drop = [](const Message& m) { return m.from == 3 || m.to == 3; };
  c.tick_all(100);
  REQUIRE(c.node(3).term() == 1);  // it tried, but never won a pre-vote
  REQUIRE(c.node(3).role() == Role::kPreCandidate);
  c.drop = nullptr;
  c.tick_all(5);
  REQUIRE(c.leader() == 1);  // rejoining did not depose the leader
  REQUIRE(c.node(1).term() == 1);
}

TEST_CASE("without pre-vote the isolated node's term runs away and deposes the leader", "[election][prevote]") {
  TestCluster c(3, [](Config& cfg) {
    cfg.pre_vote = false;
    cfg.check_quorum = false;
  });
  REQUIRE(c.elect(1) == 1);
  c.drop = [](const Message& m) { return m.from == 3 || m.to == 3; };
  c.tick_all(100);
  REQUIRE(c.node(3).term() > 2);
  c.drop = nullptr;
  c.tick_all(50);
  REQUIRE(c.node(1).term() > 1);  // the contrast that shows what pre-vote buys
}

TEST_CASE("check-quorum: a leader that cannot hear a quorum steps down", "[election][check-quorum]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.down = {2, 3};
  for (int i = 0; i < 25 && c.node(1).role() == Role::kLeader; ++i) c.tick_all(1);
  REQUIRE(c.node(1).role() == Role::kFollower);
}

TEST_CASE("leader transfer hands leadership to a caught-up follower", "[election][transfer]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.node(1).propose({"x"});
  c.stabilize();
  c.node(1).transfer_leadership(3);
  c.stabilize();
  REQUIRE(c.leader() == 3);
  REQUIRE(c.node(3).term() == 2);
  REQUIRE(c.node(1).leader() == 3);
}

TEST_CASE("proposals are refused while leadership is being transferred", "[election][transfer]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.down = {3};
  c.node(1).transfer_leadership(3);
  REQUIRE(c.node(1).propose({"x"}).error == ProposeError::kTransferring);
  c.tick_all(25);  // the transfer is abandoned after an election timeout
  REQUIRE(c.node(1).propose({"x"}).error == ProposeError::kNone);
}

}  // namespace
}  // namespace kv::raft
