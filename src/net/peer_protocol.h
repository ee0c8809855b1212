// Plain C++ views of the peer frames (schema/raft.capnp). The server and transport use these;
// only raft_codec.cc knows the wire encoding.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "consensus/types.h"

namespace kv::net {

using ClusterId = std::uint64_t;
using GroupId = std::uint64_t;

// Must match raft.capnp's peerProtocolVersion (static_asserted in raft_codec.cc).
inline constexpr std::uint32_t kPeerProtocolVersion = 1;

// One Raft message addressed to one group (shard) on the receiving node.
struct GroupMessage {
  GroupId group = 0;
  raft::Message message;

  bool operator==(const GroupMessage&) const = default;
};

// First frame on a peer connection, dialer -> acceptor.
struct PeerHello {
  std::uint32_t protocol_version = kPeerProtocolVersion;
  ClusterId cluster_id = 0;
  raft::NodeId from = raft::kNoNode;
  raft::NodeId to = raft::kNoNode;

  bool operator==(const PeerHello&) const = default;
};

enum class HandshakeStatus : std::uint8_t {
  kOk = 0,
  kWrongCluster = 1,
  kWrongNode = 2,
  kUnsupportedVersion = 3,
  kBadHello = 4,
};
const char* to_string(HandshakeStatus status);

// The acceptor's answer. On any status but kOk the acceptor closes the connection after it.
struct PeerHelloAck {
  HandshakeStatus status = HandshakeStatus::kOk;
  std::uint32_t protocol_version = kPeerProtocolVersion;
  ClusterId cluster_id = 0;
  raft::NodeId node_id = raft::kNoNode;
  std::string reason;

  bool operator==(const PeerHelloAck&) const = default;
};

// Decoded PeerBatch frame.
struct PeerBatch {
  raft::NodeId from = raft::kNoNode;
  ClusterId cluster_id = 0;
  std::vector<GroupMessage> messages;

  bool operator==(const PeerBatch&) const = default;
};

// One piece of a streamed state-machine snapshot (see raft.capnp SnapshotChunk).
struct SnapshotChunk {
  GroupId group = 0;
  raft::LogIndex snapshot_index = 0;
  raft::Term snapshot_term = 0;
  std::uint64_t seq = 0;
  std::string data;
  bool last = false;

  bool operator==(const SnapshotChunk&) const = default;
};

// Checks the Hello against this node's identity: the status the acceptor answers with.
HandshakeStatus check_hello(const PeerHello& hello, ClusterId cluster_id, raft::NodeId self);

}  // namespace kv::net
