#include "server/node.h"

#include <asio/post.hpp>
#include <cstdlib>
#include <random>
#include <set>

#include "common/assert.h"
#include "server/internal_client.h"
#include "server/log.h"
#include "server/node_impl.h"

namespace kv::server {

namespace {

raft::Config raft_config(const ServerOptions& o, storage::GroupId group, raft::LogIndex applied) {
  raft::Config c;
  c.id = o.node_id;
  c.election_timeout_ticks = static_cast<int>(o.election_ticks);
  c.heartbeat_interval_ticks = static_cast<int>(o.heartbeat_ticks);
  c.snapshot_interval_entries = o.snapshot_interval_entries;
  c.applied = applied;
  // Followers learn of a commit from the next append, or at the next tick: a write then
  // costs one message and one answer per follower instead of two of each.
  c.defer_commit_broadcast = true;
  // Real randomness here (not in the core): nodes restarted together must not tie forever.
  c.random_seed = std::random_device{}() ^ (group << 32);
  return c;
}

net::PeerTransportOptions transport_options(const ServerOptions& o) {
  net::PeerTransportOptions t;
  t.self = o.node_id;
  t.cluster_id = cluster_id_of(o.cluster_name);
  std::uint16_t port = 0;
  const bool ok = split_host_port(o.self().peer_addr, t.listen_host, port);
  KV_ASSERT(ok);
  t.listen_port = port;
  return t;
}

net::ClientServerOptions client_options(const ServerOptions& o) {
  net::ClientServerOptions c;
  std::uint16_t port = 0;
  const bool ok = split_host_port(o.self().client_addr, c.listen_host, port);
  KV_ASSERT(ok);
  c.listen_port = port;
  return c;
}

std::vector<raft::NodeId> member_ids(const ServerOptions& o) {
  std::vector<raft::NodeId> ids;
  for (const MemberSpec& m : o.initial_cluster) ids.push_back(m.id);
  return ids;
}

// kvd --crash-txn-at: dies like kill -9 at the named step (tests of recovery).
TxnStepHook crash_hook(const std::string& step_name) {
  if (step_name.empty()) return {};
  const TxnStep step = step_name == "some-prepared"  ? TxnStep::kSomePrepared
                       : step_name == "all-prepared" ? TxnStep::kAllPrepared
                                                     : TxnStep::kDecided;
  return [step, step_name](TxnStep reached) {
    if (reached != step) return;
    KV_LOG(kWarn, "crashing on purpose (--crash-txn-at)").kv("step", step_name);
    std::_Exit(9);
  };
}

}  // namespace

Node::Node(const ServerOptions& options, std::unique_ptr<storage::NodeStore> store)
    : options_(options),
      store_(std::move(store)),
      map_(options_.shards, member_ids(options_)),
      tick_timer_(io_),
      sweep_timer_(io_),
      signals_(io_, SIGTERM, SIGINT) {
  layout_error_ = check_shard_layout();
  if (layout_error_.empty()) open_shards();
  worker_ = std::make_unique<StorageWorker>(*store_, [this](std::vector<StorageWorker::Done> done) {
    asio::post(io_, [this, done = std::move(done)]() mutable { on_storage_done(std::move(done)); });
  });
  std::vector<std::string> endpoints;
  for (const MemberSpec& m : options_.initial_cluster) endpoints.push_back(m.client_addr);
  internal_client_ = std::make_unique<InternalClient>(io_, std::move(endpoints));
  coordinator_ = std::make_unique<TxnCoordinator>(
      map_,
      [this](net::RequestOp op, std::string key) { return call_shard(std::move(op), std::move(key)); },
      [this] {
        TxnId id = 0;
        while (id == 0) id = txn_ids_();
        return id;
      },
      crash_hook(options_.crash_txn_at));
  transport_ = std::make_unique<net::PeerTransport>(
      io_, transport_options(options_),
      [this](raft::NodeId from, std::span<net::GroupMessage> messages) { on_peer_messages(from, messages); },
      [this](raft::NodeId from, net::SnapshotChunk chunk) { on_snapshot_chunk(from, std::move(chunk)); });
  clients_ = std::make_unique<net::ClientServer>(
      io_, client_options(options_),
      [this](net::Request request, net::ClientServer::Responder responder) {
        on_request(std::move(request), std::move(responder));
      });
}

std::string Node::check_shard_layout() const {
  std::set<storage::GroupId> expected;
  for (const ShardPlacement& p : map_.shards()) {
    if (p.replicated_on(options_.node_id)) expected.insert(p.id);
  }
  const std::vector<storage::GroupId> present = store_->groups();
  if (present.empty() || std::set<storage::GroupId>(present.begin(), present.end()) == expected) return {};
  auto list = [](const auto& groups) {
    std::string text;
    for (storage::GroupId g : groups) {
      // Appended piece by piece: g++ 12 -O3 reports a false -Wrestrict on "," + to_string().
      if (!text.empty()) text.push_back(',');
      text.append(std::to_string(g));
    }
    return text;
  };
  return "the data directory holds shards {" + list(present) + "} but --shards " + std::to_string(options_.shards) +
         " with this --initial-cluster puts shards {" + list(expected) +
         "} on this node: start it with the shard count the cluster was created with";
}

void Node::open_shards() {
  if (store_->groups().empty()) {
    // A new cluster: every node creates its shards with the same membership (the map is
    // computed alike everywhere).
    for (const ShardPlacement& p : map_.shards()) {
      if (!p.replicated_on(options_.node_id)) continue;
      raft::ConfState conf;
      conf.voters = p.replicas;
      auto created = store_->create_group(p.id, conf);
      KV_ASSERT_MSG(created.ok(), created.status().to_string().c_str());
    }
  }
  for (storage::GroupId g : store_->groups()) {
    const storage::GroupLog* log = store_->group(g);
    const raft::LogIndex applied = store_->data().applied_index(g);
    auto shard = std::make_unique<Shard>(map_.shard(g), raft_config(options_, g, applied), *log, store_->data(),
                                         options_.max_sessions);
    const storage::Status loaded = shard->state_machine.load();
    KV_ASSERT_MSG(loaded.ok(), loaded.to_string().c_str());
    shard->applied = applied;
    KV_LOG(kInfo, "shard opened").kv("shard", g).kv("applied", applied).kv("first_index", log->first_index())
        .kv("last_index", log->last_index()).kv("term", log->hard_state().term);
    shards_.emplace(g, std::move(shard));
  }
}

Node::~Node() {
  if (worker_) worker_->stop();
}

bool Node::start() {
  if (!layout_error_.empty()) {
    KV_LOG(kError, "refusing to start: wrong shard layout").kv("dir", options_.data_dir).kv("error", layout_error_);
    return false;
  }
  auto peer_port = transport_->start();
  if (!peer_port.ok()) {
    KV_LOG(kError, "cannot listen for peers").kv("addr", options_.self().peer_addr).kv("error", peer_port.error());
    return false;
  }
  auto client_port = clients_->start();
  if (!client_port.ok()) {
    KV_LOG(kError, "cannot listen for clients").kv("addr", options_.self().client_addr).kv("error", client_port.error());
    return false;
  }
  for (const MemberSpec& m : options_.initial_cluster) {
    if (m.id == options_.node_id) continue;
    std::string host;
    std::uint16_t port = 0;
    if (split_host_port(m.peer_addr, host, port)) transport_->add_peer(m.id, host, port);
  }
  KV_LOG(kInfo, "kvd serving").kv("peers", options_.self().peer_addr).kv("clients", options_.self().client_addr)
      .kv("shards", shards_.size());
  return true;
}

void Node::run() {
  storage::disable_perf_counters_on_this_thread();  // serializable reads use the store here
  signals_.async_wait([this](const std::error_code& ec, int signal) {
    if (ec) return;
    KV_LOG(kInfo, "shutting down").kv("signal", signal);
    shutdown();
  });
  next_tick_ = Clock::now();
  on_tick();
  expire_requests();
  io_.run();
}

void Node::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  clients_->stop();
  internal_client_->close();
  transport_->stop();
  tick_timer_.cancel();
  sweep_timer_.cancel();
  // Acknowledged writes are durable already; what the worker holds is finished, then dropped.
  worker_->stop();
  io_.stop();
}

// ---- The Raft loop ----------------------------------------------------------------------

void Node::on_tick() {
  if (stopping_) return;
  for (auto& [id, shard] : shards_) shard->raft.tick();
  schedule_drive();
  // Fixed rate: a late tick does not push every later tick back.
  next_tick_ += std::chrono::milliseconds(options_.tick_ms);
  if (next_tick_ < Clock::now()) next_tick_ = Clock::now();
  tick_timer_.expires_at(next_tick_);
  tick_timer_.async_wait([this](const std::error_code& ec) {
    if (!ec) on_tick();
  });
}

void Node::on_peer_messages(raft::NodeId from, std::span<net::GroupMessage> messages) {
  for (net::GroupMessage& gm : messages) {
    auto it = shards_.find(gm.group);
    if (it == shards_.end()) continue;  // a shard this node does not hold
    Shard& shard = *it->second;
    if (gm.message.type == raft::MessageType::kSnapshot && !attach_received_image(shard, from, gm.message)) continue;
    shard.raft.step(gm.message);
  }
  schedule_drive();
}

void Node::schedule_drive() {
  if (drive_scheduled_ || stopping_) return;
  drive_scheduled_ = true;
  // Everything that arrives in this turn of the loop shares one propose and one Ready.
  asio::post(io_, [this] {
    drive_scheduled_ = false;
    drive();
  });
}

void Node::drive() {
  if (stopping_) return;
  std::vector<StorageWorker::Job> jobs;
  for (auto& [id, shard] : shards_) drive_shard(*shard, jobs);
  if (jobs.empty()) return;
  if (is_small(jobs)) {
    persist_here(std::move(jobs), kYieldsBeforeFsync);
  } else {
    worker_->submit(std::move(jobs));
  }
}

// At one or a few clients a Ready's storage work is one small write, and handing it to the
// storage thread and back costs more CPU than the write: two thread wake-ups per Ready on
// every node. (Measured with kvbench put at 1 client: about 25% more writes per server
// CPU-second when such batches stay on this thread.) Larger batches, or any batch while the
// storage thread is busy, still go to it, so that this thread keeps serving the network
// while an fsync runs.
bool Node::is_small(const std::vector<StorageWorker::Job>& jobs) {
  std::size_t entries = 0;
  for (const StorageWorker::Job& job : jobs) {
    if (job.ready.snapshot) return false;
    entries += job.ready.entries.size() + job.ready.committed_entries.size();
  }
  return entries <= kSmallBatchEntries;
}

void Node::persist_here(std::vector<StorageWorker::Job> jobs, int yields_left) {
  if (stopping_) return;  // nothing in it was acknowledged
  // Shards must not write from two threads at once: while the storage thread has work (from
  // a drive during a yield below, too), the batch follows it there.
  if (!worker_->idle()) {
    worker_->submit(std::move(jobs));
    return;
  }
  bool must_sync = false;
  for (const StorageWorker::Job& job : jobs) must_sync = must_sync || job.ready.must_sync;
  // The appends this Ready sent must leave before an fsync blocks the thread, or the
  // followers' fsyncs would wait for the leader's. The transport writes from this thread's
  // loop, so yield to it (a bounded number of times: a peer still connecting keeps its
  // queue).
  if (must_sync && yields_left > 0 && transport_->has_unsent()) {
    asio::post(io_, [this, jobs = std::move(jobs), yields_left]() mutable {
      persist_here(std::move(jobs), yields_left - 1);
    });
    return;
  }
  on_storage_done(StorageWorker::process(*store_, jobs));
}

void Node::drive_shard(Shard& shard, std::vector<StorageWorker::Job>& jobs) {
  flush_proposals(shard);
  start_read_round(shard);
  if (shard.ready_in_flight) {
    // The leader's appends need not wait for its own fsync in flight (raw_node.h).
    std::vector<raft::Message> early = shard.raft.take_messages();
    send_messages(shard, early);
    return;
  }
  if (!shard.raft.has_ready()) return;
  raft::Ready rd = shard.raft.ready();
  if (rd.soft_state) note_soft_state(shard, *rd.soft_state);
  send_messages(shard, rd.messages);  // the leader's appends leave before its own fsync
  if (!rd.hard_state && rd.entries.empty() && !rd.snapshot && rd.committed_entries.empty()) {
    // Nothing to persist or apply (heartbeats, their answers, read states: most Readys of
    // an idle shard): finished here, without a round trip through the storage thread.
    StorageWorker::Done done{shard.id, std::move(rd), {}};
    finish_ready(shard, done);
    return;
  }
  shard.ready_in_flight = true;
  StorageWorker::Job job{shard.id, std::move(rd), std::nullopt, &shard.state_machine};
  if (job.ready.snapshot) {
    job.image = std::move(shard.attached_image);
    shard.attached_image.reset();
    KV_ASSERT_MSG(job.image && job.image->meta().index == job.ready.snapshot->meta.index,
                  "a snapshot to install without its image");
  }
  jobs.push_back(std::move(job));
}

void Node::on_storage_done(std::vector<StorageWorker::Done> done) {
  if (stopping_) return;
  for (StorageWorker::Done& d : done) finish_ready(*shards_.at(d.group), d);
  schedule_drive();
}

void Node::finish_ready(Shard& shard, StorageWorker::Done& done) {
  raft::Ready& rd = done.ready;
  send_messages(shard, rd.messages_after_persist);
  raft::LogIndex applied = shard.applied;
  if (rd.snapshot) applied = std::max(applied, rd.snapshot->meta.index);
  if (!rd.committed_entries.empty()) applied = rd.committed_entries.back().index;
  shard.applied = applied;
  complete_writes(shard, done.results, applied);
  complete_reads(shard, rd.read_states);
  // Locks go only when a transaction resolves: that is when waiting requests may proceed.
  const std::size_t prepared = shard.state_machine.prepared_count();
  if (prepared < shard.prepared_seen && (!shard.blocked_reads.empty() || !shard.blocked_writes.empty())) {
    retry_blocked(shard);
  }
  shard.prepared_seen = prepared;
  if (rd.snapshot_request) maybe_compact(shard, *rd.snapshot_request);
  shard.raft.advance(rd);
  shard.ready_in_flight = false;
}

void Node::maybe_compact(Shard& shard, raft::LogIndex snapshot_index) {
  // Here, on the thread that drives the core: it checks the log's bounds and then reads,
  // and a compaction from another thread in between would pull entries from under it.
  const storage::GroupLog* log = store_->group(shard.id);
  KV_ASSERT(log != nullptr);
  if (snapshot_index <= log->snapshot()->meta.index) return;
  // The state machine image is produced on demand when a follower needs one: the snapshot
  // record only names the index it stands for.
  storage::Status status = store_->create_snapshot(shard.id, snapshot_index, log->initial_state().conf, {});
  KV_ASSERT_MSG(status.ok(), status.to_string().c_str());
  if (snapshot_index > options_.log_keep_entries) {
    status = store_->compact(shard.id, snapshot_index - options_.log_keep_entries);
    KV_ASSERT_MSG(status.ok(), status.to_string().c_str());
  }
  KV_LOG(kInfo, "log compacted").kv("shard", shard.id).kv("snapshot_index", snapshot_index)
      .kv("first_index", log->first_index());
}

void Node::send_messages(Shard& shard, std::vector<raft::Message>& messages) {
  for (raft::Message& m : messages) {
    if (m.type == raft::MessageType::kSnapshot) {
      start_snapshot_stream(shard, std::move(m));
      continue;
    }
    const raft::NodeId to = m.to;
    transport_->send(to, shard.id, std::move(m));
  }
}

void Node::note_soft_state(Shard& shard, const raft::SoftState& soft) {
  if (soft.leader != shard.soft_state.leader || soft.role != shard.soft_state.role) {
    KV_LOG(kInfo, "raft role").kv("shard", shard.id).kv("role", raft::to_string(soft.role)).kv("leader", soft.leader)
        .kv("term", shard.raft.term());
  }
  const bool lost_leadership = shard.soft_state.role == raft::Role::kLeader && soft.role != raft::Role::kLeader;
  shard.soft_state = soft;
  if (lost_leadership) {
    // Reads waiting for a round this node led will never complete here: send them on.
    for (auto& [ctx, round] : shard.read_rounds) {
      for (Waiter& w : round.reads) reject_not_leader(shard, w);
    }
    shard.read_rounds.clear();
  }
}

// ---- Entry point ------------------------------------------------------------------------

int run_node(const ServerOptions& options) {
  set_log_level(options.log_level);
  set_log_node(options.node_id);
  storage::StoreOptions store_options;
  store_options.path = options.data_dir;
  store_options.cluster_id = options.cluster_name;
  store_options.node_id = options.node_id;
  auto store = storage::NodeStore::open(store_options);
  if (!store.ok()) {
    KV_LOG(kError, "refusing to start: the data directory cannot be used").kv("dir", options.data_dir)
        .kv("error", store.status().to_string());
    return 1;
  }
  Node node(options, std::move(*store));
  if (!node.start()) return 1;
  node.run();
  KV_LOG(kInfo, "stopped");
  return 0;
}

}  // namespace kv::server
