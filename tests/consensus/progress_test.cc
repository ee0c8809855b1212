// Progress states and the in-flight window (thesis §3.5; etcd-io/raft tracker/progress.go).
#include <catch2/catch.hpp>

#include "consensus/progress.h"

namespace kv::raft {
namespace {

TEST_CASE("the in-flight window fills, frees in order and pauses replication", "[progress]") {
  Progress pr(1, 3, false);
  pr.maybe_update(0);
  pr.become_replicate();
  for (LogIndex last : {2, 4, 6}) {
    REQUIRE_FALSE(pr.is_paused());
    pr.on_append_sent(last, true);
  }
  REQUIRE(pr.is_paused());  // three messages in flight: the window is full
  REQUIRE(pr.next() == 7);  // replication is optimistic
  pr.maybe_update(3);       // frees the message ending at 2 only
  REQUIRE(pr.inflights().count() == 2);
  REQUIRE_FALSE(pr.is_paused());
  pr.maybe_update(6);
  REQUIRE(pr.inflights().count() == 0);
}

TEST_CASE("a probing leader sends one append until it hears back", "[progress]") {
  Progress pr(5, 8, false);
  REQUIRE(pr.state() == ProgressState::kProbe);
  REQUIRE_FALSE(pr.is_paused());
  pr.on_append_sent(4, false);
  REQUIRE(pr.is_paused());
  pr.on_heartbeat_response();
  REQUIRE_FALSE(pr.is_paused());
}

TEST_CASE("rejections move next back, but only fresh ones", "[progress]") {
  struct Case {
    ProgressState state;
    LogIndex match, next, rejected, hint;
    bool want_changed;
    LogIndex want_next;
  };
  const std::vector<Case> cases = {
      // replicate: a rejection at or below the match is stale
      {ProgressState::kReplicate, 5, 10, 5, 5, false, 10},
      {ProgressState::kReplicate, 5, 10, 7, 3, true, 6},
      // probe: only the rejection of the latest probe (next - 1) counts
      {ProgressState::kProbe, 0, 10, 5, 5, false, 10},
      {ProgressState::kProbe, 0, 10, 9, 4, true, 5},
      {ProgressState::kProbe, 0, 10, 9, 20, true, 9},  // hint beyond: next - 1 at most
      {ProgressState::kProbe, 3, 10, 9, 1, true, 4},   // never below match + 1
  };
  for (const Case& c : cases) {
    Progress fresh(c.next, 8, false);
    fresh.maybe_update(c.match);
    if (c.state == ProgressState::kReplicate) {
      fresh.become_replicate();
      fresh.on_append_sent(c.next - 1, true);
    }
    INFO("state " << to_string(c.state) << " match " << c.match << " next " << c.next << " rejected "
                  << c.rejected << " hint " << c.hint);
    REQUIRE(fresh.next() == c.next);
    REQUIRE(fresh.maybe_decrease_to(c.rejected, c.hint) == c.want_changed);
    REQUIRE(fresh.next() == c.want_next);
  }
}

TEST_CASE("a snapshot pauses appends until acknowledged, then resumes after it", "[progress]") {
  Progress pr(3, 8, false);
  pr.become_snapshot(100);
  REQUIRE(pr.is_paused());
  pr.maybe_update(100);
  pr.become_probe();
  REQUIRE(pr.next() == 101);
  REQUIRE_FALSE(pr.is_paused());
}

TEST_CASE("an unacknowledged snapshot times out after a few election rounds", "[progress]") {
  Progress pr(3, 8, false);
  pr.become_snapshot(10);
  int rounds = 0;
  while (!pr.snapshot_round_timed_out()) ++rounds;
  REQUIRE(rounds == 3);
}

}  // namespace
}  // namespace kv::raft

namespace kv::raft {
namespace {

TEST_CASE("a heartbeat response frees one slot of a full window, so a lost append cannot stall replication",
          "[progress]") {
  Progress pr(1, 2, false);
  pr.become_replicate();
  pr.on_append_sent(3, true);
  pr.on_append_sent(5, true);
  REQUIRE(pr.is_paused());
  pr.on_heartbeat_response();
  REQUIRE_FALSE(pr.is_paused());
  REQUIRE(pr.inflights().count() == 1);
}

}  // namespace
}  // namespace kv::raft
