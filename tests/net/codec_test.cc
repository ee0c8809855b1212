// Codec round trips for every peer and client message type, and rejection of values the
// decoder does not know (unknown enum values and union tags must be errors, not UB).
#include <capnp/any.h>
#include <capnp/message.h>
#include <catch2/catch.hpp>

#include <functional>

#include "net/client_codec.h"
#include "net/detail/capnp_frame.h"
#include "net/raft_codec.h"
#include "net/schema/kv.capnp.h"
#include "net/schema/raft.capnp.h"
#include "test_util.h"

namespace kv::net {
namespace {

using test::binary;

raft::Message full_message(raft::MessageType type) {
  raft::Message m;
  m.type = type;
  m.from = 1;
  m.to = 2;
  m.term = 7;
  m.log_term = 6;
  m.index = 100;
  m.entries = {raft::Entry{6, 101, raft::EntryType::kNormal, binary(33, 1)},
               raft::Entry{7, 102, raft::EntryType::kConfChange, std::string("\0cc\0", 4)},
               raft::Entry{7, 103, raft::EntryType::kNormal, ""}};
  m.commit = 99;
  m.reject = true;
  m.reject_hint = 42;
  raft::Snapshot snap;
  snap.meta.index = 50;
  snap.meta.term = 5;
  snap.meta.conf.voters = {1, 2, 3};
  snap.meta.conf.voters_outgoing = {1, 2, 4};
  snap.meta.conf.learners = {5};
  snap.data = binary(1000, 3);
  m.snapshot = snap;
  m.context = std::string("ctx\0\xff", 5);
  return m;
}

template <class T>
T value_of(Result<T> r) {
  INFO(r.error());
  REQUIRE(r.ok());
  return std::move(r).value();
}

Request round_trip(const Request& in) {
  EncodedFrame frame = encode_request(in);
  REQUIRE(frame.kind() == FrameKind::kClientRequest);
  return value_of(decode_request(frame.payload()));
}

Response round_trip(const Response& in) {
  EncodedFrame frame = encode_response(in);
  REQUIRE(frame.kind() == FrameKind::kClientResponse);
  return value_of(decode_response(frame.payload()));
}

TEST_CASE("every Raft message type survives a PeerBatch round trip", "[net][codec]") {
  std::vector<GroupMessage> messages;
  for (int t = 0; t < raft::kMessageTypeCount; ++t) {
    messages.push_back(GroupMessage{static_cast<GroupId>(1000 + t),
                                    full_message(static_cast<raft::MessageType>(t))});
    // And the sparse form: defaults, no entries, no snapshot, empty context.
    raft::Message sparse;
    sparse.type = static_cast<raft::MessageType>(t);
    sparse.from = 1;
    sparse.to = 2;
    messages.push_back(GroupMessage{static_cast<GroupId>(t), sparse});
  }
  EncodedFrame frame = encode_peer_batch(1, 0xC1u, messages);
  CHECK(frame.kind() == FrameKind::kPeerBatch);
  CHECK(frame.size_bytes() % 8 == 0);
  PeerBatch batch = value_of(decode_peer_batch(frame.payload()));
  CHECK(batch.from == 1);
  CHECK(batch.cluster_id == 0xC1u);
  REQUIRE(batch.messages.size() == messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    INFO("message " << i << " " << raft::to_string(messages[i].message.type));
    CHECK(batch.messages[i] == messages[i]);
  }
  CHECK_FALSE(batch.messages[1].message.snapshot.has_value());
  // An empty snapshot (index 0, no data) is still present, not collapsed to "none".
  raft::Message empty_snap = full_message(raft::MessageType::kSnapshot);
  empty_snap.snapshot = raft::Snapshot{};
  std::vector<GroupMessage> one{GroupMessage{9, empty_snap}};
  PeerBatch b2 = value_of(decode_peer_batch(encode_peer_batch(1, 2, one).payload()));
  REQUIRE(b2.messages.size() == 1);
  CHECK(b2.messages[0].message.snapshot.has_value());
  CHECK(b2.messages[0] == one[0]);
}

TEST_CASE("estimate_encoded_bytes bounds the real encoding of large messages", "[net][codec]") {
  raft::Message m = full_message(raft::MessageType::kAppend);
  for (int i = 0; i < 100; ++i) m.entries.push_back(raft::Entry{7, 200u + i, {}, binary(100)});
  std::vector<GroupMessage> one{GroupMessage{1, m}};
  const std::size_t real = encode_peer_batch(1, 2, one).payload().size_bytes();
  const std::size_t estimate = estimate_encoded_bytes(m);
  CHECK(estimate >= real - 64);  // the batch envelope is not part of the message estimate
  CHECK(estimate <= 2 * real);
}

TEST_CASE("peer handshake and snapshot chunk round trips", "[net][codec]") {
  PeerHello hello{kPeerProtocolVersion, 0xABCDEFu, 3, 4};
  CHECK(value_of(decode_peer_hello(encode_peer_hello(hello).payload())) == hello);
  for (auto status : {HandshakeStatus::kOk, HandshakeStatus::kWrongCluster, HandshakeStatus::kWrongNode,
                      HandshakeStatus::kUnsupportedVersion, HandshakeStatus::kBadHello}) {
    PeerHelloAck ack{status, kPeerProtocolVersion, 77, 4, status == HandshakeStatus::kOk ? "" : "why"};
    CHECK(value_of(decode_peer_hello_ack(encode_peer_hello_ack(ack).payload())) == ack);
  }
  SnapshotChunk chunk{12, 500, 9, 3, binary(70000, 9), true};
  EncodedFrame frame = encode_snapshot_chunk(chunk);
  CHECK(frame.kind() == FrameKind::kSnapshotChunk);
  CHECK(value_of(decode_snapshot_chunk(frame.payload())) == chunk);
}

TEST_CASE("check_hello accepts only our cluster, our node id and our version", "[net][codec]") {
  const PeerHello good{kPeerProtocolVersion, 5, 1, 2};
  CHECK(check_hello(good, 5, 2) == HandshakeStatus::kOk);
  CHECK(check_hello(good, 6, 2) == HandshakeStatus::kWrongCluster);
  CHECK(check_hello(good, 5, 3) == HandshakeStatus::kWrongNode);
  CHECK(check_hello(PeerHello{kPeerProtocolVersion + 1, 5, 1, 2}, 5, 2) ==
        HandshakeStatus::kUnsupportedVersion);
  CHECK(check_hello(PeerHello{kPeerProtocolVersion, 5, 0, 2}, 5, 2) == HandshakeStatus::kBadHello);
  CHECK(check_hello(PeerHello{kPeerProtocolVersion, 5, 2, 2}, 5, 2) == HandshakeStatus::kBadHello);
}

std::vector<TxnOp> all_txn_ops() {
  return {GetRequest{binary(3), true}, PutRequest{binary(4), binary(500), true},
          DeleteRequest{"a", prefix_end("a"), true}, RangeRequest{"a", "z", 10, true, true, false}};
}

TEST_CASE("every request kind survives a round trip", "[net][codec]") {
  std::vector<RequestOp> ops = {
      GetRequest{binary(10), true},
      PutRequest{binary(300, 1), binary(100000, 2), true},
      DeleteRequest{"k", "", false},
      DeleteRequest{"pre", prefix_end("pre"), true},
      RangeRequest{"", std::string(1, '\0'), 0, false, false, true},
      RangeRequest{binary(5), binary(6), 1000, true, true, false},
      CasRequest{"k", CompareVersion{17}, CasPut{binary(64)}},
      CasRequest{"k", CompareValue{binary(9)}, CasDelete{}},
      CasRequest{"k", CompareAbsent{}, CasPut{""}},
      StatusRequest{},
      MembersRequest{},
      TxnRequest{},
      TxnRequest{{TxnCompare{"a", CompareOp::kEqual, CompareVersion{0}},
                  TxnCompare{"b", CompareOp::kNotEqual, CompareValue{"x"}},
                  TxnCompare{"c", CompareOp::kLess, CompareVersion{9}},
                  TxnCompare{"d", CompareOp::kGreater, CompareAbsent{}}},
                 all_txn_ops(), all_txn_ops()},
      TxnCommitRequest{},
      TxnCommitRequest{TxnFootprint{{TxnRead{"a", 3}, TxnRead{binary(7), 0}},
                                    {TxnRangeRead{"k", "l", {TxnRead{"k1", 4}}}, TxnRangeRead{"z", std::string(1, '\0'), {}}},
                                    {TxnWrite{"a", std::string("v")}, TxnWrite{"b", std::nullopt}, TxnWrite{"c", ""}}}},
      TxnPrepareRequest{0xFEEDu, "a", TxnFootprint{{TxnRead{"a", 9}}, {}, {TxnWrite{"a", binary(100)}}}},
      TxnDecideRequest{7, "primary", true},
      TxnDecideRequest{8, "", false},
      TxnResolveRequest{9, "k", true, false},
      TxnResolveRequest{10, "k", false, true},
      ShardMapRequest{},
      ShardLeaderRequest{3, 2, 17},
  };
  static_assert(std::variant_size_v<RequestOp> == 14, "a new request kind needs a round trip here");
  std::uint64_t id = 1;
  for (const RequestOp& op : ops) {
    Request in{id, 0xC11E47u, id * 3, static_cast<std::uint32_t>(id * 100), op};
    INFO("op " << op_name(op) << " #" << id);
    CHECK(round_trip(in) == in);
    ++id;
  }
  CHECK(is_write(PutRequest{}));
  CHECK(is_write(TxnRequest{}));
  CHECK(is_write(TxnCommitRequest{}));
  CHECK(is_write(TxnPrepareRequest{}));
  CHECK(is_write(TxnDecideRequest{}));
  CHECK(is_write(TxnResolveRequest{}));
  CHECK(is_write(ShardLeaderRequest{}));
  CHECK_FALSE(is_write(GetRequest{}));
  CHECK_FALSE(is_write(RangeRequest{}));
  CHECK_FALSE(is_write(ShardMapRequest{}));
}

TEST_CASE("every response kind survives a round trip", "[net][codec]") {
  const KeyValue kv{binary(8), binary(200), 33};
  std::vector<ResponseBody> bodies = {
      ErrorResponse{ErrorCode::kNotLeader, "not the leader", LeaderHint{3, "10.0.0.3:7001"}},
      GetResponse{true, binary(1000), 5},
      GetResponse{false, "", 0},
      PutResponse{6, std::nullopt},
      PutResponse{6, kv},
      DeleteResponse{2, {kv, kv}},
      DeleteResponse{0, {}},
      RangeResponse{{kv, KeyValue{"a", "", 1}}, true, 1000},
      CasResponse{true, 8, std::nullopt},
      CasResponse{false, 0, kv},
      StatusResponse{1, 2, 3, 4, 5, 6, "0.1.0", 1 << 20,
                     {ShardStatus{0, 2, 3, 4, 5, 6, ReplicaRole::kLeader, "", "m"},
                      ShardStatus{1, 3, 3, 9, 9, 9, ReplicaRole::kLearner, "m", ""}}},
      MembersResponse{{Member{1, "h1:1", "h1:2"}, Member{2, "h2:1", "h2:2"}}},
      TxnResponse{true, {GetResponse{true, "v", 1}, PutResponse{2, kv}, DeleteResponse{1, {}},
                         RangeResponse{{kv}, false, 1}}},
      TxnCommitResponse{0xABCDu, 3, {}},
      TxnCommitResponse{1, 2, {TxnRead{"a", 17}, TxnRead{"b", 0}}},
      TxnVoteResponse{true, "", 42},
      TxnVoteResponse{false, "key 'a' is locked", 0},
      TxnOutcomeResponse{true},
      TxnOutcomeResponse{false},
      ShardMapResponse{{ShardInfo{0, "", "m", {1, 2, 3}, 2, 5}, ShardInfo{1, "m", "", {2, 3, 4}, 0, 0}},
                       {Member{1, "h1:1", "h1:2"}}},
      AckResponse{},
  };
  static_assert(std::variant_size_v<ResponseBody> == 14, "a new response kind needs a round trip here");
  for (int code = 0; code < kErrorCodeCount; ++code) {
    bodies.push_back(ErrorResponse{static_cast<ErrorCode>(code), to_string(static_cast<ErrorCode>(code)), {}});
  }
  std::uint64_t id = 100;
  for (const ResponseBody& body : bodies) {
    Response in{id++, body};
    INFO("body index " << body.index() << " id " << in.id);
    CHECK(round_trip(in) == in);
  }
}

// ---- values the decoder does not know

template <class Root>
std::vector<std::uint64_t> finish(capnp::MallocMessageBuilder& builder, FrameKind kind) {
  EncodedFrame frame = detail::finish_frame(kind, builder);
  return {frame.payload().begin(), frame.payload().end()};
}

// Builds a message twice with two different union members (build(root, which)) and finds the
// union's tag as the first 16-bit slot where the two data sections differ; then encodes the
// first form with that tag overwritten by `tag`. The union under test is in the struct that
// build() returns.
template <class Root>
std::vector<std::uint64_t> with_union_tag(
    const std::function<capnp::AnyStruct::Builder(typename Root::Builder, int which)>& build,
    FrameKind kind, std::uint16_t tag) {
  capnp::MallocMessageBuilder a, b;
  auto da = build(a.initRoot<Root>(), 0).getDataSection();
  auto db = build(b.initRoot<Root>(), 1).getDataSection();
  REQUIRE(da.size() == db.size());
  std::size_t offset = da.size();
  for (std::size_t i = 0; i + 1 < da.size(); i += 2) {
    if (da[i] != db[i] || da[i + 1] != db[i + 1]) {
      offset = i;
      break;
    }
  }
  REQUIRE(offset < da.size());
  da[offset] = static_cast<kj::byte>(tag & 0xFF);
  da[offset + 1] = static_cast<kj::byte>(tag >> 8);
  return finish<Root>(a, kind);
}

TEST_CASE("unknown union tags are decode errors", "[net][codec]") {
  auto request_top = [](wire::Request::Builder r, int which) -> capnp::AnyStruct::Builder {
    r.setId(5);
    if (which == 0) r.initGet(); else r.initPut();
    return r;
  };
  auto bad = with_union_tag<wire::Request>(request_top, FrameKind::kClientRequest, 99);
  Result<Request> decoded = decode_request(bad);
  CHECK_FALSE(decoded.ok());
  CHECK_THAT(decoded.error(), Catch::Contains("unknown request kind 99"));
  CHECK(peek_request_id(bad) == std::optional<std::uint64_t>(5));  // still answerable

  auto cas_compare = [](wire::Request::Builder r, int which) -> capnp::AnyStruct::Builder {
    auto cas = r.initCas();
    auto target = cas.initCompare();
    if (which == 0) target.setAbsent(); else target.setValue(capnp::Data::Reader());
    return target;
  };
  CHECK_FALSE(decode_request(with_union_tag<wire::Request>(cas_compare, FrameKind::kClientRequest, 7)).ok());

  auto txn_op = [](wire::Request::Builder r, int which) -> capnp::AnyStruct::Builder {
    auto op = r.initTxn().initSuccess(1)[0];
    if (which == 0) op.initGet(); else op.initRange();
    return op;
  };
  CHECK_FALSE(decode_request(with_union_tag<wire::Request>(txn_op, FrameKind::kClientRequest, 4)).ok());

  auto response_top = [](wire::Response::Builder r, int which) -> capnp::AnyStruct::Builder {
    if (which == 0) r.initError(); else r.initTxn();
    return r;
  };
  auto bad_response = with_union_tag<wire::Response>(response_top, FrameKind::kClientResponse, 99);
  CHECK_THAT(decode_response(bad_response).error(), Catch::Contains("unknown response kind 99"));
}

TEST_CASE("decode failures say whether the message itself was valid", "[net][codec]") {
  capnp::MallocMessageBuilder b;
  auto req = b.initRoot<wire::Request>();
  req.setId(77);
  req.initTxn().initCompares(1)[0].setOp(static_cast<wire::CompareOp>(4));
  auto unsupported = finish<wire::Request>(b, FrameKind::kClientRequest);
  Result<Request> r = decode_request(unsupported);
  CHECK(r.failure_kind() == FailureKind::kUnsupported);
  CHECK(peek_request_id(unsupported) == std::optional<std::uint64_t>(77));

  std::vector<std::uint64_t> truncated = unsupported;
  truncated.pop_back();
  CHECK(decode_request(truncated).failure_kind() == FailureKind::kMalformed);
  CHECK(peek_request_id(truncated) == std::nullopt);

  EncodedFrame response = encode_response(Response{88, GetResponse{}});
  CHECK(peek_response_id(response.payload()) == std::optional<std::uint64_t>(88));
}

TEST_CASE("unknown enum values are decode errors", "[net][codec]") {
  {
    capnp::MallocMessageBuilder b;
    auto batch = b.initRoot<wire::PeerBatch>();
    batch.initMessages(1)[0].initMessage().setType(static_cast<wire::MessageType>(12));
    CHECK_THAT(decode_peer_batch(finish<wire::PeerBatch>(b, FrameKind::kPeerBatch)).error(),
               Catch::Contains("unknown Raft message type 12"));
  }
  {
    capnp::MallocMessageBuilder b;
    auto msg = b.initRoot<wire::PeerBatch>().initMessages(1)[0].initMessage();
    msg.initEntries(1)[0].setType(static_cast<wire::EntryType>(2));
    CHECK_THAT(decode_peer_batch(finish<wire::PeerBatch>(b, FrameKind::kPeerBatch)).error(),
               Catch::Contains("unknown entry type 2"));
  }
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::HelloAck>().setStatus(static_cast<wire::HandshakeStatus>(40));
    CHECK_FALSE(decode_peer_hello_ack(finish<wire::HelloAck>(b, FrameKind::kPeerHelloAck)).ok());
  }
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Response>().initError().setCode(static_cast<wire::ErrorCode>(kErrorCodeCount));
    CHECK_THAT(decode_response(finish<wire::Response>(b, FrameKind::kClientResponse)).error(),
               Catch::Contains("unknown error code"));
  }
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Response>().initStatus().initShards(1)[0].setRole(static_cast<wire::Role>(5));
    CHECK_FALSE(decode_response(finish<wire::Response>(b, FrameKind::kClientResponse)).ok());
  }
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Request>().initTxn().initCompares(1)[0].setOp(static_cast<wire::CompareOp>(4));
    CHECK_THAT(decode_request(finish<wire::Request>(b, FrameKind::kClientRequest)).error(),
               Catch::Contains("unknown compare op 4"));
  }
}

TEST_CASE("a transaction with too many operations is refused at decode", "[net][codec]") {
  TxnRequest txn;
  txn.success.assign(1025, GetRequest{"k", false});
  EncodedFrame frame = encode_request(Request{1, 0, 0, 0, txn});
  CHECK_THAT(decode_request(frame.payload()).error(), Catch::Contains("more than 1024"));
}

TEST_CASE("prefix_end", "[net][codec]") {
  CHECK(prefix_end("ab") == "ac");
  CHECK(prefix_end(std::string("a\xff", 2)) == "b");
  CHECK(prefix_end(std::string("\xff\xff", 2)) == std::string(1, '\0'));
  CHECK(prefix_end("") == std::string(1, '\0'));
}

}  // namespace
}  // namespace kv::net
