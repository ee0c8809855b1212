// Streaming state machine images to followers that are behind the compacted log.
//
// The core asks for a snapshot by emitting a kSnapshot message. The leader then streams an
// image of the shard's current applied state (NodeStore::open_snapshot_source) as chunks on
// the peer connection, and sends the kSnapshot message itself after the last chunk. The
// follower stages the chunks (NodeStore::begin_snapshot_receive); when the message arrives
// it carries the staged image's meta into the core, whose Ready then installs the image.
// The image may be newer than the snapshot the core named: it is still committed state,
// and the follower's answer tells the leader where its log now starts.
#include <asio/post.hpp>

#include "common/assert.h"
#include "server/log.h"
#include "server/node_impl.h"

namespace kv::server {

namespace {
constexpr int kChunksPerTurn = 8;  // then yield the network thread to other work
constexpr std::chrono::milliseconds kChunkRetry{20};
constexpr int kMaxChunkRetries = 1500;  // 30 s without queue room: give up, the core retries
}  // namespace

void Node::start_snapshot_stream(Shard& shard, raft::Message message) {
  for (const auto& [id, s] : snapshot_streams_) {
    if (s->group == shard.id && s->to == message.to) return;  // one stream per follower at a time
  }
  auto source = store_->open_snapshot_source(shard.id, shard.range);
  if (!source.ok()) {
    KV_LOG(kWarn, "cannot open a snapshot").kv("shard", shard.id).kv("error", source.status().to_string());
    shard.raft.report_snapshot(message.to, false);
    return;
  }
  auto stream = std::make_unique<SnapshotStream>(io_);
  stream->group = shard.id;
  stream->to = message.to;
  stream->message = std::move(message);
  stream->source = std::move(*source);
  auto first = stream->source->next_chunk(&stream->next_chunk);
  KV_ASSERT_MSG(first.ok(), first.status().to_string().c_str());
  stream->has_next = *first;
  KV_LOG(kInfo, "streaming a snapshot").kv("shard", shard.id).kv("to", stream->to)
      .kv("index", stream->source->meta().index);
  const std::uint64_t id = next_stream_id_++;
  snapshot_streams_.emplace(id, std::move(stream));
  continue_snapshot_stream(id);
}

void Node::continue_snapshot_stream(std::uint64_t stream_id) {
  auto it = snapshot_streams_.find(stream_id);
  if (it == snapshot_streams_.end() || stopping_) return;
  SnapshotStream& s = *it->second;
  Shard& shard = *shards_.at(s.group);
  for (int sent = 0; sent < kChunksPerTurn && s.has_next; ++sent) {
    std::string data = std::move(s.next_chunk);
    auto more = s.source->next_chunk(&s.next_chunk);
    if (!more.ok()) {
      KV_LOG(kWarn, "snapshot read failed").kv("shard", s.group).kv("error", more.status().to_string());
      shard.raft.report_snapshot(s.to, false);
      snapshot_streams_.erase(it);
      return;
    }
    const raft::SnapshotMeta& meta = s.source->meta();
    net::SnapshotChunk chunk{s.group, meta.index, meta.term, s.seq, std::move(data), !*more};
    if (!transport_->send_snapshot_chunk(s.to, chunk)) {
      // No room in the peer's queue: keep the chunk and try again shortly.
      s.next_chunk = std::move(chunk.data);
      s.has_next = true;
      if (++s.retries > kMaxChunkRetries) {
        KV_LOG(kWarn, "snapshot stream abandoned").kv("shard", s.group).kv("to", s.to);
        shard.raft.report_snapshot(s.to, false);
        snapshot_streams_.erase(it);
        return;
      }
      s.retry_timer.expires_after(kChunkRetry);
      s.retry_timer.async_wait([this, stream_id](const std::error_code& ec) {
        if (!ec) continue_snapshot_stream(stream_id);
      });
      return;
    }
    // The chunk we consumed ahead is sent; what next_chunk() produced is the new look-ahead.
    ++s.seq;
    s.retries = 0;
    s.has_next = *more;
  }
  if (s.has_next) {
    asio::post(io_, [this, stream_id] { continue_snapshot_stream(stream_id); });
    return;
  }
  KV_LOG(kInfo, "snapshot streamed").kv("shard", s.group).kv("to", s.to).kv("chunks", s.seq);
  const raft::NodeId to = s.to;
  transport_->send(to, s.group, std::move(s.message));
  snapshot_streams_.erase(it);
}

void Node::on_snapshot_chunk(raft::NodeId from, net::SnapshotChunk chunk) {
  auto it = shards_.find(chunk.group);
  if (it == shards_.end()) return;
  Shard& shard = *it->second;
  if (chunk.seq == 0) {
    auto sink = store_->begin_snapshot_receive(shard.id);
    if (!sink.ok()) {
      KV_LOG(kWarn, "cannot receive a snapshot").kv("shard", shard.id).kv("error", sink.status().to_string());
      return;
    }
    shard.snapshot_sink = std::move(*sink);
    shard.snapshot_sink_from = from;
    shard.snapshot_sink_next_seq = 0;
  } else if (!shard.snapshot_sink || shard.snapshot_sink_from != from) {
    return;  // the rest of a stream whose start we did not accept
  }
  if (chunk.seq != shard.snapshot_sink_next_seq++) {
    // Chunks queued on a connection that failed are lost; the rest of this stream is
    // useless. The leader's snapshot times out and it streams a fresh one.
    KV_LOG(kWarn, "snapshot stream has a gap").kv("shard", shard.id).kv("from", from).kv("seq", chunk.seq);
    shard.snapshot_sink.reset();
    return;
  }
  const storage::Status status = shard.snapshot_sink->add_chunk(chunk.data);
  if (!status.ok()) {
    KV_LOG(kWarn, "snapshot chunk refused").kv("shard", shard.id).kv("from", from).kv("error", status.to_string());
    shard.snapshot_sink.reset();
    return;
  }
  if (!chunk.last) return;
  if (!shard.snapshot_sink->complete()) {
    KV_LOG(kWarn, "snapshot stream ended early").kv("shard", shard.id).kv("from", from);
    shard.snapshot_sink.reset();
    return;
  }
  auto staged = shard.snapshot_sink->finish();
  shard.snapshot_sink.reset();
  if (!staged.ok()) {
    KV_LOG(kWarn, "cannot stage a snapshot").kv("shard", shard.id).kv("error", staged.status().to_string());
    return;
  }
  shard.received_image = std::move(*staged);
}

bool Node::attach_received_image(Shard& shard, raft::NodeId from, raft::Message& message) {
  if (!shard.received_image || shard.snapshot_sink_from != from) return false;  // the leader retries later
  message.snapshot->meta = shard.received_image->meta();
  message.snapshot->data.clear();
  shard.attached_image = std::move(shard.received_image);
  shard.received_image.reset();
  return true;
}

}  // namespace kv::server
