// The node's internals, shared by node.cc (wiring and the Raft loop), node_requests.cc
// (client requests) and node_snapshots.cc (streaming snapshots). Internal to src/server.
//
// Threads: everything here runs on the network thread (the io_context's), except the
// StorageWorker's thread, which hands finished Readys back through asio::post. Small
// batches of Readys are persisted on the network thread itself while the storage thread is
// idle (Node::persist_here); a shard's Ready is in one place at a time (ready_in_flight).
#pragma once

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "net/client_server.h"
#include "net/peer_transport.h"
#include "server/options.h"
#include "server/shard.h"
#include "server/shard_map.h"
#include "server/txn_coordinator.h"
#include "server/storage_worker.h"
#include "storage/node_store.h"

namespace kv::server {

class InternalClient;

class Node {
 public:
  Node(const ServerOptions& options, std::unique_ptr<storage::NodeStore> store);
  ~Node();
  // Binds the listeners; false (with a logged reason) when one cannot be bound.
  bool start();
  void run();

 private:
  // node.cc: the Raft loop
  std::string check_shard_layout() const;
  void open_shards();
  void on_tick();
  void on_peer_messages(raft::NodeId from, std::span<net::GroupMessage> messages);
  void schedule_drive();
  void drive();
  void drive_shard(Shard& shard, std::vector<StorageWorker::Job>& jobs);
  static bool is_small(const std::vector<StorageWorker::Job>& jobs);
  void persist_here(std::vector<StorageWorker::Job> jobs, int yields_left);
  void on_storage_done(std::vector<StorageWorker::Done> done);
  void finish_ready(Shard& shard, StorageWorker::Done& done);
  void send_messages(Shard& shard, std::vector<raft::Message>& messages);
  void maybe_compact(Shard& shard, raft::LogIndex snapshot_index);
  void note_soft_state(Shard& shard, const raft::SoftState& soft);
  void shutdown();

  // node_requests.cc: client requests
  void on_request(net::Request request, net::ClientServer::Responder responder);
  void handle_write(Shard& shard, Waiter waiter);
  void handle_read(Shard& shard, Waiter waiter);
  void serve_read(Shard& shard, Waiter& waiter);
  static void answer_waiter(Waiter& waiter, net::ResponseBody body);
  void flush_proposals(Shard& shard);
  void start_read_round(Shard& shard);
  void complete_writes(Shard& shard, std::vector<ApplyResult>& results, raft::LogIndex applied_to);
  void complete_reads(Shard& shard, std::vector<raft::ReadState>& read_states);
  void expire_requests();
  net::ResponseBody status_body() const;
  net::ResponseBody members_body() const;
  void reject_not_leader(Shard& shard, Waiter& waiter);
  net::LeaderHint leader_hint(const Shard& shard) const;
  Shard* local_shard(const ShardPlacement& placement);
  void reject_not_here(const ShardPlacement& placement, Waiter& waiter);
  std::size_t pending_requests() const;
  void retry_blocked(Shard& shard);

  // node_txns.cc: transactions, the shard map, leader balance
  void on_txn_commit(Waiter waiter);
  asio::awaitable<void> coordinate(Waiter waiter, TxnParts parts);
  asio::awaitable<net::ResponseBody> call_shard(net::RequestOp op, std::string route_key);
  void recover_abandoned_txns();
  void balance_leaders();
  void claim_leadership(Shard& shard);
  net::ResponseBody shard_map_body() const;

  // node_snapshots.cc: streaming state machine images to followers
  void start_snapshot_stream(Shard& shard, raft::Message message);
  void continue_snapshot_stream(std::uint64_t stream_id);
  void on_snapshot_chunk(raft::NodeId from, net::SnapshotChunk chunk);
  bool attach_received_image(Shard& shard, raft::NodeId from, raft::Message& message);

  const ServerOptions options_;
  std::unique_ptr<storage::NodeStore> store_;
  const ShardMap map_;
  std::string layout_error_;  // non-empty: the data directory does not match the map
  asio::io_context io_;
  asio::steady_timer tick_timer_;
  asio::steady_timer sweep_timer_;
  asio::signal_set signals_;
  Clock::time_point next_tick_;
  std::map<storage::GroupId, std::unique_ptr<Shard>> shards_;
  std::unique_ptr<net::PeerTransport> transport_;
  std::unique_ptr<net::ClientServer> clients_;
  std::unique_ptr<StorageWorker> worker_;
  bool drive_scheduled_ = false;
  // A batch that persists and applies at most this many entries in all is done on this
  // thread when the storage thread is idle (Node::is_small).
  static constexpr std::size_t kSmallBatchEntries = 4;
  static constexpr int kYieldsBeforeFsync = 3;
  bool stopping_ = false;

  std::unique_ptr<TxnCoordinator> coordinator_;
  std::unique_ptr<InternalClient> internal_client_;  // how the coordinator reaches other shards
  std::set<TxnId> recovering_;
  std::mt19937_64 txn_ids_{std::random_device{}()};
  Clock::time_point next_balance_;

  struct SnapshotStream {
    explicit SnapshotStream(asio::io_context& io) : retry_timer(io) {}
    storage::GroupId group = 0;
    raft::NodeId to = raft::kNoNode;
    raft::Message message;
    std::unique_ptr<storage::SnapshotSource> source;
    std::string next_chunk;  // read ahead, so the chunk before it knows whether it is the last
    bool has_next = false;
    std::uint64_t seq = 0;
    int retries = 0;
    asio::steady_timer retry_timer;
  };
  std::map<std::uint64_t, std::unique_ptr<SnapshotStream>> snapshot_streams_;
  std::uint64_t next_stream_id_ = 1;
};

}  // namespace kv::server
