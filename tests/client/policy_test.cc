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

  CHECK_FALSE(routes.reset({ShardRoute{"", "m", "a:1"}}));  // does not cover every key
  CHECK_FALSE(routes.reset({ShardRoute{"", "m", "a:1"}, ShardRoute{"n", "", "b:1"}}));  // a gap
  REQUIRE(routes.reset({ShardRoute{"m", "", "b:1"}, ShardRoute{"", "m", "a:1"}}));     // any order
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
  CHECK(map == std::vector<ShardRoute>{{"", "k", "c:1"}, {"k", "", ""}});
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
