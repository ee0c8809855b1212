// Request <-> kv.capnp Request. Responses are in client_codec_response.cc.
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

// A transaction with more operations than this is refused at decode time: it bounds the
// memory a small forged frame can make us allocate (capnp lets a list of empty structs
// claim one element per word of traversal budget).
constexpr std::size_t kMaxTxnListSize = 1024;

std::string bytes(capnp::Data::Reader data) { return detail::to_string(data); }

// ---- leaf requests

void encode(const GetRequest& r, wire::GetRequest::Builder out) {
  out.setKey(as_data(r.key));
  out.setSerializable(r.serializable);
}
GetRequest decode(wire::GetRequest::Reader in) { return {bytes(in.getKey()), in.getSerializable()}; }

void encode(const PutRequest& r, wire::PutRequest::Builder out) {
  out.setKey(as_data(r.key));
  out.setValue(as_data(r.value));
  out.setPrevKv(r.prev_kv);
}
PutRequest decode(wire::PutRequest::Reader in) {
  return {bytes(in.getKey()), bytes(in.getValue()), in.getPrevKv()};
}

void encode(const DeleteRequest& r, wire::DeleteRequest::Builder out) {
  out.setKey(as_data(r.key));
  out.setRangeEnd(as_data(r.range_end));
  out.setPrevKv(r.prev_kv);
}
DeleteRequest decode(wire::DeleteRequest::Reader in) {
  return {bytes(in.getKey()), bytes(in.getRangeEnd()), in.getPrevKv()};
}

void encode(const RangeRequest& r, wire::RangeRequest::Builder out) {
  out.setStart(as_data(r.start));
  out.setEnd(as_data(r.end));
  out.setLimit(r.limit);
  out.setSerializable(r.serializable);
  out.setKeysOnly(r.keys_only);
  out.setCountOnly(r.count_only);
}
RangeRequest decode(wire::RangeRequest::Reader in) {
  return {bytes(in.getStart()), bytes(in.getEnd()),      in.getLimit(),
          in.getSerializable(), in.getKeysOnly(), in.getCountOnly()};
}

void encode(const CompareTarget& t, wire::CompareTarget::Builder out) {
  if (const auto* v = std::get_if<CompareVersion>(&t)) {
    out.setVersion(v->version);
  } else if (const auto* val = std::get_if<CompareValue>(&t)) {
    out.setValue(as_data(val->value));
  } else {
    out.setAbsent();
  }
}
CompareTarget decode(wire::CompareTarget::Reader in) {
  switch (in.which()) {
    case wire::CompareTarget::VERSION: return CompareVersion{in.getVersion()};
    case wire::CompareTarget::VALUE: return CompareValue{bytes(in.getValue())};
    case wire::CompareTarget::ABSENT: return CompareAbsent{};
  }
  throw DecodeError("unknown compare target " + std::to_string(static_cast<unsigned>(in.which())));
}

void encode(const CasRequest& r, wire::CasRequest::Builder out) {
  out.setKey(as_data(r.key));
  encode(r.compare, out.initCompare());
  if (const auto* put = std::get_if<CasPut>(&r.then)) {
    out.getThen().setPut(as_data(put->value));
  } else {
    out.getThen().setDelete();
  }
}
CasRequest decode(wire::CasRequest::Reader in) {
  CasRequest r;
  r.key = bytes(in.getKey());
  r.compare = decode(in.getCompare());
  const auto then = in.getThen();
  switch (then.which()) {
    case wire::CasRequest::Then::PUT: r.then = CasPut{bytes(then.getPut())}; return r;
    case wire::CasRequest::Then::DELETE: r.then = CasDelete{}; return r;
  }
  throw DecodeError("unknown cas action " + std::to_string(static_cast<unsigned>(then.which())));
}

// ---- transactions

wire::CompareOp to_wire(CompareOp op) {
  switch (op) {
    case CompareOp::kEqual: return wire::CompareOp::EQUAL;
    case CompareOp::kNotEqual: return wire::CompareOp::NOT_EQUAL;
    case CompareOp::kLess: return wire::CompareOp::LESS;
    case CompareOp::kGreater: return wire::CompareOp::GREATER;
  }
  KV_PANIC("CompareOp out of range");
}
CompareOp from_wire(wire::CompareOp op) {
  switch (op) {
    case wire::CompareOp::EQUAL: return CompareOp::kEqual;
    case wire::CompareOp::NOT_EQUAL: return CompareOp::kNotEqual;
    case wire::CompareOp::LESS: return CompareOp::kLess;
    case wire::CompareOp::GREATER: return CompareOp::kGreater;
  }
  throw DecodeError("unknown compare op " + std::to_string(static_cast<unsigned>(op)));
}

void encode_ops(const std::vector<TxnOp>& ops, capnp::List<wire::TxnOp>::Builder out) {
  for (unsigned i = 0; i < out.size(); ++i) {
    auto w = out[i];
    std::visit(
        [&w](const auto& op) {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, GetRequest>) encode(op, w.initGet());
          else if constexpr (std::is_same_v<T, PutRequest>) encode(op, w.initPut());
          else if constexpr (std::is_same_v<T, DeleteRequest>) encode(op, w.initDelete());
          else encode(op, w.initRange());
        },
        ops[i]);
  }
}

template <class List>
void check_txn_list(const List& list, const char* what) {
  if (list.size() > kMaxTxnListSize) {
    throw DecodeError(std::string("transaction ") + what + " list has " +
                      std::to_string(list.size()) + " entries, more than " +
                      std::to_string(kMaxTxnListSize));
  }
}

std::vector<TxnOp> decode_ops(capnp::List<wire::TxnOp>::Reader in) {
  check_txn_list(in, "op");
  std::vector<TxnOp> ops;
  ops.reserve(in.size());
  for (const auto op : in) {
    switch (op.which()) {
      case wire::TxnOp::GET: ops.emplace_back(decode(op.getGet())); break;
      case wire::TxnOp::PUT: ops.emplace_back(decode(op.getPut())); break;
      case wire::TxnOp::DELETE: ops.emplace_back(decode(op.getDelete())); break;
      case wire::TxnOp::RANGE: ops.emplace_back(decode(op.getRange())); break;
      default:
        throw DecodeError("unknown txn op " + std::to_string(static_cast<unsigned>(op.which())));
    }
  }
  return ops;
}

void encode(const TxnRequest& r, wire::TxnRequest::Builder out) {
  auto compares = out.initCompares(list_size(r.compares.size()));
  for (unsigned i = 0; i < compares.size(); ++i) {
    compares[i].setKey(as_data(r.compares[i].key));
    compares[i].setOp(to_wire(r.compares[i].op));
    encode(r.compares[i].target, compares[i].initTarget());
  }
  encode_ops(r.success, out.initSuccess(list_size(r.success.size())));
  encode_ops(r.failure, out.initFailure(list_size(r.failure.size())));
}
TxnRequest decode(wire::TxnRequest::Reader in) {
  TxnRequest r;
  const auto compares = in.getCompares();
  check_txn_list(compares, "compare");
  r.compares.reserve(compares.size());
  for (const auto c : compares) {
    r.compares.push_back(TxnCompare{bytes(c.getKey()), from_wire(c.getOp()), decode(c.getTarget())});
  }
  r.success = decode_ops(in.getSuccess());
  r.failure = decode_ops(in.getFailure());
  return r;
}

// ---- the request envelope

void encode_op(const RequestOp& op, wire::Request::Builder out) {
  std::visit(
      [&out](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, GetRequest>) encode(r, out.initGet());
        else if constexpr (std::is_same_v<T, PutRequest>) encode(r, out.initPut());
        else if constexpr (std::is_same_v<T, DeleteRequest>) encode(r, out.initDelete());
        else if constexpr (std::is_same_v<T, RangeRequest>) encode(r, out.initRange());
        else if constexpr (std::is_same_v<T, CasRequest>) encode(r, out.initCas());
        else if constexpr (std::is_same_v<T, StatusRequest>) out.initStatus();
        else if constexpr (std::is_same_v<T, MembersRequest>) out.initMembers();
        else if constexpr (std::is_same_v<T, TxnRequest>) encode(r, out.initTxn());
        else if constexpr (std::is_same_v<T, TxnCommitRequest>) detail::encode(r, out.initTxnCommit());
        else if constexpr (std::is_same_v<T, TxnPrepareRequest>) detail::encode(r, out.initTxnPrepare());
        else if constexpr (std::is_same_v<T, TxnDecideRequest>) detail::encode(r, out.initTxnDecide());
        else if constexpr (std::is_same_v<T, TxnResolveRequest>) detail::encode(r, out.initTxnResolve());
        else if constexpr (std::is_same_v<T, ShardMapRequest>) out.initShardMap();
        else {
          auto leader = out.initShardLeader();
          leader.setShard(r.shard);
          leader.setLeader(r.leader);
          leader.setTerm(r.term);
        }
      },
      op);
}

RequestOp decode_op(wire::Request::Reader in) {
  switch (in.which()) {
    case wire::Request::GET: return decode(in.getGet());
    case wire::Request::PUT: return decode(in.getPut());
    case wire::Request::DELETE: return decode(in.getDelete());
    case wire::Request::RANGE: return decode(in.getRange());
    case wire::Request::CAS: return decode(in.getCas());
    case wire::Request::STATUS: return StatusRequest{};
    case wire::Request::MEMBERS: return MembersRequest{};
    case wire::Request::TXN: return decode(in.getTxn());
    case wire::Request::TXN_COMMIT: return detail::decode(in.getTxnCommit());
    case wire::Request::TXN_PREPARE: return detail::decode(in.getTxnPrepare());
    case wire::Request::TXN_DECIDE: return detail::decode(in.getTxnDecide());
    case wire::Request::TXN_RESOLVE: return detail::decode(in.getTxnResolve());
    case wire::Request::SHARD_MAP: return ShardMapRequest{};
    case wire::Request::SHARD_LEADER: {
      const auto leader = in.getShardLeader();
      return ShardLeaderRequest{leader.getShard(), leader.getLeader(), leader.getTerm()};
    }
  }
  throw DecodeError("unknown request kind " + std::to_string(static_cast<unsigned>(in.which())));
}

std::size_t estimate_words(const Request& request) {
  // Key/value bytes dominate; the rest is a few words per field.
  std::size_t bytes_total = 256;
  std::visit(
      [&bytes_total](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, PutRequest>) bytes_total += r.key.size() + r.value.size();
        else if constexpr (std::is_same_v<T, GetRequest>) bytes_total += r.key.size();
        else if constexpr (std::is_same_v<T, CasRequest>) bytes_total += 2 * r.key.size() + 64;
        else if constexpr (std::is_same_v<T, TxnCommitRequest>) bytes_total += detail::payload_bytes(r.txn);
        else if constexpr (std::is_same_v<T, TxnPrepareRequest>) bytes_total += detail::payload_bytes(r.part);
      },
      request.op);
  return bytes_total / kWordBytes;
}

}  // namespace

EncodedFrame encode_request(const Request& request) {
  capnp::MallocMessageBuilder builder(static_cast<unsigned>(estimate_words(request)));
  auto out = builder.initRoot<wire::Request>();
  out.setId(request.id);
  out.setClientId(request.client_id);
  out.setSeq(request.seq);
  out.setTimeoutMs(request.timeout_ms);
  encode_op(request.op, out);
  return detail::finish_frame(FrameKind::kClientRequest, builder);
}

Result<Request> decode_request(std::span<const std::uint64_t> payload) {
  return detail::decode_payload<Request>(payload, "Request", [](capnp::MessageReader& reader) {
    auto in = reader.getRoot<wire::Request>();
    return Request{in.getId(), in.getClientId(), in.getSeq(), in.getTimeoutMs(), decode_op(in)};
  });
}

std::optional<std::uint64_t> peek_request_id(std::span<const std::uint64_t> payload) {
  auto id = detail::decode_payload<std::uint64_t>(
      payload, "Request", [](capnp::MessageReader& reader) {
        return reader.getRoot<wire::Request>().getId();
      });
  if (!id.ok()) return std::nullopt;
  return id.value();
}

}  // namespace kv::net
