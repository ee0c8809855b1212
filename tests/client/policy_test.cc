// The client's pure parts, without a network: the retry plan (where the next attempt goes,
// how long it waits, what the final error says), backoff, the session pool, the route
// cache, and option validation.
#include <catch2/catch.hpp>

#include <set>

#include "client/options.h"
#include "client/retry.h"
#include "client/route_cache.h"
#include "client/session_pool.h"

namespace kv::client::detail {
namespace {

using namespace std::chrono_literals;
using Kind = Step::Kind;

Options three_nodes() {
  Options o;
  o.endpoints = {"a:1", "b:1", "c:1"};
  o.backoff_min = 10ms;
  o.backoff_max = 80ms;
  o.backoff_jitter = 0.0;
  return o;
}

net::CallResult answered(net::ResponseBody body) { return net::CallResult{net::CallStatus::kOk, net::Response{1, std::move(body)}, ""}; }
net::CallResult error(net::ErrorCode code, std::string hint = "") {
  return answered(net::ErrorResponse{code, "scripted", net::LeaderHint{hint.empty() ? 0u : 2u, std::move(hint)}});
}
net::CallResult lost(net::CallStatus status) { return net::CallResult{status, {}, "lost"}; }

ShardRoute route(std::string start, std::string end, std::string leader, std::vector<std::string> replicas = {},
                 std::uint64_t shard = 0) {
  return ShardRoute{std::move(start), std::move(end), std::move(leader), std::move(replicas), shard};
}

TEST_CASE("backoff doubles from min to max, and jitter only shortens it", "[client][policy]") {
  std::mt19937_64 rng(1);
  Backoff plain(10ms, 80ms, 0.0);
  std::vector<std::int64_t> waits;
  for (int i = 0; i < 6; ++i) waits.push_back(plain.next(rng).count());
  CHECK(waits == std::vector<std::int64_t>{10, 20, 40, 80, 80, 80});

  Backoff jittered(10ms, 500ms, 0.5);
  for (int i = 0; i < 200; ++i) {
    const std::int64_t base = std::min<std::int64_t>(500, 10LL << std::min(i, 30));
    const std::int64_t w = jittered.next(rng).count();
    CHECK(w <= base);
    CHECK(w >= base / 2 - 1);
  }
}

TEST_CASE("plan: a fresh leader hint is followed at once; the first attempt goes to the cached leader",
          "[client][policy]") {
  std::mt19937_64 rng(1);
  RetryPlan plan(three_nodes(), true, 0, rng);
  Step s = plan.start("b:1");
  CHECK(s.kind == Kind::kSend);
  CHECK(s.endpoint == "b:1");
  CHECK(s.delay == 0ms);
  s = plan.on_call("b:1", error(net::ErrorCode::kNotLeader, "leader:9"));
  CHECK(s.kind == Kind::kSend);
  CHECK(s.endpoint == "leader:9");  // need not be a configured endpoint
  CHECK(s.delay == 0ms);
  CHECK(plan.redirects() == 1);
  CHECK(plan.routes_stale());
  s = plan.on_call("leader:9", answered(net::PutResponse{4, std::nullopt}));
  CHECK(s.kind == Kind::kSucceed);
  CHECK(std::get<net::PutResponse>(s.body).version == 4);
  CHECK_FALSE(plan.maybe_applied());
}

TEST_CASE("plan: hints that go round in circles end up backing off", "[client][policy]") {
  std::mt19937_64 rng(1);
  RetryPlan plan(three_nodes(), false, 0, rng);
  Step s = plan.start("");
  int in_a_row = 0;
  int longest_run = 0;
  std::chrono::milliseconds last_delay{0};
  for (int i = 0; i < 20; ++i) {
    const std::string other = s.endpoint == "a:1" ? "b:1" : "a:1";
    s = plan.on_call(s.endpoint, error(net::ErrorCode::kNotLeader, other));
    CHECK(s.endpoint == other);
    if (s.delay == 0ms) {
      longest_run = std::max(longest_run, ++in_a_row);
    } else {
      in_a_row = 0;
      CHECK(s.delay >= last_delay);  // the backoff keeps growing across the runs
      last_delay = s.delay;
    }
  }
  CHECK(longest_run <= 4);  // endpoints + 1 immediate hops, then a backoff
  CHECK(last_delay == 80ms);
  CHECK(plan.attempts() == 20);
}

TEST_CASE("plan: without a hint, unreachable or unready nodes are skipped round-robin with backoff",
          "[client][policy]") {
  std::mt19937_64 rng(1);
  RetryPlan plan(three_nodes(), false, 0, rng);
  Step s = plan.start("");
  CHECK(s.endpoint == "a:1");
  s = plan.on_connect_failed("a:1", "connect to a:1 failed: refused");
  CHECK(s.endpoint == "b:1");
  CHECK(s.delay == 10ms);
  s = plan.on_call("b:1", error(net::ErrorCode::kNotLeader));
  CHECK(s.endpoint == "c:1");
  CHECK(s.delay == 20ms);
  s = plan.on_call("c:1", error(net::ErrorCode::kUnavailable));
  CHECK(s.endpoint == "a:1");
  CHECK(s.delay == 40ms);
  // Overload and server-side timeouts stay with the same node.
  s = plan.on_call("a:1", error(net::ErrorCode::kTooManyRequests));
  CHECK(s.endpoint == "a:1");
  s = plan.on_call("a:1", error(net::ErrorCode::kTimeout));
  CHECK(s.endpoint == "a:1");
  CHECK(s.delay == 80ms);
}

TEST_CASE("plan: a write that may have reached a leader stays 'maybe applied' whatever follows",
          "[client][policy]") {
  std::mt19937_64 rng(1);
  for (net::CallStatus how : {net::CallStatus::kTimeout, net::CallStatus::kDisconnected}) {
    RetryPlan plan(three_nodes(), true, 0, rng);
    Step s = plan.start("a:1");
    s = plan.on_call("a:1", lost(how));
    CHECK(s.kind == Kind::kSend);
    CHECK(s.endpoint != "a:1");
    CHECK(plan.maybe_applied());
    s = plan.on_call(s.endpoint, error(net::ErrorCode::kNotLeader));  // says nothing about the first copy
    CHECK(plan.maybe_applied());
    const Error e = plan.on_deadline(1000ms);
    CHECK(e.kind == ErrorKind::kIndeterminate);
    CHECK_THAT(e.message, Catch::Contains("2 attempts"));
    CHECK(plan.on_closed().kind == ErrorKind::kIndeterminate);
  }
  RetryPlan server_timeout(three_nodes(), true, 0, rng);
  (void)server_timeout.start("a:1");
  (void)server_timeout.on_call("a:1", error(net::ErrorCode::kTimeout));
  CHECK(server_timeout.on_deadline(1000ms).kind == ErrorKind::kIndeterminate);
}

TEST_CASE("plan: out of time without any uncertain attempt: Unavailable, or Timeout for a slow read",
          "[client][policy]") {
  std::mt19937_64 rng(1);
  RetryPlan write(three_nodes(), true, 0, rng);
  (void)write.start("");
  (void)write.on_call("a:1", error(net::ErrorCode::kNotLeader));
  (void)write.on_connect_failed("b:1", "connect to b:1 failed");
  Error e = write.on_deadline(500ms);
  CHECK(e.kind == ErrorKind::kUnavailable);
  CHECK_THAT(e.message, Catch::Contains("connect to b:1 failed"));
  CHECK(write.on_closed().kind == ErrorKind::kClosed);

  RetryPlan read(three_nodes(), false, 0, rng);
  (void)read.start("");
  (void)read.on_call("a:1", lost(net::CallStatus::kTimeout));
  CHECK_FALSE(read.maybe_applied());  // reads are never "applied"
  CHECK(read.on_deadline(500ms).kind == ErrorKind::kTimeout);
}

TEST_CASE("plan: definitive answers end the operation with the matching kind", "[client][policy]") {
  std::mt19937_64 rng(1);
  const std::vector<std::pair<net::ErrorCode, ErrorKind>> cases = {
      {net::ErrorCode::kKeyTooLarge, ErrorKind::kInvalidArgument},
      {net::ErrorCode::kValueTooLarge, ErrorKind::kInvalidArgument},
      {net::ErrorCode::kBadRequest, ErrorKind::kInvalidArgument},
      {net::ErrorCode::kConflict, ErrorKind::kConflict},
      {net::ErrorCode::kUnsupported, ErrorKind::kUnsupported},
      {net::ErrorCode::kInternal, ErrorKind::kInternal},
      {net::ErrorCode::kStaleSequence, ErrorKind::kInternal},
  };
  for (const auto& [code, kind] : cases) {
    RetryPlan plan(three_nodes(), true, 0, rng);
    (void)plan.start("a:1");
    const Step s = plan.on_call("a:1", error(code));
    CHECK(s.kind == Kind::kFail);
    CHECK(s.error.kind == kind);
    CHECK_THAT(s.error.message, Catch::Contains("a:1"));
    CHECK(plan.saw_stale_sequence() == (code == net::ErrorCode::kStaleSequence));
  }
  RetryPlan plan(three_nodes(), true, 0, rng);
  (void)plan.start("a:1");
  CHECK(plan.on_call("a:1", lost(net::CallStatus::kTooLarge)).error.kind == ErrorKind::kInvalidArgument);
  CHECK_FALSE(plan.maybe_applied());  // nothing was sent
}

TEST_CASE("routing key: the key the server picks the shard by", "[client][policy]") {
  CHECK(routing_key(net::GetRequest{"g", false}) == "g");
  CHECK(routing_key(net::RangeRequest{"r", "s", 0, false, false, false}) == "r");
  CHECK(routing_key(net::CasRequest{"c", net::CompareAbsent{}, net::CasDelete{}}) == "c");
  net::TxnRequest txn;
  txn.failure.push_back(net::RangeRequest{"f", "", 0, false, false, false});
  CHECK(routing_key(txn) == "f");
  txn.success.push_back(net::PutRequest{"s", "", false});
  CHECK(routing_key(txn) == "s");
  txn.compares.push_back(net::TxnCompare{"k", net::CompareOp::kEqual, net::CompareAbsent{}});
  CHECK(routing_key(txn) == "k");
  CHECK(routing_key(net::StatusRequest{}).empty());
}

TEST_CASE("session pool: sessions are exclusive, capped, reused after release and never after discard",
          "[client][policy]") {
  std::uint64_t next_id = 0;  // the first id is 0: the pool must not use it
  SessionPool pool(2, [&] { return next_id++; });
  std::optional<Session> a = pool.try_acquire();
  std::optional<Session> b = pool.try_acquire();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->client_id == 1);
  CHECK(b->client_id == 2);
  CHECK_FALSE(pool.try_acquire());  // both busy: a third write must wait
  CHECK(a->next_seq() == 1);
  pool.release(*a);
  std::optional<Session> again = pool.try_acquire();
  REQUIRE(again);
  CHECK(again->client_id == 1);
  CHECK(again->next_seq() == 2);  // the sequence continues on the same session
  pool.discard(*again);
  std::optional<Session> fresh = pool.try_acquire();
  REQUIRE(fresh);
  CHECK(fresh->client_id == 3);  // a discarded session is gone for good
  CHECK(fresh->last_seq == 0);
  CHECK(pool.busy() == 2);
  CHECK(pool.created() == 3);
  CHECK(pool.discarded() == 1);
}

TEST_CASE("route cache: one range until a map is loaded; leaders per shard after", "[client][policy]") {
  RouteCache routes;
  CHECK(routes.leader_for("any").empty());
  routes.learn("k", "a:1");
  CHECK(routes.leader_for("zzz") == "a:1");  // one shard: one leader for every key

  CHECK_FALSE(routes.loaded());
  CHECK_FALSE(routes.reset({route("", "m", "a:1")}));                       // does not cover every key
  CHECK_FALSE(routes.reset({route("", "m", "a:1"), route("n", "", "b:1")}));  // a gap
  CHECK_FALSE(routes.loaded());
  REQUIRE(routes.reset({route("m", "", "b:1"), route("", "m", "a:1")}));  // any order
  CHECK(routes.loaded());
  CHECK(routes.shard_count() == 2);
  CHECK(routes.leader_for("a") == "a:1");
  CHECK(routes.leader_for("m") == "b:1");
  CHECK(routes.leader_for("zz") == "b:1");
  routes.learn("q", "c:1");
  CHECK(routes.leader_for("m") == "c:1");
  CHECK(routes.leader_for("l") == "a:1");
  routes.forget("a:1");
  CHECK(routes.leader_for("l").empty());

  net::StatusResponse status;
  status.shards.push_back(net::ShardStatus{0, 1, 3, 0, 0, 0, net::ReplicaRole::kLeader, "", "k"});
  status.shards.push_back(net::ShardStatus{1, 0, 3, 0, 0, 0, net::ReplicaRole::kFollower, "k", ""});
  net::MembersResponse members{{net::Member{1, "p:1", "c:1"}}};
  const std::vector<ShardRoute> map = routes_from(status, members);
  CHECK(map == std::vector<ShardRoute>{route("", "k", "c:1", {}, 0), route("k", "", "", {}, 1)});
}

TEST_CASE("route cache: the shard map names leaders and replicas by client address", "[client][policy]") {
  net::ShardMapResponse map;
  map.shards.push_back(net::ShardInfo{0, "", "g", {1, 2, 3}, 2, 7});
  map.shards.push_back(net::ShardInfo{1, "g", "p", {2, 3, 4}, 0, 7});   // leader unknown
  map.shards.push_back(net::ShardInfo{2, "p", "", {3, 4, 9}, 9, 8});    // 9 is not a member
  map.members = {net::Member{1, "p:1", "c:1"}, net::Member{2, "p:2", "c:2"}, net::Member{3, "p:3", "c:3"},
                 net::Member{4, "p:4", "c:4"}};
  const std::vector<ShardRoute> routes = routes_from(map);
  CHECK(routes == std::vector<ShardRoute>{route("", "g", "c:2", {"c:1", "c:2", "c:3"}, 0),
                                          route("g", "p", "", {"c:2", "c:3", "c:4"}, 1),
                                          route("p", "", "", {"c:3", "c:4"}, 2)});
  RouteCache cache;
  REQUIRE(cache.reset(routes));
  CHECK(cache.route_for("h").shard == 1);
  CHECK(cache.route_for("h").replicas == std::vector<std::string>{"c:2", "c:3", "c:4"});
}

TEST_CASE("route cache: a range is split at shard boundaries", "[client][policy]") {
  RouteCache routes;
  const std::string every(1, '\0');
  using Pieces = std::vector<RangePiece>;
  // Before a map: one shard, one piece; an empty start is the first key.
  CHECK(routes.split("", "z") == Pieces{{0, every, "z"}});
  REQUIRE(routes.reset({route("", "g", ""), route("g", "p", ""), route("p", "", "")}));
  CHECK(routes.split("a", "c") == Pieces{{0, "a", "c"}});
  CHECK(routes.split("a", "g") == Pieces{{0, "a", "g"}});  // the end is exclusive: shard 1 is not read
  CHECK(routes.split("a", "h") == Pieces{{0, "a", "g"}, {1, "g", "h"}});
  CHECK(routes.split("b", "q") == Pieces{{0, "b", "g"}, {1, "g", "p"}, {2, "p", "q"}});
  CHECK(routes.split("h", every) == Pieces{{1, "h", "p"}, {2, "p", every}});
  CHECK(routes.split("", every) == Pieces{{0, every, "g"}, {1, "g", "p"}, {2, "p", every}});
  CHECK(routes.split("q", "z") == Pieces{{2, "q", "z"}});
  CHECK(routes.split("g", "g").empty());
  CHECK(routes.split("h", "b").empty());
}

TEST_CASE("plan: the shard's replicas are tried before the configured endpoints", "[client][policy]") {
  std::mt19937_64 rng(1);
  PlanShape shape;
  shape.replicas = {"r1:1", "b:1"};  // b:1 is also configured: tried once per round
  RetryPlan plan(three_nodes(), shape, 7, rng);
  Step s = plan.start("");
  std::vector<std::string> order{s.endpoint};
  for (int i = 0; i < 4; ++i) {
    s = plan.on_call(s.endpoint, error(net::ErrorCode::kUnavailable));
    order.push_back(s.endpoint);
  }
  // Every replica first (from the 7 % 2 = 1st), then the other configured endpoints.
  CHECK(order == std::vector<std::string>{"b:1", "r1:1", "a:1", "c:1", "b:1"});
}

TEST_CASE("plan: a write without a session is never resent once it may have been applied", "[client][policy]") {
  std::mt19937_64 rng(1);
  PlanShape shape;
  shape.is_write = true;
  shape.resend_when_maybe_applied = false;
  for (const net::CallResult& lost_answer :
       {lost(net::CallStatus::kTimeout), lost(net::CallStatus::kDisconnected), error(net::ErrorCode::kTimeout)}) {
    RetryPlan plan(three_nodes(), shape, 0, rng);
    (void)plan.start("a:1");
    const Step s = plan.on_call("a:1", lost_answer);
    CHECK(s.kind == Kind::kFail);
    CHECK(s.error.kind == ErrorKind::kIndeterminate);
  }
  // Refusals before anything started are retried as usual.
  RetryPlan plan(three_nodes(), shape, 0, rng);
  (void)plan.start("a:1");
  CHECK(plan.on_call("a:1", error(net::ErrorCode::kNotLeader, "b:1")).kind == Kind::kSend);
  CHECK(plan.on_call("b:1", error(net::ErrorCode::kUnavailable)).kind == Kind::kSend);
  CHECK(plan.on_call("c:1", error(net::ErrorCode::kTooManyRequests)).kind == Kind::kSend);
  CHECK(plan.on_call("c:1", error(net::ErrorCode::kConflict)).error.kind == ErrorKind::kConflict);
}

TEST_CASE("plan: with errors as answers a definitive error is the answer; retryable ones still retry",
          "[client][policy]") {
  std::mt19937_64 rng(1);
  PlanShape shape;
  shape.is_write = true;
  shape.errors_as_answers = true;
  RetryPlan plan(three_nodes(), shape, 0, rng);
  (void)plan.start("a:1");
  CHECK(plan.on_call("a:1", error(net::ErrorCode::kNotLeader, "b:1")).kind == Kind::kSend);
  CHECK(plan.on_call("b:1", error(net::ErrorCode::kWrongShard)).kind == Kind::kSend);
  const Step s = plan.on_call("b:1", error(net::ErrorCode::kConflict));
  REQUIRE(s.kind == Kind::kSucceed);
  REQUIRE(std::holds_alternative<net::ErrorResponse>(s.body));
  CHECK(std::get<net::ErrorResponse>(s.body).code == net::ErrorCode::kConflict);
}

TEST_CASE("conflict retry: bounded by attempts and by the time left; waits grow", "[client][policy]") {
  std::mt19937_64 rng(1);
  ConflictRetry retry(4, 10ms, 40ms, 0.0);
  std::vector<std::int64_t> waits;
  for (;;) {
    retry.on_attempt();
    const std::optional<std::chrono::milliseconds> wait = retry.next_wait(10s, rng);
    if (!wait) break;
    waits.push_back(wait->count());
  }
  CHECK(waits == std::vector<std::int64_t>{10, 20, 40});
  CHECK(retry.attempts() == 4);

  ConflictRetry short_of_time(100, 50ms, 50ms, 0.0);
  short_of_time.on_attempt();
  CHECK_FALSE(short_of_time.next_wait(30ms, rng));  // the wait would outlast the deadline
}

TEST_CASE("options: validate names the bad field; endpoints must be host:port", "[client][policy]") {
  Options o;
  CHECK_THAT(o.validate(), Catch::Contains("endpoints"));
  o.endpoints = {"127.0.0.1:7101", "[::1]:7102", "node-3.example:7103"};
  CHECK(o.validate().empty());
  o.backoff_max = 1ms;
  CHECK_THAT(o.validate(), Catch::Contains("backoff_max"));
  o = Options{};
  o.endpoints = {"127.0.0.1"};
  CHECK_THAT(o.validate(), Catch::Contains("127.0.0.1"));

  CHECK(parse_host_port("h:1") == HostPort{"h", 1});
  CHECK(parse_host_port("[::1]:65535") == HostPort{"::1", 65535});
  for (const char* bad : {"", "h", ":1", "h:", "h:0", "h:65536", "h:1x", "::1:5", "[::1]5"}) {
    INFO(bad);
    CHECK_FALSE(parse_host_port(bad));
  }
}

}  // namespace
}  // namespace kv::client::detail
