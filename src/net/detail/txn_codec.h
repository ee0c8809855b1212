// Internal to src/net: the codec of the multi-shard transaction and shard-map messages
// (kv.capnp), and of the member list the shard map shares with MembersResponse; called from
// the request and response envelopes in client_codec_*.cc.
#pragma once

#include "net/client_protocol.h"
#include "net/schema/kv.capnp.h"

namespace kv::net::detail {

void encode(const TxnCommitRequest& r, wire::TxnCommitRequest::Builder out);
void encode(const TxnPrepareRequest& r, wire::TxnPrepareRequest::Builder out);
void encode(const TxnDecideRequest& r, wire::TxnDecideRequest::Builder out);
void encode(const TxnResolveRequest& r, wire::TxnResolveRequest::Builder out);
TxnCommitRequest decode(wire::TxnCommitRequest::Reader in);
TxnPrepareRequest decode(wire::TxnPrepareRequest::Reader in);
TxnDecideRequest decode(wire::TxnDecideRequest::Reader in);
TxnResolveRequest decode(wire::TxnResolveRequest::Reader in);

void encode(const TxnCommitResponse& r, wire::TxnCommitResponse::Builder out);
void encode(const TxnVoteResponse& r, wire::TxnVoteResponse::Builder out);
void encode(const TxnOutcomeResponse& r, wire::TxnOutcomeResponse::Builder out);
void encode(const ShardMapResponse& r, wire::ShardMapResponse::Builder out);
TxnCommitResponse decode(wire::TxnCommitResponse::Reader in);
TxnVoteResponse decode(wire::TxnVoteResponse::Reader in);
TxnOutcomeResponse decode(wire::TxnOutcomeResponse::Reader in);
ShardMapResponse decode(wire::ShardMapResponse::Reader in);

// The member list, as MembersResponse and ShardMapResponse carry it.
void encode_members(const std::vector<Member>& members, capnp::List<wire::Member>::Builder out);
std::vector<Member> decode_members(capnp::List<wire::Member>::Reader in);

// Words of key/value bytes a request or response of these kinds carries (for sizing the
// message builder).
std::size_t payload_bytes(const TxnFootprint& txn);

}  // namespace kv::net::detail
