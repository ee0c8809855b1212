// Multi-shard transactions and the shard map <-> kv.capnp (see detail/txn_codec.h).
#include <capnp/message.h>

#include <string>

#include "net/detail/capnp_frame.h"
#include "net/detail/txn_codec.h"

namespace kv::net::detail {

namespace {

// Same bound as the etcd-style transaction's lists (client_codec_request.cc): it caps what a
// small forged frame can make us allocate.
constexpr std::size_t kMaxListSize = 65536;

template <class List>
void check_list(const List& list, const char* what) {
  if (list.size() > kMaxListSize) {
    throw DecodeError(std::string("transaction ") + what + " list has " + std::to_string(list.size()) +
                      " entries, more than " + std::to_string(kMaxListSize));
  }
}

void encode_reads(const std::vector<TxnRead>& reads, capnp::List<wire::TxnRead>::Builder out) {
  for (unsigned i = 0; i < out.size(); ++i) {
    out[i].setKey(as_data(reads[i].key));
    out[i].setVersion(reads[i].version);
  }
}
std::vector<TxnRead> decode_reads(capnp::List<wire::TxnRead>::Reader in) {
  check_list(in, "read");
  std::vector<TxnRead> reads;
  reads.reserve(in.size());
  for (const auto r : in) reads.push_back(TxnRead{to_string(r.getKey()), r.getVersion()});
  return reads;
}

void encode_footprint(const TxnFootprint& f, capnp::List<wire::TxnRead>::Builder reads,
                      capnp::List<wire::TxnRangeRead>::Builder ranges, capnp::List<wire::TxnWrite>::Builder writes) {
  encode_reads(f.reads, reads);
  for (unsigned i = 0; i < ranges.size(); ++i) {
    const TxnRangeRead& r = f.ranges[i];
    ranges[i].setStart(as_data(r.start));
    ranges[i].setEnd(as_data(r.end));
    encode_reads(r.keys, ranges[i].initKeys(list_size(r.keys.size())));
  }
  for (unsigned i = 0; i < writes.size(); ++i) {
    const TxnWrite& w = f.writes[i];
    writes[i].setKey(as_data(w.key));
    if (w.value) writes[i].setPut(as_data(*w.value));
    else writes[i].setDelete();
  }
}

TxnFootprint decode_footprint(capnp::List<wire::TxnRead>::Reader reads, capnp::List<wire::TxnRangeRead>::Reader ranges,
                              capnp::List<wire::TxnWrite>::Reader writes) {
  TxnFootprint f;
  f.reads = decode_reads(reads);
  check_list(ranges, "range");
  for (const auto r : ranges) {
    f.ranges.push_back(TxnRangeRead{to_string(r.getStart()), to_string(r.getEnd()), decode_reads(r.getKeys())});
  }
  check_list(writes, "write");
  for (const auto w : writes) {
    TxnWrite write{to_string(w.getKey()), std::nullopt};
    switch (w.which()) {
      case wire::TxnWrite::PUT: write.value = to_string(w.getPut()); break;
      case wire::TxnWrite::DELETE: break;
      default: throw DecodeError("unknown txn write " + std::to_string(static_cast<unsigned>(w.which())));
    }
    f.writes.push_back(std::move(write));
  }
  return f;
}

// Both requests that carry a footprint lay it out as reads, ranges, writes.
template <class Builder>
void encode_footprint_into(const TxnFootprint& f, Builder out) {
  encode_footprint(f, out.initReads(list_size(f.reads.size())), out.initRanges(list_size(f.ranges.size())),
                   out.initWrites(list_size(f.writes.size())));
}
template <class Reader>
TxnFootprint decode_footprint_from(Reader in) {
  return decode_footprint(in.getReads(), in.getRanges(), in.getWrites());
}

}  // namespace

void encode(const TxnCommitRequest& r, wire::TxnCommitRequest::Builder out) { encode_footprint_into(r.txn, out); }
TxnCommitRequest decode(wire::TxnCommitRequest::Reader in) { return {decode_footprint_from(in)}; }

void encode(const TxnPrepareRequest& r, wire::TxnPrepareRequest::Builder out) {
  out.setTxnId(r.txn_id);
  out.setPrimary(as_data(r.primary));
  encode_footprint_into(r.part, out);
}
TxnPrepareRequest decode(wire::TxnPrepareRequest::Reader in) {
  return {in.getTxnId(), to_string(in.getPrimary()), decode_footprint_from(in)};
}

void encode(const TxnDecideRequest& r, wire::TxnDecideRequest::Builder out) {
  out.setTxnId(r.txn_id);
  out.setPrimary(as_data(r.primary));
  out.setCommit(r.commit);
}
TxnDecideRequest decode(wire::TxnDecideRequest::Reader in) {
  return {in.getTxnId(), to_string(in.getPrimary()), in.getCommit()};
}

void encode(const TxnResolveRequest& r, wire::TxnResolveRequest::Builder out) {
  out.setTxnId(r.txn_id);
  out.setKey(as_data(r.key));
  out.setCommit(r.commit);
  out.setForgetRecord(r.forget_record);
}
TxnResolveRequest decode(wire::TxnResolveRequest::Reader in) {
  return {in.getTxnId(), to_string(in.getKey()), in.getCommit(), in.getForgetRecord()};
}

void encode(const TxnCommitResponse& r, wire::TxnCommitResponse::Builder out) {
  out.setTxnId(r.txn_id);
  out.setShards(r.shards);
  encode_reads(r.writes, out.initWrites(list_size(r.writes.size())));
}
TxnCommitResponse decode(wire::TxnCommitResponse::Reader in) {
  return {in.getTxnId(), in.getShards(), decode_reads(in.getWrites())};
}

void encode(const TxnVoteResponse& r, wire::TxnVoteResponse::Builder out) {
  out.setYes(r.yes);
  out.setReason(r.reason);
  out.setVersion(r.version);
}
TxnVoteResponse decode(wire::TxnVoteResponse::Reader in) {
  return {in.getYes(), to_string(in.getReason()), in.getVersion()};
}

void encode(const TxnOutcomeResponse& r, wire::TxnOutcomeResponse::Builder out) { out.setCommitted(r.committed); }
TxnOutcomeResponse decode(wire::TxnOutcomeResponse::Reader in) { return {in.getCommitted()}; }

void encode(const ShardMapResponse& r, wire::ShardMapResponse::Builder out) {
  auto shards = out.initShards(list_size(r.shards.size()));
  for (unsigned i = 0; i < shards.size(); ++i) {
    const ShardInfo& s = r.shards[i];
    shards[i].setShard(s.shard);
    shards[i].setStartKey(as_data(s.start_key));
    shards[i].setEndKey(as_data(s.end_key));
    auto replicas = shards[i].initReplicas(list_size(s.replicas.size()));
    for (unsigned j = 0; j < replicas.size(); ++j) replicas.set(j, s.replicas[j]);
    shards[i].setLeader(s.leader);
    shards[i].setTerm(s.term);
  }
  encode_members(r.members, out.initMembers(list_size(r.members.size())));
}
ShardMapResponse decode(wire::ShardMapResponse::Reader in) {
  ShardMapResponse r;
  const auto shards = in.getShards();
  check_list(shards, "shard");
  for (const auto s : shards) {
    ShardInfo info{s.getShard(), to_string(s.getStartKey()), to_string(s.getEndKey()), {}, s.getLeader(), s.getTerm()};
    const auto replicas = s.getReplicas();
    check_list(replicas, "replica");
    for (const std::uint64_t id : replicas) info.replicas.push_back(id);
    r.shards.push_back(std::move(info));
  }
  check_list(in.getMembers(), "member");
  r.members = decode_members(in.getMembers());
  return r;
}

void encode_members(const std::vector<Member>& members, capnp::List<wire::Member>::Builder out) {
  for (unsigned i = 0; i < out.size(); ++i) {
    out[i].setId(members[i].id);
    out[i].setPeerAddr(members[i].peer_addr);
    out[i].setClientAddr(members[i].client_addr);
  }
}

std::vector<Member> decode_members(capnp::List<wire::Member>::Reader in) {
  std::vector<Member> members;
  members.reserve(in.size());
  for (const auto m : in) members.push_back(Member{m.getId(), to_string(m.getPeerAddr()), to_string(m.getClientAddr())});
  return members;
}

std::size_t payload_bytes(const TxnFootprint& txn) {
  std::size_t total = 0;
  for (const TxnRead& r : txn.reads) total += 24 + r.key.size();
  for (const TxnRangeRead& range : txn.ranges) {
    total += 32 + range.start.size() + range.end.size();
    for (const TxnRead& r : range.keys) total += 24 + r.key.size();
  }
  for (const TxnWrite& w : txn.writes) total += 32 + w.key.size() + (w.value ? w.value->size() : 0);
  return total;
}

}  // namespace kv::net::detail
