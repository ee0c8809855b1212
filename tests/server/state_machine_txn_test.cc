// The shard state machine's transaction commands on a real store (server/state_machine.h):
// prepare / resolve at a participant, the transaction record at the primary's shard, the
// one-entry commit of a single-shard transaction, plain writes that wait for a lock, and
// the prepared state surviving a reload (what a restart or a snapshot install does).
#include <catch2/catch.hpp>

#include "../storage/test_util.h"
#include "server/command.h"
#include "server/state_machine.h"

namespace kv::server {
namespace {

using storage::testing::TempDir;

class Shard0 {
 public:
  Shard0() : store_(storage::testing::open_ok(storage::testing::options_for(dir_.sub("db")))) {
    raft::ConfState conf;
    conf.voters = {1};
    REQUIRE(store_->create_group(0, conf).ok());
    sm_ = std::make_unique<ShardStateMachine>(0, storage::KeyRange{"a", "n"}, store_->data(), 100);
    REQUIRE(sm_->load().ok());
  }

  // Applies one command as the next log entry; returns its result.
  ApplyResult apply(net::RequestOp op, std::uint64_t client = 0, std::uint64_t seq = 0) {
    net::Request request;
    request.client_id = client;
    request.seq = seq;
    request.op = std::move(op);
    const raft::Entry e{1, ++index_, raft::EntryType::kNormal, encode_command(request)};
    std::vector<ApplyResult> results = sm_->apply(std::span<const raft::Entry>(&e, 1));
    REQUIRE(results.size() == 1);
    return results.front();
  }

  std::optional<std::string> value(const std::string& key) {
    auto got = store_->data().get(key);
    REQUIRE(got.ok());
    return got.value() ? std::optional<std::string>(got.value()->value) : std::nullopt;
  }
  std::uint64_t version(const std::string& key) {
    auto got = store_->data().get(key);
    REQUIRE(got.ok());
    return got.value() ? got.value()->version : 0;
  }
  ShardStateMachine& sm() { return *sm_; }
  void reload() {
    sm_ = std::make_unique<ShardStateMachine>(0, storage::KeyRange{"a", "n"}, store_->data(), 100);
    REQUIRE(sm_->load().ok());
  }

 private:
  TempDir dir_;
  std::unique_ptr<storage::NodeStore> store_;
  std::unique_ptr<ShardStateMachine> sm_;
  raft::LogIndex index_ = 0;
};

net::TxnFootprint write_b_read_a(std::uint64_t a_version) {
  net::TxnFootprint f;
  f.reads.push_back({"a", a_version});
  f.writes.push_back({"b", std::string("new-b")});
  return f;
}

template <class T>
const T& body(const ApplyResult& r) {
  INFO("result index " << r.body.index());
  REQUIRE(std::holds_alternative<T>(r.body));
  return std::get<T>(r.body);
}

TEST_CASE("state machine: prepare locks and resolve commit applies the intents", "[txn][state_machine]") {
  Shard0 s;
  body<net::PutResponse>(s.apply(net::PutRequest{"a", "old-a", false}));
  const std::uint64_t va = s.version("a");
  const ApplyResult prepared = s.apply(net::TxnPrepareRequest{7, "b", write_b_read_a(va)});
  CHECK(body<net::TxnVoteResponse>(prepared).yes);
  CHECK(body<net::TxnVoteResponse>(prepared).version == prepared.index);  // what the writes will get
  CHECK(s.sm().prepared_count() == 1);
  CHECK_FALSE(s.value("b"));  // an intent is not data
  CHECK(s.sm().read_blocked(net::GetRequest{"b", false}));
  CHECK_FALSE(s.sm().read_blocked(net::GetRequest{"a", false}));  // read-locked only

  // A plain put on a locked key is a no-op marked blocked, and not recorded in its session.
  const ApplyResult blocked = s.apply(net::PutRequest{"a", "plain", false}, 42, 1);
  CHECK(blocked.blocked);
  CHECK(s.value("a") == "old-a");
  // The same (client, seq) later applies for real: the blocked attempt left no session.
  CHECK(body<net::TxnOutcomeResponse>(s.apply(net::TxnResolveRequest{7, "b", true})).committed);
  CHECK(s.value("b") == "new-b");
  CHECK(s.version("b") == prepared.index);  // as the coordinator told the client
  CHECK(s.sm().prepared_count() == 0);
  CHECK_FALSE(s.apply(net::PutRequest{"a", "plain", false}, 42, 1).blocked);
  CHECK(s.value("a") == "plain");
  // A repeated resolve finds nothing and changes nothing.
  const std::uint64_t vb = s.version("b");
  body<net::TxnOutcomeResponse>(s.apply(net::TxnResolveRequest{7, "b", true}));
  CHECK(s.version("b") == vb);
}

TEST_CASE("state machine: a prepare with a stale read votes no and locks nothing", "[txn][state_machine]") {
  Shard0 s;
  body<net::PutResponse>(s.apply(net::PutRequest{"a", "v1", false}));
  const std::uint64_t va = s.version("a");
  body<net::PutResponse>(s.apply(net::PutRequest{"a", "v2", false}));
  const ApplyResult result = s.apply(net::TxnPrepareRequest{8, "b", write_b_read_a(va)});
  const auto& vote = body<net::TxnVoteResponse>(result);
  CHECK_FALSE(vote.yes);
  CHECK_THAT(vote.reason, Catch::Contains("changed since it was read"));
  CHECK(s.sm().prepared_count() == 0);
}

TEST_CASE("state machine: resolve abort drops the intents and releases the locks", "[txn][state_machine]") {
  Shard0 s;
  CHECK(body<net::TxnVoteResponse>(s.apply(net::TxnPrepareRequest{9, "b", write_b_read_a(0)})).yes);
  CHECK(body<net::TxnVoteResponse>(s.apply(net::TxnPrepareRequest{9, "b", write_b_read_a(0)})).yes);  // repeated
  CHECK_FALSE(body<net::TxnVoteResponse>(s.apply(net::TxnPrepareRequest{10, "b", write_b_read_a(0)})).yes);
  CHECK_FALSE(body<net::TxnOutcomeResponse>(s.apply(net::TxnResolveRequest{9, "b", false})).committed);
  CHECK_FALSE(s.value("b"));
  CHECK(s.sm().prepared_count() == 0);
  CHECK(body<net::TxnVoteResponse>(s.apply(net::TxnPrepareRequest{10, "b", write_b_read_a(0)})).yes);
}

TEST_CASE("state machine: the first decision recorded at the primary is final", "[txn][state_machine]") {
  Shard0 s;
  // Recovery records an abort first: the coordinator's commit then learns of the abort.
  CHECK_FALSE(body<net::TxnOutcomeResponse>(s.apply(net::TxnDecideRequest{11, "b", false})).committed);
  CHECK_FALSE(body<net::TxnOutcomeResponse>(s.apply(net::TxnDecideRequest{11, "b", true})).committed);
  // A commit recorded first: recovery learns of the commit (and rolls forward).
  CHECK(body<net::TxnOutcomeResponse>(s.apply(net::TxnDecideRequest{12, "b", true})).committed);
  CHECK(body<net::TxnOutcomeResponse>(s.apply(net::TxnDecideRequest{12, "b", false})).committed);
  // The record lives on the primary's shard only.
  CHECK(body<net::ErrorResponse>(s.apply(net::TxnDecideRequest{13, "zebra", true})).code == net::ErrorCode::kWrongShard);
  s.reload();  // records are durable state, not memory
  CHECK(body<net::TxnOutcomeResponse>(s.apply(net::TxnDecideRequest{12, "b", false})).committed);
  CHECK_FALSE(body<net::TxnOutcomeResponse>(s.apply(net::TxnDecideRequest{11, "b", true})).committed);
}

TEST_CASE("state machine: the primary's last resolve deletes the record", "[txn][state_machine]") {
  Shard0 s;
  CHECK(body<net::TxnVoteResponse>(s.apply(net::TxnPrepareRequest{16, "b", write_b_read_a(0)})).yes);
  CHECK(body<net::TxnOutcomeResponse>(s.apply(net::TxnDecideRequest{16, "b", true})).committed);
  net::TxnResolveRequest last{16, "b", true, true};
  CHECK(body<net::TxnOutcomeResponse>(s.apply(last)).committed);
  CHECK(s.value("b") == "new-b");
  // The record is gone: a (pointless) recovery now would record an abort, with no lock left
  // anywhere for it to roll back.
  CHECK_FALSE(body<net::TxnOutcomeResponse>(s.apply(net::TxnDecideRequest{16, "b", false})).committed);
  CHECK(s.value("b") == "new-b");
}

TEST_CASE("state machine: prepared transactions survive a reload with their locks", "[txn][state_machine]") {
  Shard0 s;
  CHECK(body<net::TxnVoteResponse>(s.apply(net::TxnPrepareRequest{14, "b", write_b_read_a(0)})).yes);
  s.reload();
  CHECK(s.sm().prepared_count() == 1);
  CHECK(s.sm().read_blocked(net::GetRequest{"b", false}));
  CHECK(s.sm().abandoned_txns(std::chrono::steady_clock::now() + std::chrono::seconds(1)).size() == 1);
  CHECK(s.sm().abandoned_txns(std::chrono::steady_clock::now() - std::chrono::seconds(60)).empty());
  CHECK(body<net::TxnOutcomeResponse>(s.apply(net::TxnResolveRequest{14, "b", true})).committed);
  CHECK(s.value("b") == "new-b");
}

TEST_CASE("state machine: a single-shard commit validates and applies in one entry", "[txn][state_machine]") {
  Shard0 s;
  body<net::PutResponse>(s.apply(net::PutRequest{"a", "v1", false}));
  const std::uint64_t va = s.version("a");
  const ApplyResult one = s.apply(net::TxnCommitRequest{write_b_read_a(va)});
  CHECK(body<net::TxnCommitResponse>(one).shards == 1);
  CHECK(body<net::TxnCommitResponse>(one).writes == std::vector<net::TxnRead>{{"b", one.index}});
  CHECK(s.value("b") == "new-b");
  CHECK(body<net::ErrorResponse>(s.apply(net::TxnCommitRequest{write_b_read_a(va - 1)})).code ==
        net::ErrorCode::kConflict);
  net::TxnFootprint outside;
  outside.writes.push_back({"zebra", std::string("x")});
  CHECK(body<net::ErrorResponse>(s.apply(net::TxnCommitRequest{outside})).code == net::ErrorCode::kWrongShard);
  // A prepared lock makes a one-entry commit on its keys a conflict (never a wait).
  CHECK(body<net::TxnVoteResponse>(s.apply(net::TxnPrepareRequest{15, "c", {{}, {}, {{"c", std::string("1")}}}})).yes);
  net::TxnFootprint on_c;
  on_c.writes.push_back({"c", std::string("2")});
  CHECK(body<net::ErrorResponse>(s.apply(net::TxnCommitRequest{on_c})).code == net::ErrorCode::kConflict);
}

}  // namespace
}  // namespace kv::server
