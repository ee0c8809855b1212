#include "net/raft_codec.h"

#include <capnp/message.h>

#include <string>

#include "net/detail/capnp_frame.h"
#include "net/schema/raft.capnp.h"

namespace kv::net {

static_assert(wire::PEER_PROTOCOL_VERSION == kPeerProtocolVersion);

using detail::as_data;
using detail::DecodeError;
using detail::list_size;

const char* to_string(HandshakeStatus status) {
  switch (status) {
    case HandshakeStatus::kOk: return "ok";
    case HandshakeStatus::kWrongCluster: return "wrong-cluster";
    case HandshakeStatus::kWrongNode: return "wrong-node";
    case HandshakeStatus::kUnsupportedVersion: return "unsupported-version";
    case HandshakeStatus::kBadHello: return "bad-hello";
  }
  return "unknown";
}

HandshakeStatus check_hello(const PeerHello& hello, ClusterId cluster_id, raft::NodeId self) {
  if (hello.protocol_version != kPeerProtocolVersion) return HandshakeStatus::kUnsupportedVersion;
  if (hello.from == raft::kNoNode || hello.to == raft::kNoNode || hello.from == self) {
    return HandshakeStatus::kBadHello;
  }
  if (hello.cluster_id != cluster_id) return HandshakeStatus::kWrongCluster;
  if (hello.to != self) return HandshakeStatus::kWrongNode;
  return HandshakeStatus::kOk;
}

namespace {

// ---- enums: the C++ and wire numbering happen to agree, but map explicitly so that
// ---- neither side can drift silently, and reject values we do not know.

wire::MessageType to_wire(raft::MessageType type) {
  switch (type) {
    case raft::MessageType::kAppend: return wire::MessageType::APPEND;
    case raft::MessageType::kAppendResponse: return wire::MessageType::APPEND_RESPONSE;
    case raft::MessageType::kVote: return wire::MessageType::VOTE;
    case raft::MessageType::kVoteResponse: return wire::MessageType::VOTE_RESPONSE;
    case raft::MessageType::kPreVote: return wire::MessageType::PRE_VOTE;
    case raft::MessageType::kPreVoteResponse: return wire::MessageType::PRE_VOTE_RESPONSE;
    case raft::MessageType::kHeartbeat: return wire::MessageType::HEARTBEAT;
    case raft::MessageType::kHeartbeatResponse: return wire::MessageType::HEARTBEAT_RESPONSE;
    case raft::MessageType::kSnapshot: return wire::MessageType::SNAPSHOT;
    case raft::MessageType::kReadIndex: return wire::MessageType::READ_INDEX;
    case raft::MessageType::kReadIndexResponse: return wire::MessageType::READ_INDEX_RESPONSE;
    case raft::MessageType::kTimeoutNow: return wire::MessageType::TIMEOUT_NOW;
  }
  KV_PANIC("raft::MessageType out of range");
}

raft::MessageType from_wire(wire::MessageType type) {
  switch (type) {
    case wire::MessageType::APPEND: return raft::MessageType::kAppend;
    case wire::MessageType::APPEND_RESPONSE: return raft::MessageType::kAppendResponse;
    case wire::MessageType::VOTE: return raft::MessageType::kVote;
    case wire::MessageType::VOTE_RESPONSE: return raft::MessageType::kVoteResponse;
    case wire::MessageType::PRE_VOTE: return raft::MessageType::kPreVote;
    case wire::MessageType::PRE_VOTE_RESPONSE: return raft::MessageType::kPreVoteResponse;
    case wire::MessageType::HEARTBEAT: return raft::MessageType::kHeartbeat;
    case wire::MessageType::HEARTBEAT_RESPONSE: return raft::MessageType::kHeartbeatResponse;
    case wire::MessageType::SNAPSHOT: return raft::MessageType::kSnapshot;
    case wire::MessageType::READ_INDEX: return raft::MessageType::kReadIndex;
    case wire::MessageType::READ_INDEX_RESPONSE: return raft::MessageType::kReadIndexResponse;
    case wire::MessageType::TIMEOUT_NOW: return raft::MessageType::kTimeoutNow;
  }
  throw DecodeError("unknown Raft message type " + std::to_string(static_cast<unsigned>(type)));
}

wire::EntryType to_wire(raft::EntryType type) {
  switch (type) {
    case raft::EntryType::kNormal: return wire::EntryType::NORMAL;
    case raft::EntryType::kConfChange: return wire::EntryType::CONF_CHANGE;
  }
  KV_PANIC("raft::EntryType out of range");
}

raft::EntryType from_wire(wire::EntryType type) {
  switch (type) {
    case wire::EntryType::NORMAL: return raft::EntryType::kNormal;
    case wire::EntryType::CONF_CHANGE: return raft::EntryType::kConfChange;
  }
  throw DecodeError("unknown entry type " + std::to_string(static_cast<unsigned>(type)));
}

wire::HandshakeStatus to_wire(HandshakeStatus status) {
  switch (status) {
    case HandshakeStatus::kOk: return wire::HandshakeStatus::OK;
    case HandshakeStatus::kWrongCluster: return wire::HandshakeStatus::WRONG_CLUSTER;
    case HandshakeStatus::kWrongNode: return wire::HandshakeStatus::WRONG_NODE;
    case HandshakeStatus::kUnsupportedVersion: return wire::HandshakeStatus::UNSUPPORTED_VERSION;
    case HandshakeStatus::kBadHello: return wire::HandshakeStatus::BAD_HELLO;
  }
  KV_PANIC("HandshakeStatus out of range");
}

HandshakeStatus from_wire(wire::HandshakeStatus status) {
  switch (status) {
    case wire::HandshakeStatus::OK: return HandshakeStatus::kOk;
    case wire::HandshakeStatus::WRONG_CLUSTER: return HandshakeStatus::kWrongCluster;
    case wire::HandshakeStatus::WRONG_NODE: return HandshakeStatus::kWrongNode;
    case wire::HandshakeStatus::UNSUPPORTED_VERSION: return HandshakeStatus::kUnsupportedVersion;
    case wire::HandshakeStatus::BAD_HELLO: return HandshakeStatus::kBadHello;
  }
  throw DecodeError("unknown handshake status " + std::to_string(static_cast<unsigned>(status)));
}

// ---- structs

void encode_ids(const std::vector<raft::NodeId>& ids, capnp::List<std::uint64_t>::Builder out) {
  for (unsigned i = 0; i < out.size(); ++i) out.set(i, ids[i]);
}

std::vector<raft::NodeId> decode_ids(capnp::List<std::uint64_t>::Reader in) {
  std::vector<raft::NodeId> ids;
  ids.reserve(in.size());
  for (const std::uint64_t id : in) ids.push_back(id);
  return ids;
}

void encode_snapshot(const raft::Snapshot& snap, wire::Snapshot::Builder out) {
  auto meta = out.initMeta();
  meta.setIndex(snap.meta.index);
  meta.setTerm(snap.meta.term);
  auto conf = meta.initConf();
  encode_ids(snap.meta.conf.voters, conf.initVoters(list_size(snap.meta.conf.voters.size())));
  encode_ids(snap.meta.conf.voters_outgoing,
             conf.initVotersOutgoing(list_size(snap.meta.conf.voters_outgoing.size())));
  encode_ids(snap.meta.conf.learners, conf.initLearners(list_size(snap.meta.conf.learners.size())));
  out.setData(as_data(snap.data));
}

raft::Snapshot decode_snapshot(wire::Snapshot::Reader in) {
  raft::Snapshot snap;
  auto meta = in.getMeta();
  snap.meta.index = meta.getIndex();
  snap.meta.term = meta.getTerm();
  auto conf = meta.getConf();
  snap.meta.conf.voters = decode_ids(conf.getVoters());
  snap.meta.conf.voters_outgoing = decode_ids(conf.getVotersOutgoing());
  snap.meta.conf.learners = decode_ids(conf.getLearners());
  snap.data = detail::to_string(in.getData());
  return snap;
}

void encode_message(const raft::Message& m, wire::RaftMessage::Builder out) {
  out.setType(to_wire(m.type));
  out.setFrom(m.from);
  out.setTo(m.to);
  out.setTerm(m.term);
  out.setLogTerm(m.log_term);
  out.setIndex(m.index);
  out.setCommit(m.commit);
  out.setReject(m.reject);
  out.setRejectHint(m.reject_hint);
  if (!m.entries.empty()) {
    auto entries = out.initEntries(list_size(m.entries.size()));
    for (unsigned i = 0; i < entries.size(); ++i) {
      const raft::Entry& e = m.entries[i];
      auto w = entries[i];
      w.setTerm(e.term);
      w.setIndex(e.index);
      w.setType(to_wire(e.type));
      if (!e.data.empty()) w.setData(as_data(e.data));
    }
  }
  if (m.snapshot) encode_snapshot(*m.snapshot, out.initSnapshot());
  if (!m.context.empty()) out.setContext(as_data(m.context));
}

raft::Message decode_message(wire::RaftMessage::Reader in) {
  raft::Message m;
  m.type = from_wire(in.getType());
  m.from = in.getFrom();
  m.to = in.getTo();
  m.term = in.getTerm();
  m.log_term = in.getLogTerm();
  m.index = in.getIndex();
  m.commit = in.getCommit();
  m.reject = in.getReject();
  m.reject_hint = in.getRejectHint();
  const auto entries = in.getEntries();  // read once: each get counts against the traversal limit
  m.entries.reserve(entries.size());
  for (const auto e : entries) {
    m.entries.push_back(raft::Entry{e.getTerm(), e.getIndex(), from_wire(e.getType()),
                                    detail::to_string(e.getData())});
  }
  if (in.hasSnapshot()) m.snapshot = decode_snapshot(in.getSnapshot());
  m.context = detail::to_string(in.getContext());
  return m;
}

}  // namespace

std::size_t estimate_encoded_bytes(const raft::Message& message) {
  constexpr std::size_t kMessageOverhead = 128;  // struct, pointers, list tags, padding
  constexpr std::size_t kEntryOverhead = 48;     // 3 data words + 1 pointer + padding
  std::size_t bytes = kMessageOverhead + message.context.size();
  for (const raft::Entry& e : message.entries) bytes += kEntryOverhead + e.data.size();
  if (message.snapshot) {
    const raft::ConfState& c = message.snapshot->meta.conf;
    bytes += 96 + message.snapshot->data.size() +
             8 * (c.voters.size() + c.voters_outgoing.size() + c.learners.size());
  }
  return bytes;
}

EncodedFrame encode_peer_hello(const PeerHello& hello) {
  capnp::MallocMessageBuilder builder(64);
  auto out = builder.initRoot<wire::Hello>();
  out.setProtocolVersion(hello.protocol_version);
  out.setClusterId(hello.cluster_id);
  out.setFrom(hello.from);
  out.setTo(hello.to);
  return detail::finish_frame(FrameKind::kPeerHello, builder);
}

EncodedFrame encode_peer_hello_ack(const PeerHelloAck& ack) {
  capnp::MallocMessageBuilder builder(64);
  auto out = builder.initRoot<wire::HelloAck>();
  out.setStatus(to_wire(ack.status));
  out.setProtocolVersion(ack.protocol_version);
  out.setClusterId(ack.cluster_id);
  out.setNodeId(ack.node_id);
  out.setReason(ack.reason);
  return detail::finish_frame(FrameKind::kPeerHelloAck, builder);
}

EncodedFrame encode_peer_batch(raft::NodeId from, ClusterId cluster_id,
                               std::span<const GroupMessage> messages) {
  std::size_t estimate = 64;
  for (const GroupMessage& gm : messages) estimate += 16 + estimate_encoded_bytes(gm.message);
  // One first segment sized to the estimate keeps most batches single-segment (one copy).
  capnp::MallocMessageBuilder builder(static_cast<unsigned>(std::min<std::size_t>(
      estimate / kWordBytes + 8, std::size_t{1} << 26)));
  auto out = builder.initRoot<wire::PeerBatch>();
  out.setFrom(from);
  out.setClusterId(cluster_id);
  auto list = out.initMessages(list_size(messages.size()));
  for (unsigned i = 0; i < list.size(); ++i) {
    list[i].setGroup(messages[i].group);
    encode_message(messages[i].message, list[i].initMessage());
  }
  return detail::finish_frame(FrameKind::kPeerBatch, builder);
}

EncodedFrame encode_snapshot_chunk(const SnapshotChunk& chunk) {
  capnp::MallocMessageBuilder builder(static_cast<unsigned>(chunk.data.size() / kWordBytes + 16));
  auto out = builder.initRoot<wire::SnapshotChunk>();
  out.setGroup(chunk.group);
  out.setSnapshotIndex(chunk.snapshot_index);
  out.setSnapshotTerm(chunk.snapshot_term);
  out.setSeq(chunk.seq);
  out.setData(as_data(chunk.data));
  out.setLast(chunk.last);
  return detail::finish_frame(FrameKind::kSnapshotChunk, builder);
}

Result<PeerHello> decode_peer_hello(std::span<const std::uint64_t> payload) {
  return detail::decode_payload<PeerHello>(payload, "Hello", [](capnp::MessageReader& reader) {
    auto in = reader.getRoot<wire::Hello>();
    return PeerHello{in.getProtocolVersion(), in.getClusterId(), in.getFrom(), in.getTo()};
  });
}

Result<PeerHelloAck> decode_peer_hello_ack(std::span<const std::uint64_t> payload) {
  return detail::decode_payload<PeerHelloAck>(payload, "HelloAck", [](capnp::MessageReader& reader) {
    auto in = reader.getRoot<wire::HelloAck>();
    return PeerHelloAck{from_wire(in.getStatus()), in.getProtocolVersion(), in.getClusterId(),
                        in.getNodeId(), detail::to_string(in.getReason())};
  });
}

Result<PeerBatch> decode_peer_batch(std::span<const std::uint64_t> payload) {
  return detail::decode_payload<PeerBatch>(payload, "PeerBatch", [](capnp::MessageReader& reader) {
    auto in = reader.getRoot<wire::PeerBatch>();
    PeerBatch batch;
    batch.from = in.getFrom();
    batch.cluster_id = in.getClusterId();
    const auto messages = in.getMessages();
    batch.messages.reserve(messages.size());
    for (const auto gm : messages) {
      batch.messages.push_back(GroupMessage{gm.getGroup(), decode_message(gm.getMessage())});
    }
    return batch;
  });
}

Result<SnapshotChunk> decode_snapshot_chunk(std::span<const std::uint64_t> payload) {
  return detail::decode_payload<SnapshotChunk>(
      payload, "SnapshotChunk", [](capnp::MessageReader& reader) {
        auto in = reader.getRoot<wire::SnapshotChunk>();
        return SnapshotChunk{in.getGroup(),   in.getSnapshotIndex(),
                             in.getSnapshotTerm(), in.getSeq(),
                             detail::to_string(in.getData()), in.getLast()};
      });
}

}  // namespace kv::net
