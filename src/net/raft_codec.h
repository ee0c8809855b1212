// Peer frames <-> plain structs (schema/raft.capnp <-> peer_protocol.h).
//
// Encoders build a complete frame (header + payload) ready to write. Decoders take the
// payload of a frame whose header parse_frame_header() accepted, and validate everything:
// a truncated or corrupt message, an unknown enum value or union tag, or bytes left over
// after the message is an error result, never an exception or undefined behaviour.
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <span>

#include "consensus/types.h"
#include "net/frame.h"
#include "net/peer_protocol.h"
#include "net/result.h"

namespace kv::net {

EncodedFrame encode_peer_hello(const PeerHello& hello);
EncodedFrame encode_peer_hello_ack(const PeerHelloAck& ack);
// `messages` need not be stored in a PeerBatch: the writer encodes straight from its queue.
EncodedFrame encode_peer_batch(raft::NodeId from, ClusterId cluster_id,
                               std::span<const GroupMessage> messages);
EncodedFrame encode_snapshot_chunk(const SnapshotChunk& chunk);

Result<PeerHello> decode_peer_hello(std::span<const std::uint64_t> payload);
Result<PeerHelloAck> decode_peer_hello_ack(std::span<const std::uint64_t> payload);
Result<PeerBatch> decode_peer_batch(std::span<const std::uint64_t> payload);
Result<SnapshotChunk> decode_snapshot_chunk(std::span<const std::uint64_t> payload);

// A cheap upper-bound-ish estimate of a message's encoded size in bytes, used to cut batches
// before they reach the frame limit (exact sizes are only known after encoding).
std::size_t estimate_encoded_bytes(const raft::Message& message);

}  // namespace kv::net
