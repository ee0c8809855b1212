// PeerTransport: see peer_transport.h for the contract. Layout of this file:
//   Peer/Impl state, then the outgoing side (dial, handshake, pump), then the incoming side
//   (accept, handshake, read loop), then the public methods.
//
// Locking: Impl::mutex guards the peer map and each peer's queue/state, because send() is
// called from any thread. Sockets, timers and signals are touched only on the io thread.
// No lock is held across an await.
#include "net/peer_transport.h"

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/dispatch.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <unordered_map>
#include <vector>

#include "net/detail/frame_io.h"
#include "net/raft_codec.h"

namespace kv::net {

using detail::close_quietly;
using detail::Deadline;
using detail::log_line;
using detail::SocketPtr;
using std::chrono::milliseconds;
using Awaitable = asio::awaitable<void>;

std::string PeerTransportOptions::validate() const {
  if (self == raft::kNoNode) return "self must be a node id (not 0)";
  if (cluster_id == 0) return "cluster_id must be set (not 0)";
  if (max_frame_payload_bytes < 4096) return "max_frame_payload_bytes must be >= 4096";
  if (batch_target_bytes == 0 || batch_target_bytes > max_frame_payload_bytes / 2) {
    return "batch_target_bytes must be in [1, max_frame_payload_bytes / 2]";
  }
  if (queue_max_messages == 0 || queue_max_bytes == 0) return "queue bounds must be > 0";
  if (reconnect_backoff_min.count() <= 0 || reconnect_backoff_max < reconnect_backoff_min) {
    return "need 0 < reconnect_backoff_min <= reconnect_backoff_max";
  }
  if (connect_timeout.count() <= 0 || handshake_timeout.count() <= 0 ||
      write_stall_timeout.count() <= 0) {
    return "timeouts must be > 0";
  }
  return "";
}

namespace {

constexpr std::uint32_t kMaxHelloPayloadBytes = 4096;  // Hello and HelloAck

// kConnecting: messages queue up for the connection being dialed. kConnected: they flow.
// kBackoff: the last dial or connection failed; messages are dropped until the next attempt
// (queuing them would only deliver stale heartbeats and appends late).
enum class LinkState : std::uint8_t { kConnecting, kConnected, kBackoff };

// A queued item and its place in the peer's send order (messages and chunks share it).
template <class T>
struct Queued {
  T item;
  std::uint64_t order = 0;
};

std::size_t chunk_cost(const SnapshotChunk& chunk) { return chunk.data.size() + 128; }

struct Peer {
  Peer(raft::NodeId peer_id, const asio::any_io_executor& executor)
      : id(peer_id), signal(executor), backoff_timer(executor) {}

  const raft::NodeId id;
  // Guarded by Impl::mutex.
  std::string host;
  std::uint16_t port = 0;
  LinkState state = LinkState::kConnecting;
  bool removed = false;
  bool wake_posted = false;  // a notify is already on its way to the io thread
  std::deque<Queued<GroupMessage>> queue;
  std::size_t queued_bytes = 0;
  std::deque<Queued<SnapshotChunk>> chunks;
  std::size_t chunk_bytes = 0;
  std::uint64_t next_order = 0;  // send order across both queues
  // io thread only.
  detail::Signal signal;  // the writer waits here for work
  asio::steady_timer backoff_timer;
  SocketPtr socket;       // the current outgoing connection, if any
  bool ever_connected = false;
  std::string last_logged_error;  // each distinct failure is logged once, not every retry
};
using PeerPtr = std::shared_ptr<Peer>;

struct Counters {
  std::atomic<std::uint64_t> frames_sent{0}, bytes_sent{0}, messages_sent{0};
  std::atomic<std::uint64_t> frames_received{0}, bytes_received{0}, messages_received{0};
  std::atomic<std::uint64_t> dropped_queue_full{0}, dropped_unreachable{0};
  std::atomic<std::uint64_t> dropped_unknown_peer{0}, dropped_too_large{0}, chunks_dropped{0};
  std::atomic<std::uint64_t> connects{0}, reconnects{0}, connect_failures{0};
  std::atomic<std::uint64_t> inbound_accepted{0}, inbound_rejected{0};
};

// What the writer takes from a peer's queues for one write.
struct Outgoing {
  std::vector<GroupMessage> messages;
  std::optional<SnapshotChunk> chunk;
  bool empty() const { return messages.empty() && !chunk; }
};

}  // namespace

struct PeerTransport::Impl : std::enable_shared_from_this<PeerTransport::Impl> {
  Impl(asio::io_context& io_context, PeerTransportOptions opts, MessagesHandler messages_handler,
       SnapshotChunkHandler chunk_handler)
      : io(io_context),
        options(std::move(opts)),
        on_messages(std::move(messages_handler)),
        on_snapshot_chunk(std::move(chunk_handler)),
        acceptor(io_context),
        rng(static_cast<std::uint32_t>(options.self * 2654435761u) ^ std::random_device{}()) {}

  asio::io_context& io;
  const PeerTransportOptions options;
  MessagesHandler on_messages;
  SnapshotChunkHandler on_snapshot_chunk;
  asio::ip::tcp::acceptor acceptor;
  std::atomic<std::uint16_t> port{0};
  std::atomic<bool> stopped{false};
  Counters counters;

  mutable std::mutex mutex;
  std::map<raft::NodeId, PeerPtr> peers;  // guarded by mutex

  // io thread only.
  std::set<SocketPtr> inbound;  // open incoming connections, closed by stop()
  std::minstd_rand rng;         // reconnect jitter only; not part of any protocol decision

  // ---- queues (any thread, under mutex)
  bool enqueue(raft::NodeId to, GroupId group, raft::Message&& message);
  bool enqueue_chunk(raft::NodeId to, SnapshotChunk&& chunk);
  void maybe_wake(const PeerPtr& peer);  // REQUIRES: mutex held
  Outgoing take(Peer& peer);
  void drop_queued(Peer& peer, LinkState next_state);

  // ---- outgoing side (io thread)
  // Coroutines that are co_spawned take `self`: it is copied into the frame when the coroutine
  // is created, so Impl outlives every coroutine started for it.
  Awaitable run_peer(std::shared_ptr<Impl> self, PeerPtr peer);
  asio::awaitable<SocketPtr> dial(PeerPtr peer, std::string& error);
  asio::awaitable<std::string> handshake(const SocketPtr& socket, const Peer& peer);
  asio::awaitable<std::string> pump(PeerPtr peer, SocketPtr socket);
  Awaitable watch_for_close(std::shared_ptr<Impl> self, SocketPtr socket, PeerPtr peer,
                            std::shared_ptr<std::string> reason);
  bool encode_outgoing(Outgoing& out, std::deque<EncodedFrame>& frames);
  void note_failure(Peer& peer, const std::string& error);
  milliseconds jittered(milliseconds backoff);

  // ---- incoming side (io thread)
  Awaitable accept_loop(std::shared_ptr<Impl> self);
  Awaitable serve_inbound(std::shared_ptr<Impl> self, SocketPtr socket);
  asio::awaitable<std::string> accept_handshake(const SocketPtr& socket, detail::FrameReader& reader,
                                                raft::NodeId& from);
  std::string deliver(raft::NodeId from, const ReceivedFrame& frame);

  void stop_on_io_thread();
  bool peer_gone(const Peer& peer) {
    std::lock_guard lock(mutex);
    return peer.removed || stopped.load();
  }
};

// =============================================================================================
// Queues

bool PeerTransport::Impl::enqueue(raft::NodeId to, GroupId group, raft::Message&& message) {
  const std::size_t estimate = estimate_encoded_bytes(message);
  if (estimate > options.max_frame_payload_bytes) {
    counters.dropped_too_large.fetch_add(1, std::memory_order_relaxed);
    log_line("dropping a %s message of ~%zu bytes to peer %llu: larger than the frame limit",
             raft::to_string(message.type), estimate, static_cast<unsigned long long>(to));
    return false;
  }
  std::lock_guard lock(mutex);
  auto it = peers.find(to);
  if (stopped.load() || it == peers.end()) {
    counters.dropped_unknown_peer.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  Peer& peer = *it->second;
  if (peer.state == LinkState::kBackoff) {
    counters.dropped_unreachable.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (peer.queue.size() >= options.queue_max_messages ||
      peer.queued_bytes + estimate > options.queue_max_bytes) {
    counters.dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  peer.queue.push_back({GroupMessage{group, std::move(message)}, peer.next_order++});
  peer.queued_bytes += estimate;
  maybe_wake(it->second);
  return true;
}

bool PeerTransport::Impl::enqueue_chunk(raft::NodeId to, SnapshotChunk&& chunk) {
  const std::size_t bytes = chunk_cost(chunk);
  std::lock_guard lock(mutex);
  auto it = peers.find(to);
  if (stopped.load() || it == peers.end()) return false;
  Peer& peer = *it->second;
  if (peer.state == LinkState::kBackoff) return false;
  if (!peer.chunks.empty() && peer.chunk_bytes + bytes > options.snapshot_queue_max_bytes) return false;
  if (bytes > options.max_frame_payload_bytes) return false;
  peer.chunks.push_back({std::move(chunk), peer.next_order++});
  peer.chunk_bytes += bytes;
  maybe_wake(it->second);
  return true;
}

// Senders on other threads must not touch the io-thread Signal: post one notify per idle
// period rather than one per message.
void PeerTransport::Impl::maybe_wake(const PeerPtr& peer) {
  if (peer->wake_posted) return;
  peer->wake_posted = true;
  asio::post(io, [self = shared_from_this(), peer] {
    {
      std::lock_guard lock(self->mutex);
      peer->wake_posted = false;
    }
    peer->signal.notify();
  });
}

// Raft messages first, up to batch_target_bytes; then at most one snapshot chunk, so that a
// snapshot transfer delays other groups' heartbeats by one chunk at most. Within one group
// the send order holds: a message queued after a chunk of its group waits for that chunk.
Outgoing PeerTransport::Impl::take(Peer& peer) {
  Outgoing out;
  std::lock_guard lock(mutex);
  // The order of each group's oldest unsent chunk: that group's later messages wait.
  std::unordered_map<GroupId, std::uint64_t> first_chunk;
  for (const auto& c : peer.chunks) first_chunk.try_emplace(c.item.group, c.order);
  std::size_t batch_bytes = 0;
  std::deque<Queued<GroupMessage>> waiting;  // stays queued, in order
  while (!peer.queue.empty()) {
    Queued<GroupMessage>& q = peer.queue.front();
    const auto chunk = first_chunk.find(q.item.group);
    const bool behind_chunk = chunk != first_chunk.end() && q.order > chunk->second;
    if (behind_chunk || batch_bytes >= options.batch_target_bytes) {
      if (first_chunk.empty()) break;  // nothing is blocked: the rest stays where it is
      waiting.push_back(std::move(q));
    } else {
      const std::size_t estimate = estimate_encoded_bytes(q.item.message);
      batch_bytes += estimate;
      peer.queued_bytes -= estimate;
      out.messages.push_back(std::move(q.item));
    }
    peer.queue.pop_front();
  }
  if (!waiting.empty()) {
    for (auto& q : peer.queue) waiting.push_back(std::move(q));
    peer.queue.swap(waiting);
  }
  if (!peer.chunks.empty()) {
    peer.chunk_bytes -= chunk_cost(peer.chunks.front().item);
    out.chunk = std::move(peer.chunks.front().item);
    peer.chunks.pop_front();
  }
  return out;
}

void PeerTransport::Impl::drop_queued(Peer& peer, LinkState next_state) {
  std::lock_guard lock(mutex);
  counters.dropped_unreachable.fetch_add(peer.queue.size(), std::memory_order_relaxed);
  counters.chunks_dropped.fetch_add(peer.chunks.size(), std::memory_order_relaxed);
  peer.queue.clear();
  peer.queued_bytes = 0;
  peer.chunks.clear();
  peer.chunk_bytes = 0;
  peer.state = next_state;
}

// =============================================================================================
// Outgoing side

milliseconds PeerTransport::Impl::jittered(milliseconds backoff) {
  std::uniform_int_distribution<long> pick(backoff.count() / 2, backoff.count());
  return milliseconds(pick(rng));
}

void PeerTransport::Impl::note_failure(Peer& peer, const std::string& error) {
  if (error == peer.last_logged_error) return;
  peer.last_logged_error = error;
  log_line("peer %llu: %s (retrying with backoff)", static_cast<unsigned long long>(peer.id),
           error.c_str());
}

Awaitable PeerTransport::Impl::run_peer(std::shared_ptr<Impl> /*self*/, PeerPtr peer) {
  milliseconds backoff = options.reconnect_backoff_min;
  while (!peer_gone(*peer)) {
    std::string error;
    SocketPtr socket = co_await dial(peer, error);
    if (socket) {
      backoff = options.reconnect_backoff_min;
      if (!peer->last_logged_error.empty()) {
        log_line("peer %llu: connected to %s", static_cast<unsigned long long>(peer->id),
                 detail::remote_address(*socket).c_str());
        peer->last_logged_error.clear();
      }
      error = co_await pump(peer, socket);
      close_quietly(*socket);
      peer->socket.reset();
      if (peer_gone(*peer)) break;
      error = "connection lost: " + error;
    } else {
      counters.connect_failures.fetch_add(1, std::memory_order_relaxed);
    }
    note_failure(*peer, error);
    drop_queued(*peer, LinkState::kBackoff);
    peer->backoff_timer.expires_after(jittered(backoff));
    std::error_code ec;
    co_await peer->backoff_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    backoff = std::min(backoff * 2, options.reconnect_backoff_max);
    std::lock_guard lock(mutex);
    if (peer->state == LinkState::kBackoff) peer->state = LinkState::kConnecting;
  }
  drop_queued(*peer, LinkState::kBackoff);
}

asio::awaitable<SocketPtr> PeerTransport::Impl::dial(PeerPtr peer, std::string& error) {
  std::string host;
  std::uint16_t port_number = 0;
  {
    std::lock_guard lock(mutex);
    host = peer->host;
    port_number = peer->port;
  }
  const std::string where = host + ":" + std::to_string(port_number);
  std::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  auto endpoints = co_await resolver.async_resolve(host, std::to_string(port_number),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    error = "cannot resolve " + where + ": " + ec.message();
    co_return nullptr;
  }
  auto socket = std::make_shared<detail::Socket>(io);
  peer->socket = socket;  // so that stop()/remove_peer() can interrupt the dial
  {
    Deadline deadline(socket, options.connect_timeout);
    co_await asio::async_connect(*socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      error = "connect to " + where + (deadline.expired() ? " timed out" : " failed: " + ec.message());
      co_return nullptr;
    }
  }
  detail::tune_socket(*socket);
  error = co_await handshake(socket, *peer);
  if (!error.empty()) {
    error = "handshake with " + where + ": " + error;
    co_return nullptr;
  }
  co_return socket;
}

asio::awaitable<std::string> PeerTransport::Impl::handshake(const SocketPtr& socket, const Peer& peer) {
  std::deque<EncodedFrame> hello;
  hello.push_back(encode_peer_hello(
      PeerHello{kPeerProtocolVersion, options.cluster_id, options.self, peer.id}));
  std::string error = co_await detail::write_frames(socket, hello, options.handshake_timeout);
  if (!error.empty()) co_return error;
  detail::ReadOutcome reply;
  {
    Deadline deadline(socket, options.handshake_timeout);
    reply = co_await detail::read_frame(*socket, kMaxHelloPayloadBytes);
    if (deadline.expired()) co_return "no HelloAck within the handshake timeout";
  }
  if (!reply.ok()) co_return reply.error;
  if (reply.frame.kind != FrameKind::kPeerHelloAck) {
    co_return std::string("expected a HelloAck, got a ") + to_string(reply.frame.kind) + " frame";
  }
  Result<PeerHelloAck> ack = decode_peer_hello_ack(reply.frame.payload);
  if (!ack.ok()) co_return ack.error();
  if (ack.value().status != HandshakeStatus::kOk) {
    co_return std::string("refused: ") + to_string(ack.value().status) + ": " + ack.value().reason;
  }
  if (ack.value().node_id != peer.id || ack.value().cluster_id != options.cluster_id) {
    co_return "answered by node " + std::to_string(ack.value().node_id) + " of cluster " +
        std::to_string(ack.value().cluster_id);
  }
  co_return "";
}

// The acceptor sends nothing after its HelloAck, so a completed read means the connection
// is gone (or the acceptor misbehaves): either way the writer must stop and re-dial.
Awaitable PeerTransport::Impl::watch_for_close(std::shared_ptr<Impl> /*self*/, SocketPtr socket,
                                               PeerPtr peer, std::shared_ptr<std::string> reason) {
  // Any frame is unexpected here, so a tiny limit: a confused acceptor cannot make us
  // allocate a large buffer.
  detail::ReadOutcome out = co_await detail::read_frame(*socket, kMinPayloadBytes * 64);
  *reason = out.ok() ? "unexpected frame from the acceptor" : out.error;
  close_quietly(*socket);
  peer->signal.notify();
}

asio::awaitable<std::string> PeerTransport::Impl::pump(PeerPtr peer, SocketPtr socket) {
  {
    std::lock_guard lock(mutex);
    peer->state = LinkState::kConnected;
  }
  counters.connects.fetch_add(1, std::memory_order_relaxed);
  if (peer->ever_connected) counters.reconnects.fetch_add(1, std::memory_order_relaxed);
  peer->ever_connected = true;
  auto closed = std::make_shared<std::string>();
  asio::co_spawn(io, watch_for_close(shared_from_this(), socket, peer, closed),
                 detail::LogExceptions{"peer watcher"});
  std::deque<EncodedFrame> frames;
  while (closed->empty() && !peer_gone(*peer)) {
    Outgoing out = take(*peer);
    if (out.empty()) {
      co_await peer->signal.wait();
      continue;
    }
    const std::size_t message_count = out.messages.size();
    const bool had_chunk = out.chunk.has_value();
    if (!encode_outgoing(out, frames)) continue;
    std::size_t bytes = 0;
    for (const EncodedFrame& f : frames) bytes += f.size_bytes();
    std::string error = co_await detail::write_frames(socket, frames, options.write_stall_timeout);
    if (!error.empty()) {
      counters.dropped_unreachable.fetch_add(message_count, std::memory_order_relaxed);
      counters.chunks_dropped.fetch_add(had_chunk ? 1 : 0, std::memory_order_relaxed);
      co_return closed->empty() ? error : *closed;
    }
    counters.frames_sent.fetch_add(frames.size(), std::memory_order_relaxed);
    counters.bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
    counters.messages_sent.fetch_add(message_count, std::memory_order_relaxed);
    frames.clear();
  }
  co_return *closed;
}

// Returns false if nothing is left to write (everything was too large to send).
bool PeerTransport::Impl::encode_outgoing(Outgoing& out, std::deque<EncodedFrame>& frames) {
  if (!out.messages.empty()) {
    EncodedFrame batch = encode_peer_batch(options.self, options.cluster_id, out.messages);
    if (batch.payload().size_bytes() > options.max_frame_payload_bytes) {
      counters.dropped_too_large.fetch_add(out.messages.size(), std::memory_order_relaxed);
      log_line("dropping a batch of %zu messages: %zu bytes exceed the frame limit",
               out.messages.size(), batch.payload().size_bytes());
    } else {
      frames.push_back(std::move(batch));
    }
  }
  if (out.chunk) frames.push_back(encode_snapshot_chunk(*out.chunk));
  return !frames.empty();
}

// =============================================================================================
// Incoming side

Awaitable PeerTransport::Impl::accept_loop(std::shared_ptr<Impl> /*self*/) {
  while (!stopped.load()) {
    auto socket = std::make_shared<detail::Socket>(io);
    std::error_code ec;
    co_await acceptor.async_accept(*socket, asio::redirect_error(asio::use_awaitable, ec));
    if (stopped.load() || ec == asio::error::operation_aborted) break;
    if (ec) {
      // E.g. out of file descriptors: pause instead of spinning on the error.
      log_line("peer listener: accept failed: %s", ec.message().c_str());
      asio::steady_timer pause(io, milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    detail::tune_socket(*socket);
    asio::co_spawn(io, serve_inbound(shared_from_this(), socket),
                   detail::LogExceptions{"peer connection"});
  }
}

asio::awaitable<std::string> PeerTransport::Impl::accept_handshake(const SocketPtr& socket,
                                                                   detail::FrameReader& reader,
                                                                   raft::NodeId& from) {
  detail::ReadOutcome first;
  {
    // A Hello is a few words: a small limit keeps an unauthenticated connection from making
    // us allocate a full-size frame buffer and then stall.
    Deadline deadline(socket, options.handshake_timeout);
    first = co_await reader.read(*socket, kMaxHelloPayloadBytes);
    if (deadline.expired()) co_return "no Hello within the handshake timeout";
  }
  if (!first.ok()) co_return first.error;
  if (first.frame.kind != FrameKind::kPeerHello) {
    co_return std::string("expected a Hello, got a ") + to_string(first.frame.kind) + " frame";
  }
  Result<PeerHello> hello = decode_peer_hello(first.frame.payload);
  if (!hello.ok()) co_return hello.error();
  const HandshakeStatus status = check_hello(hello.value(), options.cluster_id, options.self);
  PeerHelloAck ack{status, kPeerProtocolVersion, options.cluster_id, options.self, ""};
  if (status != HandshakeStatus::kOk) {
    ack.reason = std::string(to_string(status)) + ": hello from node " +
                 std::to_string(hello.value().from) + " of cluster " +
                 std::to_string(hello.value().cluster_id) + " for node " +
                 std::to_string(hello.value().to) + ", protocol " +
                 std::to_string(hello.value().protocol_version);
  }
  std::deque<EncodedFrame> reply;
  reply.push_back(encode_peer_hello_ack(ack));
  std::string error = co_await detail::write_frames(socket, reply, options.handshake_timeout);
  if (status != HandshakeStatus::kOk) co_return "refused " + ack.reason;
  from = hello.value().from;
  co_return error;
}

Awaitable PeerTransport::Impl::serve_inbound(std::shared_ptr<Impl> /*self*/, SocketPtr socket) {
  const std::string remote = detail::remote_address(*socket);
  inbound.insert(socket);
  raft::NodeId from = raft::kNoNode;
  detail::FrameReader reader(256 * 1024);
  std::string error = co_await accept_handshake(socket, reader, from);
  if (error.empty()) counters.inbound_accepted.fetch_add(1, std::memory_order_relaxed);
  while (error.empty() && !stopped.load()) {
    detail::ReadOutcome in = co_await reader.read(*socket, options.max_frame_payload_bytes);
    if (!in.ok()) {
      if (!in.clean_close && !stopped.load()) {
        log_line("peer %llu (%s): closing: %s", static_cast<unsigned long long>(from),
                 remote.c_str(), in.error.c_str());
      }
      break;
    }
    counters.frames_received.fetch_add(1, std::memory_order_relaxed);
    counters.bytes_received.fetch_add(kFrameHeaderBytes + in.frame.payload.size() * kWordBytes,
                                      std::memory_order_relaxed);
    error = deliver(from, in.frame);
  }
  if (!error.empty() && !stopped.load()) {
    counters.inbound_rejected.fetch_add(1, std::memory_order_relaxed);
    log_line("peer connection from %s: closing: %s", remote.c_str(), error.c_str());
  }
  close_quietly(*socket);
  inbound.erase(socket);
}

// Decodes and hands one frame to the handlers. Returns why the connection must close, or "".
std::string PeerTransport::Impl::deliver(raft::NodeId from, const ReceivedFrame& frame) {
  if (frame.kind == FrameKind::kSnapshotChunk) {
    Result<SnapshotChunk> chunk = decode_snapshot_chunk(frame.payload);
    if (!chunk.ok()) return chunk.error();
    if (on_snapshot_chunk && !stopped.load()) on_snapshot_chunk(from, std::move(chunk).value());
    return "";
  }
  if (frame.kind != FrameKind::kPeerBatch) {
    return std::string("unexpected ") + to_string(frame.kind) + " frame";
  }
  Result<PeerBatch> batch = decode_peer_batch(frame.payload);
  if (!batch.ok()) return batch.error();
  PeerBatch& b = batch.value();
  if (b.from != from || b.cluster_id != options.cluster_id) {
    return "batch claims node " + std::to_string(b.from) + " of cluster " +
           std::to_string(b.cluster_id);
  }
  for (const GroupMessage& gm : b.messages) {
    if (gm.message.from != from || gm.message.to != options.self) {
      return "message for group " + std::to_string(gm.group) + " is from " +
             std::to_string(gm.message.from) + " to " + std::to_string(gm.message.to);
    }
  }
  counters.messages_received.fetch_add(b.messages.size(), std::memory_order_relaxed);
  if (!stopped.load() && !b.messages.empty()) on_messages(from, std::span<GroupMessage>(b.messages));
  return "";
}

void PeerTransport::Impl::stop_on_io_thread() {
  std::error_code ignored;
  acceptor.close(ignored);
  std::vector<PeerPtr> all;
  {
    std::lock_guard lock(mutex);
    for (auto& [id, peer] : peers) all.push_back(peer);
  }
  for (const PeerPtr& peer : all) {
    peer->signal.notify();
    peer->backoff_timer.cancel();
    if (peer->socket) close_quietly(*peer->socket);
  }
  for (const SocketPtr& socket : inbound) close_quietly(*socket);
}

// =============================================================================================
// Public methods

PeerTransport::PeerTransport(asio::io_context& io, PeerTransportOptions options,
                             MessagesHandler on_messages, SnapshotChunkHandler on_snapshot_chunk) {
  const std::string invalid = options.validate();
  KV_ASSERT_MSG(invalid.empty(), invalid.c_str());
  KV_ASSERT(on_messages != nullptr);
  impl_ = std::make_shared<Impl>(io, std::move(options), std::move(on_messages),
                                 std::move(on_snapshot_chunk));
}

PeerTransport::~PeerTransport() { stop(); }

Result<std::uint16_t> PeerTransport::start() {
  KV_ASSERT(impl_->port.load() == 0);
  Result<std::uint16_t> bound =
      detail::open_listener(impl_->acceptor, impl_->options.listen_host, impl_->options.listen_port);
  if (!bound.ok()) return bound;
  impl_->port = bound.value();
  asio::co_spawn(impl_->io, impl_->accept_loop(impl_), detail::LogExceptions{"peer listener"});
  return impl_->port.load();
}

void PeerTransport::stop() {
  if (impl_->stopped.exchange(true)) return;
  asio::dispatch(impl_->io, [impl = impl_] { impl->stop_on_io_thread(); });
}

void PeerTransport::add_peer(raft::NodeId id, std::string host, std::uint16_t port) {
  KV_ASSERT(id != raft::kNoNode && id != impl_->options.self);
  PeerPtr created;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped.load()) return;
    PeerPtr& slot = impl_->peers[id];
    if (!slot) slot = created = std::make_shared<Peer>(id, impl_->io.get_executor());
    slot->host = std::move(host);
    slot->port = port;
  }
  if (created) {
    asio::co_spawn(impl_->io, impl_->run_peer(impl_, created), detail::LogExceptions{"peer writer"});
  }
}

void PeerTransport::remove_peer(raft::NodeId id) {
  PeerPtr peer;
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->peers.find(id);
    if (it == impl_->peers.end()) return;
    peer = it->second;
    peer->removed = true;
    impl_->peers.erase(it);
  }
  asio::dispatch(impl_->io, [peer] {
    peer->signal.notify();
    peer->backoff_timer.cancel();
    if (peer->socket) close_quietly(*peer->socket);
  });
}

bool PeerTransport::send(raft::NodeId to, GroupId group, raft::Message message) {
  return impl_->enqueue(to, group, std::move(message));
}

bool PeerTransport::send_snapshot_chunk(raft::NodeId to, SnapshotChunk chunk) {
  return impl_->enqueue_chunk(to, std::move(chunk));
}

bool PeerTransport::has_unsent() const {
  std::lock_guard lock(impl_->mutex);
  for (const auto& [id, peer] : impl_->peers) {
    if (peer->state == LinkState::kConnected && !peer->queue.empty()) return true;
  }
  return false;
}

PeerTransportStats PeerTransport::stats() const {
  const Counters& c = impl_->counters;
  auto get = [](const std::atomic<std::uint64_t>& v) { return v.load(std::memory_order_relaxed); };
  PeerTransportStats s;
  s.frames_sent = get(c.frames_sent);
  s.bytes_sent = get(c.bytes_sent);
  s.messages_sent = get(c.messages_sent);
  s.frames_received = get(c.frames_received);
  s.bytes_received = get(c.bytes_received);
  s.messages_received = get(c.messages_received);
  s.dropped_queue_full = get(c.dropped_queue_full);
  s.dropped_unreachable = get(c.dropped_unreachable);
  s.dropped_unknown_peer = get(c.dropped_unknown_peer);
  s.dropped_too_large = get(c.dropped_too_large);
  s.chunks_dropped = get(c.chunks_dropped);
  s.connects = get(c.connects);
  s.reconnects = get(c.reconnects);
  s.connect_failures = get(c.connect_failures);
  s.inbound_accepted = get(c.inbound_accepted);
  s.inbound_rejected = get(c.inbound_rejected);
  return s;
}

std::uint16_t PeerTransport::listen_port() const { return impl_->port.load(); }

}  // namespace kv::net
