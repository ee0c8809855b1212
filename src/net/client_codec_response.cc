// Response <-> kv.capnp Response. Requests are in client_codec_request.cc.
#include <capnp/message.h>

#include <string>

#include "net/client_codec.h"
#include "net/detail/capnp_frame.h"
#include "net/detail/txn_codec.h"
#include "net/schema/kv.capnp.h"

namespace kv::net {

using detail::as_data;
using detail::DecodeError;
using detail::list_size;

namespace {

std::string bytes(capnp::Data::Reader data) { return detail::to_string(data); }

[[noreturn]] void unknown(const char* what, unsigned value) {
  throw DecodeError(std::string("unknown ") + what + " " + std::to_string(value));
}

// ---- enums

wire::ErrorCode to_wire(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInternal: return wire::ErrorCode::INTERNAL;
    case ErrorCode::kNotLeader: return wire::ErrorCode::NOT_LEADER;
    case ErrorCode::kTimeout: return wire::ErrorCode::TIMEOUT;
    case ErrorCode::kKeyTooLarge: return wire::ErrorCode::KEY_TOO_LARGE;
    case ErrorCode::kValueTooLarge: return wire::ErrorCode::VALUE_TOO_LARGE;
    case ErrorCode::kBadRequest: return wire::ErrorCode::BAD_REQUEST;
    case ErrorCode::kUnavailable: return wire::ErrorCode::UNAVAILABLE;
    case ErrorCode::kConflict: return wire::ErrorCode::CONFLICT;
    case ErrorCode::kTooManyRequests: return wire::ErrorCode::TOO_MANY_REQUESTS;
    case ErrorCode::kWrongShard: return wire::ErrorCode::WRONG_SHARD;
    case ErrorCode::kStaleSequence: return wire::ErrorCode::STALE_SEQUENCE;
    case ErrorCode::kUnsupported: return wire::ErrorCode::UNSUPPORTED;
  }
  KV_PANIC("ErrorCode out of range");
}
ErrorCode from_wire(wire::ErrorCode code) {
  switch (code) {
    case wire::ErrorCode::INTERNAL: return ErrorCode::kInternal;
    case wire::ErrorCode::NOT_LEADER: return ErrorCode::kNotLeader;
    case wire::ErrorCode::TIMEOUT: return ErrorCode::kTimeout;
    case wire::ErrorCode::KEY_TOO_LARGE: return ErrorCode::kKeyTooLarge;
    case wire::ErrorCode::VALUE_TOO_LARGE: return ErrorCode::kValueTooLarge;
    case wire::ErrorCode::BAD_REQUEST: return ErrorCode::kBadRequest;
    case wire::ErrorCode::UNAVAILABLE: return ErrorCode::kUnavailable;
    case wire::ErrorCode::CONFLICT: return ErrorCode::kConflict;
    case wire::ErrorCode::TOO_MANY_REQUESTS: return ErrorCode::kTooManyRequests;
    case wire::ErrorCode::WRONG_SHARD: return ErrorCode::kWrongShard;
    case wire::ErrorCode::STALE_SEQUENCE: return ErrorCode::kStaleSequence;
    case wire::ErrorCode::UNSUPPORTED: return ErrorCode::kUnsupported;
  }
  unknown("error code", static_cast<unsigned>(code));
}

wire::Role to_wire(ReplicaRole role) {
  switch (role) {
    case ReplicaRole::kFollower: return wire::Role::FOLLOWER;
    case ReplicaRole::kPreCandidate: return wire::Role::PRE_CANDIDATE;
    case ReplicaRole::kCandidate: return wire::Role::CANDIDATE;
    case ReplicaRole::kLeader: return wire::Role::LEADER;
    case ReplicaRole::kLearner: return wire::Role::LEARNER;
  }
  KV_PANIC("ReplicaRole out of range");
}
ReplicaRole from_wire(wire::Role role) {
  switch (role) {
    case wire::Role::FOLLOWER: return ReplicaRole::kFollower;
    case wire::Role::PRE_CANDIDATE: return ReplicaRole::kPreCandidate;
    case wire::Role::CANDIDATE: return ReplicaRole::kCandidate;
    case wire::Role::LEADER: return ReplicaRole::kLeader;
    case wire::Role::LEARNER: return ReplicaRole::kLearner;
  }
  unknown("replica role", static_cast<unsigned>(role));
}

// ---- leaf responses

void encode(const KeyValue& kv, wire::KeyValue::Builder out) {
  out.setKey(as_data(kv.key));
  out.setValue(as_data(kv.value));
  out.setVersion(kv.version);
}
KeyValue decode(wire::KeyValue::Reader in) {
  return {bytes(in.getKey()), bytes(in.getValue()), in.getVersion()};
}

void encode_kvs(const std::vector<KeyValue>& kvs, capnp::List<wire::KeyValue>::Builder out) {
  for (unsigned i = 0; i < out.size(); ++i) encode(kvs[i], out[i]);
}
std::vector<KeyValue> decode_kvs(capnp::List<wire::KeyValue>::Reader in) {
  std::vector<KeyValue> kvs;
  kvs.reserve(in.size());
  for (const auto kv : in) kvs.push_back(decode(kv));
  return kvs;
}

void encode(const ErrorResponse& e, wire::Error::Builder out) {
  out.setCode(to_wire(e.code));
  out.setMessage(e.message);
  auto hint = out.initLeaderHint();
  hint.setNodeId(e.leader_hint.node_id);
  hint.setClientAddr(e.leader_hint.client_addr);
}
ErrorResponse decode(wire::Error::Reader in) {
  const auto hint = in.getLeaderHint();
  return {from_wire(in.getCode()), detail::to_string(in.getMessage()),
          LeaderHint{hint.getNodeId(), detail::to_string(hint.getClientAddr())}};
}

void encode(const GetResponse& r, wire::GetResponse::Builder out) {
  out.setFound(r.found);
  out.setValue(as_data(r.value));
  out.setVersion(r.version);
}
GetResponse decode(wire::GetResponse::Reader in) {
  return {in.getFound(), bytes(in.getValue()), in.getVersion()};
}

void encode(const PutResponse& r, wire::PutResponse::Builder out) {
  out.setVersion(r.version);
  if (r.prev_kv) encode(*r.prev_kv, out.initPrevKv());
}
PutResponse decode(wire::PutResponse::Reader in) {
  PutResponse r{in.getVersion(), std::nullopt};
  if (in.hasPrevKv()) r.prev_kv = decode(in.getPrevKv());
  return r;
}

void encode(const DeleteResponse& r, wire::DeleteResponse::Builder out) {
  out.setDeleted(r.deleted);
  if (!r.prev_kvs.empty()) encode_kvs(r.prev_kvs, out.initPrevKvs(list_size(r.prev_kvs.size())));
}
DeleteResponse decode(wire::DeleteResponse::Reader in) {
  return {in.getDeleted(), decode_kvs(in.getPrevKvs())};
}

void encode(const RangeResponse& r, wire::RangeResponse::Builder out) {
  encode_kvs(r.kvs, out.initKvs(list_size(r.kvs.size())));
  out.setMore(r.more);
  out.setCount(r.count);
}
RangeResponse decode(wire::RangeResponse::Reader in) {
  return {decode_kvs(in.getKvs()), in.getMore(), in.getCount()};
}

void encode(const CasResponse& r, wire::CasResponse::Builder out) {
  out.setSucceeded(r.succeeded);
  out.setVersion(r.version);
  if (r.current) encode(*r.current, out.initCurrent());
}
CasResponse decode(wire::CasResponse::Reader in) {
  CasResponse r{in.getSucceeded(), in.getVersion(), std::nullopt};
  if (in.hasCurrent()) r.current = decode(in.getCurrent());
  return r;
}

// ---- status, members

void encode(const ShardStatus& s, wire::ShardStatus::Builder out) {
  out.setShard(s.shard);
  out.setLeader(s.leader);
  out.setTerm(s.term);
  out.setCommitIndex(s.commit_index);
  out.setAppliedIndex(s.applied_index);
  out.setRaftIndex(s.raft_index);
  out.setRole(to_wire(s.role));
  out.setStartKey(as_data(s.start_key));
  out.setEndKey(as_data(s.end_key));
}
ShardStatus decode(wire::ShardStatus::Reader in) {
  return {in.getShard(),     in.getLeader(),         in.getTerm(),
          in.getCommitIndex(), in.getAppliedIndex(), in.getRaftIndex(),
          from_wire(in.getRole()), bytes(in.getStartKey()), bytes(in.getEndKey())};
}

void encode(const StatusResponse& r, wire::StatusResponse::Builder out) {
  out.setNodeId(r.node_id);
  out.setLeader(r.leader);
  out.setTerm(r.term);
  out.setCommitIndex(r.commit_index);
  out.setAppliedIndex(r.applied_index);
  out.setRaftIndex(r.raft_index);
  out.setVersion(r.version);
  out.setDbSizeBytes(r.db_size_bytes);
  auto shards = out.initShards(list_size(r.shards.size()));
  for (unsigned i = 0; i < shards.size(); ++i) encode(r.shards[i], shards[i]);
}
StatusResponse decode(wire::StatusResponse::Reader in) {
  StatusResponse r{in.getNodeId(),       in.getLeader(),       in.getTerm(),
                   in.getCommitIndex(),  in.getAppliedIndex(), in.getRaftIndex(),
                   detail::to_string(in.getVersion()), in.getDbSizeBytes(), {}};
  const auto shards = in.getShards();
  r.shards.reserve(shards.size());
  for (const auto s : shards) r.shards.push_back(decode(s));
  return r;
}

void encode(const MembersResponse& r, wire::MembersResponse::Builder out) {
  detail::encode_members(r.members, out.initMembers(list_size(r.members.size())));
}
MembersResponse decode(wire::MembersResponse::Reader in) { return {detail::decode_members(in.getMembers())}; }

// ---- transactions

void encode(const TxnResponse& r, wire::TxnResponse::Builder out) {
  out.setSucceeded(r.succeeded);
  auto results = out.initResults(list_size(r.results.size()));
  for (unsigned i = 0; i < results.size(); ++i) {
    auto w = results[i];
    std::visit(
        [&w](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, GetResponse>) encode(x, w.initGet());
          else if constexpr (std::is_same_v<T, PutResponse>) encode(x, w.initPut());
          else if constexpr (std::is_same_v<T, DeleteResponse>) encode(x, w.initDelete());
          else encode(x, w.initRange());
        },
        r.results[i]);
  }
}
TxnOpResult decode(wire::TxnOpResult::Reader in) {
  switch (in.which()) {
    case wire::TxnOpResult::GET: return decode(in.getGet());
    case wire::TxnOpResult::PUT: return decode(in.getPut());
    case wire::TxnOpResult::DELETE: return decode(in.getDelete());
    case wire::TxnOpResult::RANGE: return decode(in.getRange());
  }
  unknown("txn op result", static_cast<unsigned>(in.which()));
}
TxnResponse decode(wire::TxnResponse::Reader in) {
  TxnResponse r;
  r.succeeded = in.getSucceeded();
  const auto results = in.getResults();
  r.results.reserve(results.size());
  for (const auto x : results) r.results.push_back(decode(x));
  return r;
}

// ---- the response envelope

void encode_body(const ResponseBody& body, wire::Response::Builder out) {
  std::visit(
      [&out](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, ErrorResponse>) encode(r, out.initError());
        else if constexpr (std::is_same_v<T, GetResponse>) encode(r, out.initGet());
        else if constexpr (std::is_same_v<T, PutResponse>) encode(r, out.initPut());
        else if constexpr (std::is_same_v<T, DeleteResponse>) encode(r, out.initDelete());
        else if constexpr (std::is_same_v<T, RangeResponse>) encode(r, out.initRange());
        else if constexpr (std::is_same_v<T, CasResponse>) encode(r, out.initCas());
        else if constexpr (std::is_same_v<T, StatusResponse>) encode(r, out.initStatus());
        else if constexpr (std::is_same_v<T, MembersResponse>) encode(r, out.initMembers());
        else if constexpr (std::is_same_v<T, TxnResponse>) encode(r, out.initTxn());
        else if constexpr (std::is_same_v<T, TxnCommitResponse>) detail::encode(r, out.initTxnCommit());
        else if constexpr (std::is_same_v<T, TxnVoteResponse>) detail::encode(r, out.initTxnVote());
        else if constexpr (std::is_same_v<T, TxnOutcomeResponse>) detail::encode(r, out.initTxnOutcome());
        else if constexpr (std::is_same_v<T, ShardMapResponse>) detail::encode(r, out.initShardMap());
        else out.setAck();
      },
      body);
}

ResponseBody decode_body(wire::Response::Reader in) {
  switch (in.which()) {
    case wire::Response::ERROR: return decode(in.getError());
    case wire::Response::GET: return decode(in.getGet());
    case wire::Response::PUT: return decode(in.getPut());
    case wire::Response::DELETE: return decode(in.getDelete());
    case wire::Response::RANGE: return decode(in.getRange());
    case wire::Response::CAS: return decode(in.getCas());
    case wire::Response::STATUS: return decode(in.getStatus());
    case wire::Response::MEMBERS: return decode(in.getMembers());
    case wire::Response::TXN: return decode(in.getTxn());
    case wire::Response::TXN_COMMIT: return detail::decode(in.getTxnCommit());
    case wire::Response::TXN_VOTE: return detail::decode(in.getTxnVote());
    case wire::Response::TXN_OUTCOME: return detail::decode(in.getTxnOutcome());
    case wire::Response::SHARD_MAP: return detail::decode(in.getShardMap());
    case wire::Response::ACK: return AckResponse{};
  }
  unknown("response kind", static_cast<unsigned>(in.which()));
}

std::size_t estimate_words(const ResponseBody& body) {
  std::size_t total = 256;
  if (const auto* get = std::get_if<GetResponse>(&body)) total += get->value.size();
  if (const auto* range = std::get_if<RangeResponse>(&body)) {
    for (const KeyValue& kv : range->kvs) total += 48 + kv.key.size() + kv.value.size();
  }
  if (const auto* map = std::get_if<ShardMapResponse>(&body)) total += 128 * (map->shards.size() + map->members.size());
  return total / kWordBytes;
}

}  // namespace

EncodedFrame encode_response(const Response& response) {
  capnp::MallocMessageBuilder builder(static_cast<unsigned>(estimate_words(response.body)));
  auto out = builder.initRoot<wire::Response>();
  out.setId(response.id);
  encode_body(response.body, out);
  return detail::finish_frame(FrameKind::kClientResponse, builder);
}

Result<Response> decode_response(std::span<const std::uint64_t> payload) {
  return detail::decode_payload<Response>(payload, "Response", [](capnp::MessageReader& reader) {
    auto in = reader.getRoot<wire::Response>();
    return Response{in.getId(), decode_body(in)};
  });
}

std::optional<std::uint64_t> peek_response_id(std::span<const std::uint64_t> payload) {
  auto id = detail::decode_payload<std::uint64_t>(
      payload, "Response", [](capnp::MessageReader& reader) {
        return reader.getRoot<wire::Response>().getId();
      });
  if (!id.ok()) return std::nullopt;
  return id.value();
}

}  // namespace kv::net
