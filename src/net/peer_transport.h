// PeerTransport: this node's Raft traffic to and from its peers.
//
// Outgoing: one TCP connection per peer, dialed by this node, carrying the messages of every
// Raft group. send() puts a message on the peer's bounded queue; a writer coroutine per peer
// coalesces everything queued into one PeerBatch frame per write, so the heartbeats and appends
// of many groups share a frame. Connections are re-dialed with exponential backoff and jitter.
// Incoming: an acceptor takes the peers' connections, checks their handshake (cluster id, node
// id, protocol version), decodes their frames and hands the messages to the handler.
//
// Loss: Raft tolerates lost messages, so this transport drops rather than buffers without
// bound: a full queue drops the new message, a peer in reconnect backoff drops everything
// sent to it, and all drops are counted in stats(). Messages on one connection arrive in the
// order sent; across a reconnect some may be lost and, rarely, the receiver may still be
// draining the old connection while the new one delivers (Raft tolerates both).
//
// Threads: everything runs on the injected io_context, which must be run by exactly one
// thread (the server's network thread). Handlers are called on that thread. send(),
// send_snapshot_chunk(), add_peer(), remove_peer(), stop() and stats() are thread-safe.
//
// This header pulls in neither Asio nor Cap'n Proto.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "consensus/types.h"
#include "net/frame.h"
#include "net/peer_protocol.h"
#include "net/result.h"

namespace asio {
class io_context;
}

namespace kv::net {

struct PeerTransportOptions {
  // This node. REQUIRED: != 0.
  raft::NodeId self = raft::kNoNode;
  // Connections from another cluster are refused. REQUIRED: != 0.
  ClusterId cluster_id = 0;
  // Where to accept peer connections. Port 0 picks a free port (see listen_port()).
  // Default: 127.0.0.1:0.
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;
  // Largest frame payload sent or accepted. Default: 64 MiB.
  std::uint32_t max_frame_payload_bytes = kDefaultPeerMaxPayloadBytes;
  // A writer stops adding messages to a batch once its estimated size passes this, so one
  // batch never nears the frame limit and heartbeats are not stuck behind huge frames.
  // Default: 4 MiB. REQUIRED: <= max_frame_payload_bytes / 2.
  std::size_t batch_target_bytes = 4u << 20;
  // Per-peer queue bounds; a message that does not fit is dropped. Defaults: 8192 messages,
  // 64 MiB (estimated encoded size).
  std::size_t queue_max_messages = 8192;
  std::size_t queue_max_bytes = 64u << 20;
  // Per-peer bound on queued snapshot chunks (send_snapshot_chunk() refuses beyond it).
  // Default: 16 MiB.
  std::size_t snapshot_queue_max_bytes = 16u << 20;
  // Reconnect backoff: starts at min, doubles per failed attempt up to max; each wait is drawn
  // uniformly from [backoff/2, backoff]. Defaults: 20 ms, 1000 ms.
  std::chrono::milliseconds reconnect_backoff_min{20};
  std::chrono::milliseconds reconnect_backoff_max{1000};
  // Bounds on connecting, on the handshake, and on a write making no progress (a peer that
  // stops reading is cut off and re-dialed). Defaults: 2 s, 2 s, 10 s.
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds handshake_timeout{2000};
  std::chrono::milliseconds write_stall_timeout{10000};

  // Empty if the options are usable, else what is wrong.
  std::string validate() const;
};

// Counters since construction. Read with stats(); each field is individually consistent.
struct PeerTransportStats {
  std::uint64_t frames_sent = 0;
  std::uint64_t bytes_sent = 0;          // including frame headers
  std::uint64_t messages_sent = 0;       // Raft messages written to a socket
  std::uint64_t frames_received = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t messages_received = 0;   // Raft messages handed to on_messages
  std::uint64_t dropped_queue_full = 0;  // send() to a peer whose queue was full
  std::uint64_t dropped_unreachable = 0; // sent to a peer in backoff, or lost with a connection
  std::uint64_t dropped_unknown_peer = 0;
  std::uint64_t dropped_too_large = 0;   // a single message larger than the frame limit
  std::uint64_t chunks_dropped = 0;      // queued snapshot chunks lost with a connection
  std::uint64_t connects = 0;            // outgoing connections that completed a handshake
  std::uint64_t reconnects = 0;          // of those, the ones after the first per peer
  std::uint64_t connect_failures = 0;    // failed dials and refused handshakes
  std::uint64_t inbound_accepted = 0;    // incoming connections that passed the handshake
  std::uint64_t inbound_rejected = 0;    // incoming connections closed for bad input
};

class PeerTransport {
 public:
  // Called on the io_context thread with one decoded batch from peer `from`, in the order
  // the peer sent them. The handler may move out of the messages; the span is valid only
  // during the call. Messages were checked to be from `from` and addressed to this node.
  using MessagesHandler = std::function<void(raft::NodeId from, std::span<GroupMessage> messages)>;
  // Called on the io_context thread with each snapshot chunk, in order per peer.
  using SnapshotChunkHandler = std::function<void(raft::NodeId from, SnapshotChunk chunk)>;

  // REQUIRES: options.validate() is empty. `io` must outlive this object.
  PeerTransport(asio::io_context& io, PeerTransportOptions options, MessagesHandler on_messages,
                SnapshotChunkHandler on_snapshot_chunk = {});
  // Stops (see stop()). The coroutines finish on the io_context afterwards; they own what
  // they use, so destroying this object before they do is safe.
  ~PeerTransport();
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  // Binds the listening socket and starts accepting. Result: the bound port, or why binding
  // failed. Call once, from the io_context thread or before the io_context runs.
  Result<std::uint16_t> start();
  // Closes every connection and the listener; no handler is called after stop() has run on
  // the io_context thread (it runs inline when called there). Idempotent. Thread-safe.
  void stop();

  // Adds a peer, or changes its address (used from its next connection attempt on).
  // The first connection is dialed at once. Thread-safe.
  void add_peer(raft::NodeId id, std::string host, std::uint16_t port);
  // Forgets a peer: its connection is closed and queued messages dropped. Thread-safe.
  void remove_peer(raft::NodeId id);

  // Queues `message` for group `group` on node `to`. Returns false if it was dropped (full
  // queue, unknown peer, peer in backoff, or stopped); the reason is counted in stats().
  // Thread-safe; never blocks on the network.
  bool send(raft::NodeId to, GroupId group, raft::Message message);
  // Queues a snapshot chunk for `to`. Within one group, chunks and Raft messages arrive in
  // the order sent (so a kSnapshot message sent after the last chunk arrives after it).
  // Across groups Raft messages go first: each write carries the other groups' queued
  // messages and at most one chunk, so a transfer delays their heartbeats by one chunk at
  // most. Returns false, queuing
  // nothing, when the peer's snapshot queue is full, the chunk exceeds the frame limit, or
  // the peer is unreachable: the caller retries later. A chunk in flight when a connection
  // fails is lost (the receiver sees a gap in `seq` and must restart that snapshot).
  // Thread-safe.
  bool send_snapshot_chunk(raft::NodeId to, SnapshotChunk chunk);

  // Whether a message passed to send() still waits in the queue of a connected peer, not
  // yet handed to its socket. Thread-safe.
  bool has_unsent() const;

  PeerTransportStats stats() const;  // thread-safe
  std::uint16_t listen_port() const;  // 0 before start()

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace kv::net
