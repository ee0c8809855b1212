#include "sim/cluster.h"

#include <algorithm>

#include "common/assert.h"

namespace kv::sim {

using raft::Message;
using raft::Ready;

namespace {

std::string node_name(NodeId id) { return "n" + std::to_string(id); }

}  // namespace

Cluster::Cluster(const SimParams& params, Trace& trace)
    : params_(params),
      trace_(trace),
      rng_(params.seed ^ 0xc1c1'0000'0000'0002ULL),
      network_(params.node_count, Rng(params.seed ^ 0x4e74'0000'0000'0003ULL), trace),
      checker_(params.node_count) {
  KV_ASSERT(params.node_count >= 1);
  KV_ASSERT(params.tick_period.size() == static_cast<std::size_t>(params.node_count));
  raft::ConfState conf;
  for (int i = 1; i <= params.node_count; ++i) conf.voters.push_back(static_cast<NodeId>(i));
  for (NodeId id : conf.voters) {
    nodes_.push_back(std::make_unique<SimNode>(id, params.raft, conf));
    restart(id);
  }
  network_.set_faults(params.faults);
}

SimNode& Cluster::node(NodeId id) {
  KV_ASSERT(id >= 1 && id <= nodes_.size());
  return *nodes_[static_cast<std::size_t>(id - 1)];
}

const SimNode& Cluster::node(NodeId id) const {
  KV_ASSERT(id >= 1 && id <= nodes_.size());
  return *nodes_[static_cast<std::size_t>(id - 1)];
}

void Cluster::after_event(SimNode& n) {
  ++steps_;
  if (n.up()) checker_.observe(n.id(), n.raw().status(), n.ready_seq());
}

void Cluster::send(const Message& m) {
  checker_.on_send(m);
  if (trace_.on()) trace_.line("send " + describe(m));
  if (!network_.send(now_, m) && m.type == raft::MessageType::kSnapshot) {
    failed_snapshots_.emplace_back(m.from, m.to);
  }
}

void Cluster::report_failed_snapshots() {
  auto failed = std::move(failed_snapshots_);
  failed_snapshots_.clear();
  for (const auto& [from, to] : failed) {
    SimNode& sender = node(from);
    if (!sender.up()) continue;
    if (trace_.on()) trace_.line(node_name(from) + " report_snapshot to " + node_name(to) + " failed");
    sender.raw().report_snapshot(to, false);
    after_event(sender);
  }
}

void Cluster::deliver_due() {
  report_failed_snapshots();
  while (auto m = network_.pop_due(now_)) {
    SimNode& to = node(m->to);
    if (!to.up()) {
      if (trace_.on()) trace_.line("lost (node down) " + describe(*m));
      if (m->type == raft::MessageType::kSnapshot) failed_snapshots_.emplace_back(m->from, m->to);
      continue;
    }
    if (trace_.on()) trace_.line("recv " + describe(*m));
    to.raw().step(*m);
    after_event(to);
    if (checker_.failed()) return;
  }
}

void Cluster::tick(NodeId id) {
  SimNode& n = node(id);
  KV_ASSERT(n.up());
  if (trace_.on()) trace_.line(node_name(id) + " tick");
  n.raw().tick();
  after_event(n);
}

void Cluster::drive_ready(NodeId id) {
  SimNode& n = node(id);
  if (!n.up()) return;
  switch (n.stage()) {
    case ReadyStage::kNone:
      if (!n.raw().has_ready()) return;
      stage_pull(n);
      break;
    case ReadyStage::kPulled:
      stage_persist(n);
      break;
    case ReadyStage::kPersisted:
      stage_send(n);
      break;
    case ReadyStage::kSent:
      stage_apply(n);
      break;
    case ReadyStage::kApplied:
      if (trace_.on()) trace_.line(node_name(id) + " advance");
      n.finish_ready();
      break;
  }
  after_event(n);
}

void Cluster::stage_pull(SimNode& n) {
  const Ready& r = n.pull_ready();
  if (trace_.on()) trace_.line(node_name(n.id()) + " ready#" + std::to_string(n.ready_seq()) + describe(r));
  checker_.on_ready(n.id(), r, n.storage());
  n.set_sent_early(rng_.chance(params_.early_send_ppm));
  if (n.sent_early()) {
    for (const Message& m : r.messages) send(m);
  }
}

void Cluster::stage_persist(SimNode& n) {
  const Ready& r = n.ready();
  checker_.before_persist(n.id(), r, n.storage(), n.state_machine().applied());
  // Malformed input would trip MemoryStorage's own assertions: report the checker's reason.
  if (checker_.failed()) return;
  if (trace_.on()) trace_.line(node_name(n.id()) + " persist");
  if (!n.persist()) {
    checker_.report(node_name(n.id()) + ": MemoryStorage refused Ready::snapshot as not newer");
    return;
  }
  if (r.snapshot) {
    if (!n.restore_state_machine(*r.snapshot)) {
      checker_.report(node_name(n.id()) + ": snapshot data at " +
                      std::to_string(r.snapshot->meta.index) + " does not parse");
      return;
    }
    if (trace_.on()) trace_.line(node_name(n.id()) + " state machine restored from snapshot");
    checker_.on_restore(n.id(), n.state_machine());
  }
  checker_.after_persist(n.id(), r, n.storage(), n.ready_seq());
}

void Cluster::stage_send(SimNode& n) {
  if (trace_.on()) trace_.line(node_name(n.id()) + " send after persist");
  if (!n.sent_early()) {
    for (const Message& m : n.ready().messages) send(m);
  }
  for (const Message& m : n.ready().messages_after_persist) send(m);
  n.mark_sent();
}

void Cluster::stage_apply(SimNode& n) {
  const Ready& r = n.ready();
  for (const raft::Entry& e : r.committed_entries) {
    checker_.before_apply(n.id(), e, n.storage(), n.state_machine().applied());
    if (checker_.failed()) return;
    if (trace_.on()) trace_.line(node_name(n.id()) + " apply " + describe(e));
    n.apply(e);
  }
  for (const raft::ReadState& rs : r.read_states) {
    if (checker_.on_read_state(n.id(), rs)) {
      n.pending_reads().push_back(rs);
    } else if (trace_.on()) {
      trace_.line(node_name(n.id()) + " read " + rs.context + " already answered: copy ignored");
    }
  }
  serve_reads(n);
  if (r.snapshot_request) serve_snapshot_request(n, *r.snapshot_request);
  n.mark_applied();
}

void Cluster::serve_snapshot_request(SimNode& n, LogIndex request) {
  if (!checker_.check_snapshot_request(n.id(), request, n.state_machine().applied(), n.storage())) {
    if (trace_.on()) trace_.line(node_name(n.id()) + " snapshot request " + std::to_string(request) + " skipped");
    return;
  }
  // Keep a random number of entries behind the snapshot, as a real log would for followers
  // that are only slightly behind.
  const LogIndex lag = std::min<LogIndex>(rng_.between(0, params_.compact_lag_max), request);
  if (trace_.on()) {
    trace_.line(node_name(n.id()) + " snapshot at " + std::to_string(request) + ", compact to " +
                std::to_string(request - lag));
  }
  n.take_snapshot(request, request - lag);
}

void Cluster::serve_reads(SimNode& n) {
  auto& pending = n.pending_reads();
  const LogIndex applied = n.state_machine().applied();
  const auto ready = [applied](const raft::ReadState& rs) { return rs.index <= applied; };
  for (const auto& rs : pending) {
    if (!ready(rs)) continue;
    ++reads_served_;
    served_contexts_.insert(rs.context);
    if (trace_.on()) {
      trace_.line(node_name(n.id()) + " serve read " + rs.context + " at " + std::to_string(rs.index) +
                  " (applied " + std::to_string(applied) + ")");
    }
  }
  pending.erase(std::remove_if(pending.begin(), pending.end(), ready), pending.end());
}

void Cluster::crash(NodeId id) {
  SimNode& n = node(id);
  KV_ASSERT(n.up());
  const ReadyStage stage = n.stage();
  const CrashReport report = n.crash(rng_);
  checker_.on_crash(id);
  ++steps_;
  if (trace_.on()) {
    trace_.line(node_name(id) + " CRASH (ready stage " + to_string(stage) + "; kept " +
                std::to_string(report.kept_writes) + "/" + std::to_string(report.buffered_writes) +
                " unsynced writes; durable " + describe(report.durable_hard_state) + " applied " +
                std::to_string(report.durable_applied) + ")");
  }
}

std::uint64_t Cluster::node_seed(const SimNode& n) const {
  std::uint64_t state = params_.seed ^ (n.id() << 32) ^ (n.incarnation() + 1);
  return splitmix64(state);
}

void Cluster::restart(NodeId id) {
  SimNode& n = node(id);
  KV_ASSERT(!n.up());
  const raft::HardState durable = n.storage().initial_state().hard_state;
  if (!n.restart(node_seed(n))) {
    checker_.report(node_name(id) + ": stored snapshot image does not parse at restart");
    return;
  }
  if (trace_.on()) {
    trace_.line(node_name(id) + " RESTART incarnation " + std::to_string(n.incarnation()) + " from " +
                describe(durable) + " applied " + std::to_string(n.state_machine().applied()) + " log [" +
                std::to_string(n.storage().first_index()) + ", " + std::to_string(n.storage().last_index()) + "]");
  }
  checker_.on_restart(id, durable);
  checker_.on_restore(id, n.state_machine());
  after_event(n);
}

raft::ProposeResult Cluster::propose(NodeId id, std::vector<std::string> commands) {
  SimNode& n = node(id);
  KV_ASSERT(n.up());
  const std::string what = trace_.on() ? commands.front() + (commands.size() > 1 ? "..." : "") : "";
  const auto result = n.raw().propose(std::move(commands));
  if (trace_.on()) {
    trace_.line(node_name(id) + " propose " + what +
                (result.error == raft::ProposeError::kNone ? " at " + std::to_string(result.first_index)
                                                           : std::string(" rejected")));
  }
  after_event(n);
  return result;
}

bool Cluster::read_index(NodeId id, const std::string& context) {
  SimNode& n = node(id);
  KV_ASSERT(n.up());
  const LogIndex floor = checker_.max_commit_seen();
  const bool started = n.raw().read_index(context);
  if (trace_.on()) {
    trace_.line(node_name(id) + " read_index " + context + (started ? " (commit floor " + std::to_string(floor) + ")"
                                                                    : " refused: no leader"));
  }
  if (started) checker_.on_read_request(id, context, floor);
  after_event(n);
  return started;
}

void Cluster::campaign(NodeId id) {
  SimNode& n = node(id);
  KV_ASSERT(n.up());
  if (trace_.on()) trace_.line(node_name(id) + " campaign");
  n.raw().campaign();
  after_event(n);
}

void Cluster::transfer_leadership(NodeId id, NodeId target) {
  SimNode& n = node(id);
  KV_ASSERT(n.up());
  if (trace_.on()) trace_.line(node_name(id) + " transfer leadership to " + node_name(target));
  n.raw().transfer_leadership(target);
  after_event(n);
}

void Cluster::check_logs() {
  std::vector<const raft::MemoryStorage*> storages;
  for (const auto& n : nodes_) storages.push_back(&n->storage());
  checker_.check_logs(storages);
}

NodeId Cluster::leader() const {
  NodeId best = raft::kNoNode;
  raft::Term best_term = 0;
  for (const auto& n : nodes_) {
    if (!n->up() || n->raw().role() != raft::Role::kLeader) continue;
    if (n->raw().term() >= best_term) {
      best = n->id();
      best_term = n->raw().term();
    }
  }
  return best;
}

bool Cluster::has_applied(NodeId id, const std::string& payload) const {
  const auto& commands = node(id).state_machine().commands();
  return std::any_of(commands.rbegin(), commands.rend(),
                     [&payload](const StateMachine::Command& c) { return c.payload == payload; });
}

}  // namespace kv::sim
