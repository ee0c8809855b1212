// The coroutine Client against fake nodes (fake_cluster.h): leader discovery, retries that
// keep (client_id, seq), sessions under concurrency, deadlines and what each error means,
// and the exact requests each operation sends.
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "client/client.h"
#include "fake_cluster.h"

namespace kv::client {
namespace {

using test::FakeNode;
using test::run;
using test::run_until;
using namespace std::chrono_literals;

using test::options_for;

TEST_CASE("client: follows a NotLeader hint to the leader and remembers it", "[client]") {
  asio::io_context io;
  FakeNode a(io), b(io);
  a.behaviour = [&](const net::Request&) { return FakeNode::not_leader(b.address); };
  Client client(io, options_for({a.address}));  // only the follower is configured

  Result<PutResult> put = run(io, client.put("k", "v"));
  REQUIRE(put.ok());
  CHECK(put->version == 1);
  REQUIRE(a.kv_seen().size() == 1);
  REQUIRE(b.kv_seen().size() == 1);
  // The redirected attempt is the same write: same session, same sequence number.
  CHECK(a.kv_seen()[0].client_id == b.kv_seen()[0].client_id);
  CHECK(a.kv_seen()[0].seq == b.kv_seen()[0].seq);
  CHECK(b.kv_seen()[0].client_id != 0);
  CHECK(b.kv_seen()[0].seq == 1);
  CHECK(client.stats().redirects == 1);

  // The next operation goes straight to the leader.
  Result<GetResult> got = run(io, client.get("k"));
  REQUIRE(got.ok());
  CHECK(got->found);
  CHECK(got->value == "v");
  CHECK(a.kv_seen().size() == 1);
  REQUIRE(b.kv_seen().size() == 2);
  CHECK(b.kv_seen()[1].client_id == 0);  // reads carry no session
  CHECK(b.kv_seen()[1].seq == 0);
}

TEST_CASE("client: without a hint, tries the other endpoints round-robin", "[client]") {
  asio::io_context io;
  FakeNode a(io), b(io), c(io);
  a.behaviour = [](const net::Request&) { return FakeNode::not_leader(""); };
  b.behaviour = [](const net::Request&) { return FakeNode::error(net::ErrorCode::kUnavailable); };
  Client client(io, options_for({a.address, b.address, c.address}));

  Result<PutResult> put = run(io, client.put("k", "v"));
  REQUIRE(put.ok());
  CHECK(c.store->applied_writes == 1);
  CHECK(a.seen.size() + b.seen.size() >= 1);
}

TEST_CASE("client: a lost response is retried with the same (client_id, seq) and applied once", "[client]") {
  asio::io_context io;
  FakeNode leader(io);
  int calls = 0;
  leader.behaviour = [&](const net::Request& r) -> std::optional<net::ResponseBody> {
    // The first copy is applied but its answer is lost (held forever): the client times out.
    net::ResponseBody body = leader.store->apply(r);
    if (++calls == 1) return std::nullopt;
    return body;
  };
  Client client(io, options_for({leader.address}));

  Result<PutResult> put = run(io, client.put("k", "v1"));
  REQUIRE(put.ok());
  REQUIRE(leader.seen.size() == 2);
  CHECK(leader.seen[0].client_id == leader.seen[1].client_id);
  CHECK(leader.seen[0].seq == leader.seen[1].seq);
  CHECK(leader.store->applied_writes == 1);  // the retry was answered from the session table
  CHECK(put->version == 1);

  // The session was released with its seq used up: the next write moves on to seq + 1.
  REQUIRE(run(io, client.put("k", "v2")).ok());
  REQUIRE(leader.seen.size() == 3);
  CHECK(leader.seen[2].client_id == leader.seen[0].client_id);
  CHECK(leader.seen[2].seq == leader.seen[0].seq + 1);
  CHECK(client.stats().sessions_discarded == 0);
}

TEST_CASE("client: when the leader dies mid-write, the retry goes to the new leader with the same seq", "[client]") {
  asio::io_context io;
  auto old_leader = std::make_unique<FakeNode>(io);
  FakeNode new_leader(io);
  old_leader->behaviour = [](const net::Request&) { return std::nullopt; };  // never answers
  Client client(io, options_for({old_leader->address, new_leader.address}));

  auto put = test::start(io, client.put("k", "v"));
  REQUIRE(run_until(io, [&] { return old_leader->seen.size() == 1; }));
  const net::Request first = old_leader->seen[0];
  old_leader.reset();  // crash: its connections drop, its port stops listening
  REQUIRE(run_until(io, [&] { return put->has_value(); }));
  REQUIRE((*put)->ok());
  REQUIRE(new_leader.seen.size() == 1);
  CHECK(new_leader.seen[0].client_id == first.client_id);
  CHECK(new_leader.seen[0].seq == first.seq);
}

TEST_CASE("client: a write with no definitive answer by its deadline is Indeterminate; its session is retired",
          "[client]") {
  asio::io_context io;
  FakeNode leader(io);
  leader.behaviour = [](const net::Request& r) -> std::optional<net::ResponseBody> {
    const auto* put = std::get_if<net::PutRequest>(&r.op);
    if (put != nullptr && put->key == "lost") return std::nullopt;  // applied or not: nobody says
    return net::PutResponse{7, std::nullopt};
  };
  Options o = options_for({leader.address});
  o.operation_timeout = 500ms;
  o.request_timeout = 100ms;
  Client client(io, o);

  Result<PutResult> put = run(io, client.put("lost", "v"));
  REQUIRE_FALSE(put.ok());
  CHECK(put.kind() == ErrorKind::kIndeterminate);
  CHECK_THAT(put.message(), Catch::Contains("may or may not"));
  REQUIRE(leader.seen.size() >= 2);  // it kept retrying until the deadline...
  for (const net::Request& r : leader.seen) {
    CHECK(r.client_id == leader.seen[0].client_id);  // ...always as the same write
    CHECK(r.seq == leader.seen[0].seq);
  }
  CHECK(client.stats().sessions_discarded == 1);

  // The next write never reuses the retired session.
  const std::size_t before = leader.seen.size();
  REQUIRE(run(io, client.put("fine", "v")).ok());
  REQUIRE(leader.seen.size() == before + 1);
  CHECK(leader.seen.back().client_id != leader.seen[0].client_id);
  CHECK(leader.seen.back().seq == 1);
}

TEST_CASE("client: a write refused everywhere is Unavailable (surely not applied), a slow read is Timeout",
          "[client]") {
  asio::io_context io;
  FakeNode a(io), b(io);
  a.behaviour = [](const net::Request&) { return FakeNode::not_leader(""); };
  b.behaviour = [](const net::Request& r) -> std::optional<net::ResponseBody> {
    if (std::holds_alternative<net::GetRequest>(r.op)) return std::nullopt;  // reads: never answered
    return FakeNode::error(net::ErrorCode::kUnavailable);
  };
  Options o = options_for({a.address, b.address});
  o.operation_timeout = 300ms;
  o.request_timeout = 100ms;
  Client client(io, o);

  Result<PutResult> put = run(io, client.put("k", "v"));
  REQUIRE_FALSE(put.ok());
  CHECK(put.kind() == ErrorKind::kUnavailable);
  CHECK(client.stats().sessions_discarded == 0);  // a definite "not applied" keeps the session

  b.behaviour = [](const net::Request&) { return std::nullopt; };
  a.behaviour = b.behaviour;
  Result<GetResult> got = run(io, client.get("k"));
  REQUIRE_FALSE(got.ok());
  CHECK(got.kind() == ErrorKind::kTimeout);
}

TEST_CASE("client: Unavailable is retried with backoff until a leader appears", "[client]") {
  asio::io_context io;
  FakeNode node(io);
  const auto elected_at = std::chrono::steady_clock::now() + 150ms;
  node.behaviour = [&](const net::Request& r) -> std::optional<net::ResponseBody> {
    if (std::chrono::steady_clock::now() < elected_at) return FakeNode::error(net::ErrorCode::kUnavailable);
    return node.store->apply(r);
  };
  Client client(io, options_for({node.address}));

  Result<PutResult> put = run(io, client.put("k", "v"));
  REQUIRE(put.ok());
  CHECK(node.seen.size() >= 3);
  CHECK(node.seen.size() < 100);  // backed off, did not spin
  CHECK(node.store->applied_writes == 1);
}

TEST_CASE("client: two nodes naming each other are followed with backoff, not in a spin", "[client]") {
  asio::io_context io;
  FakeNode a(io), b(io);
  a.behaviour = [&](const net::Request&) { return FakeNode::not_leader(b.address); };
  b.behaviour = [&](const net::Request&) { return FakeNode::not_leader(a.address); };
  Options o = options_for({a.address, b.address});
  o.operation_timeout = 300ms;
  Client client(io, o);

  Result<GetResult> got = run(io, client.get("k"));
  REQUIRE_FALSE(got.ok());
  CHECK(got.kind() == ErrorKind::kUnavailable);
  CHECK(a.seen.size() + b.seen.size() < 60);  // 300 ms at >= 2.5 ms per backoff, and most back off more
}

TEST_CASE("client: at most one outstanding write per session, however many writes run at once", "[client]") {
  asio::io_context io;
  FakeNode leader(io);
  leader.delay = 3ms;
  std::map<std::uint64_t, int> outstanding;  // client_id -> writes in flight at the fake
  std::map<std::uint64_t, std::uint64_t> last_seq;
  bool violated = false;
  leader.behaviour = [&](const net::Request& r) -> std::optional<net::ResponseBody> {
    if (++outstanding[r.client_id] > 1) violated = true;
    if (r.seq != last_seq[r.client_id] + 1) violated = true;  // seqs advance one by one
    last_seq[r.client_id] = r.seq;
    return leader.store->apply(r);  // answered `delay` later
  };
  leader.before_respond = [&](const net::Request& r) { --outstanding[r.client_id]; };
  Options o = options_for({leader.address});
  o.max_sessions = 4;
  Client client(io, o);

  constexpr int kWrites = 60;
  std::vector<std::shared_ptr<std::optional<Result<PutResult>>>> puts;
  for (int i = 0; i < kWrites; ++i) puts.push_back(test::start(io, client.put("k" + std::to_string(i), "v")));
  REQUIRE(run_until(io, [&] { return std::all_of(puts.begin(), puts.end(), [](auto& p) { return p->has_value(); }); }));
  for (auto& p : puts) CHECK((*p)->ok());
  CHECK_FALSE(violated);
  CHECK(last_seq.size() <= 4);  // never more sessions than max_sessions
  CHECK(leader.store->applied_writes == kWrites);
  CHECK(client.stats().sessions_created <= 4);
}

TEST_CASE("client: a write that cannot get a session before its deadline is Timeout, nothing sent", "[client]") {
  asio::io_context io;
  FakeNode leader(io);
  leader.behaviour = [](const net::Request&) { return std::nullopt; };  // the first write hangs
  Options o = options_for({leader.address});
  o.max_sessions = 1;
  o.operation_timeout = 200ms;
  o.request_timeout = 1000ms;
  Client client(io, o);

  auto first = test::start(io, client.put("a", "1"));
  auto second = test::start(io, client.put("b", "2"));
  REQUIRE(run_until(io, [&] { return first->has_value() && second->has_value(); }));
  CHECK((*first)->kind() == ErrorKind::kIndeterminate);
  CHECK((*second)->kind() == ErrorKind::kTimeout);
  CHECK_THAT((*second)->message(), Catch::Contains("nothing was sent"));
  CHECK(leader.seen.size() == 1);
}

TEST_CASE("client: definitive server errors are returned at once with their kind", "[client]") {
  asio::io_context io;
  FakeNode leader(io);
  net::ErrorCode code = net::ErrorCode::kValueTooLarge;
  leader.behaviour = [&](const net::Request&) { return FakeNode::error(code); };
  Client client(io, options_for({leader.address}));

  auto check = [&](net::ErrorCode c, ErrorKind kind) {
    code = c;
    const std::size_t before = leader.seen.size();
    Result<PutResult> put = run(io, client.put("k", "v"));
    REQUIRE_FALSE(put.ok());
    CHECK(put.kind() == kind);
    CHECK(leader.seen.size() == before + 1);  // no retry
  };
  check(net::ErrorCode::kValueTooLarge, ErrorKind::kInvalidArgument);
  check(net::ErrorCode::kKeyTooLarge, ErrorKind::kInvalidArgument);
  check(net::ErrorCode::kBadRequest, ErrorKind::kInvalidArgument);
  check(net::ErrorCode::kConflict, ErrorKind::kConflict);
  check(net::ErrorCode::kUnsupported, ErrorKind::kUnsupported);
  CHECK(client.stats().sessions_discarded == 0);
  check(net::ErrorCode::kInternal, ErrorKind::kInternal);
  CHECK(client.stats().sessions_discarded == 1);  // after a bug, the session is not trusted
}

TEST_CASE("client: a missing key is found == false, not an error", "[client]") {
  asio::io_context io;
  FakeNode leader(io);
  Client client(io, options_for({leader.address}));
  Result<GetResult> got = run(io, client.get("absent"));
  REQUIRE(got.ok());
  CHECK_FALSE(got->found);
}

}  // namespace
}  // namespace kv::client
