#include "sim/scenario.h"

#include <algorithm>

#include "common/assert.h"

namespace kv::sim {

namespace {

std::string node_name(NodeId id) { return "n" + std::to_string(id); }

}  // namespace

Simulation::Simulation(const SimParams& params, Trace& trace)
    : params_(params),
      trace_(trace),
      rng_(params.seed ^ 0x5ced'0000'0000'0004ULL),
      cluster_(params_, trace),
      storage_ppm_(params.storage_ppm) {
  for (SimTime period : params_.tick_period) {
    // Nodes start at random phases of their clocks.
    next_tick_.push_back(1 + rng_.below(period));
    restart_at_.push_back(0);
    kill_at_.push_back(0);
    led_term_.push_back(0);
  }
}

SimResult run_seed(std::uint64_t seed, Trace& trace) {
  const SimParams params = choose_params(seed);
  Simulation simulation(params, trace);
  return simulation.run();
}

SimResult Simulation::run() {
  if (trace_.on()) trace_.line("params " + describe(params_));
  std::string liveness_violation;
  while (now_ < params_.safety_time && !cluster_.checker().failed()) step(true);
  SimTime liveness_start = 0;
  SimTime budget = 0;
  if (!cluster_.checker().failed()) {
    heal();
    liveness_start = now_;
    budget = params_.liveness_budget + catch_up_allowance();
    const SimTime deadline = now_ + budget;
    while (!cluster_.checker().failed() && !liveness_progress()) {
      if (now_ >= deadline) {
        liveness_violation = "liveness: no progress within " + std::to_string(budget) +
                             " time units after the network healed: " + liveness_report();
        break;
      }
      step(false);
    }
  }
  if (!cluster_.checker().failed()) cluster_.check_logs();

  SimResult result;
  result.seed = params_.seed;
  result.node_count = params_.node_count;
  result.violation = cluster_.checker().failed() ? cluster_.checker().violation() : liveness_violation;
  result.ok = result.violation.empty();
  result.liveness_failure = !result.ok && !cluster_.checker().failed();
  result.steps = cluster_.steps();
  result.end_time = now_;
  result.liveness_time = liveness_start == 0 ? 0 : now_ - liveness_start;
  result.liveness_budget = budget;
  result.leaders = cluster_.checker().leaders_elected();
  result.commit = cluster_.checker().max_commit_seen();
  result.reads = cluster_.reads_served();
  result.crashes = crashes_;
  result.partitions = partitions_;
  result.messages = cluster_.network().sent();
  if (trace_.on()) {
    trace_.line("stats: " + std::to_string(result.steps) + " steps, " + std::to_string(result.leaders) +
                " terms with a leader, commit " + std::to_string(result.commit) + ", " +
                std::to_string(result.reads) + " reads served, " + std::to_string(result.crashes) +
                " crashes, " + std::to_string(result.partitions) + " partition changes, " +
                std::to_string(result.messages) + " messages");
    trace_.line(result.ok ? "result: ok" : "result: VIOLATION " + result.violation);
  }
  return result;
}

void Simulation::step(bool inject_faults) {
  ++now_;
  cluster_.set_time(now_);
  trace_.set_time(now_);
  cluster_.deliver_due();
  cluster_.network().maybe_replay(now_);
  for (NodeId id = 1; id <= static_cast<NodeId>(params_.node_count); ++id) {
    SimTime& next = next_tick_[id - 1];
    if (!cluster_.node(id).up() || next > now_ || cluster_.checker().failed()) continue;
    cluster_.tick(id);
    next += params_.tick_period[id - 1];
  }
  if (cluster_.checker().failed()) return;
  drive_nodes();
  if (cluster_.checker().failed()) return;
  if (inject_faults) {
    maybe_kill_new_leaders();
    maybe_crash_or_restart();
    maybe_partition();
  }
  // After the heal only the liveness probes run: progress must not hide behind a backlog
  // that clients keep growing.
  if (inject_faults) maybe_clients();
  // Incremental checks run at every step; the full pairwise log comparison now and then.
  if (cluster_.steps() - steps_at_log_check_ >= 512) {
    cluster_.check_logs();
    steps_at_log_check_ = cluster_.steps();
  }
}

// Each Ready is pulled as soon as there is one; its later stages each proceed with
// probability storage_ppm per time unit (slow disks leave Readies half done for a while,
// and crashes fall between their stages). With storage_ppm at one million a Ready runs
// start to end within one time unit.
void Simulation::drive_nodes() {
  for (NodeId id = 1; id <= static_cast<NodeId>(params_.node_count); ++id) {
    SimNode& n = cluster_.node(id);
    if (!n.up()) continue;
    if (n.stage() == ReadyStage::kNone) cluster_.drive_ready(id);
    while (n.up() && n.stage() != ReadyStage::kNone && !cluster_.checker().failed() &&
           rng_.chance(storage_ppm_)) {
      cluster_.drive_ready(id);
    }
    if (cluster_.checker().failed()) return;
  }
}

NodeId Simulation::random_up_node() {
  std::vector<NodeId> up;
  for (NodeId id = 1; id <= static_cast<NodeId>(params_.node_count); ++id) {
    if (cluster_.node(id).up()) up.push_back(id);
  }
  return up.empty() ? raft::kNoNode : up[rng_.below(up.size())];
}

// Client back-pressure, as a real server applies it (etcd: MaxUncommittedEntriesSize): no
// new commands while a node's log runs far ahead of its commit index. Without it a slow
// configuration (one entry per message, one message in flight) builds a backlog that no
// bounded liveness phase could drain.
bool Simulation::overloaded(NodeId id) const {
  constexpr LogIndex kMaxUncommitted = 48;
  const raft::Status s = cluster_.node(id).raw().status();
  return s.last_index > s.hard_state.commit + kMaxUncommitted;
}

NodeId Simulation::random_leader() {
  std::vector<NodeId> leaders;
  for (NodeId id = 1; id <= static_cast<NodeId>(params_.node_count); ++id) {
    const SimNode& n = cluster_.node(id);
    if (n.up() && n.raw().role() == raft::Role::kLeader) leaders.push_back(id);
  }
  return leaders.empty() ? raft::kNoNode : leaders[rng_.below(leaders.size())];
}

void Simulation::maybe_crash_or_restart() {
  for (NodeId id = 1; id <= static_cast<NodeId>(params_.node_count); ++id) {
    SimTime& at = restart_at_[id - 1];
    if (at == 0 || at > now_) continue;
    at = 0;
    cluster_.restart(id);
    next_tick_[id - 1] = now_ + 1 + rng_.below(params_.tick_period[id - 1]);
  }
  if (!rng_.chance(params_.crash_ppm)) return;
  // Aim some crashes where they hurt most: the leader, and a node in the middle of a Ready
  // (between persist and send, say).
  NodeId victim = random_up_node();
  const auto aim = rng_.below(10);
  if (aim < 3 && cluster_.leader() != raft::kNoNode) victim = cluster_.leader();
  if (aim >= 3 && aim < 6) {
    for (NodeId id = 1; id <= static_cast<NodeId>(params_.node_count); ++id) {
      const SimNode& n = cluster_.node(id);
      if (n.up() && n.stage() != ReadyStage::kNone) victim = id;
    }
  }
  if (victim != raft::kNoNode) crash(victim);
}

void Simulation::crash(NodeId id) {
  cluster_.crash(id);
  restart_at_[id - 1] = now_ + rng_.between(params_.down_min, params_.down_max);
  kill_at_[id - 1] = 0;
  ++crashes_;
}

void Simulation::maybe_kill_new_leaders() {
  for (NodeId id = 1; id <= static_cast<NodeId>(params_.node_count); ++id) {
    const SimNode& n = cluster_.node(id);
    if (!n.up()) continue;
    SimTime& at = kill_at_[id - 1];
    if (at != 0 && at <= now_) {
      if (trace_.on()) trace_.line(node_name(id) + " killed as a new leader");
      crash(id);
      continue;
    }
    if (n.raw().role() != raft::Role::kLeader || n.raw().term() == led_term_[id - 1]) continue;
    led_term_[id - 1] = n.raw().term();
    // Soon: after it has appended its no-op and perhaps replicated a little, or not at all.
    if (rng_.chance(params_.kill_new_leader_ppm)) at = now_ + rng_.between(1, 4 * params_.faults.delay_max);
  }
}

void Simulation::maybe_partition() {
  const int n = params_.node_count;
  if (rng_.chance(params_.partition_ppm)) {
    // A third of the changes heal; the rest pick any shape (which may also be a heal).
    const auto shape = rng_.chance(kPpmOne / 3)
                           ? PartitionShape::kHeal
                           : static_cast<PartitionShape>(rng_.below(kPartitionShapeCount));
    const Connectivity c = make_partition(shape, n, cluster_.leader(), rng_);
    cluster_.network().set_connectivity(c);
    ++partitions_;
    if (trace_.on()) trace_.line(std::string("PARTITION ") + to_string(shape) + ": cut " + c.describe_cuts());
  }
  if (!rng_.chance(params_.clog_ppm)) return;
  if (rng_.chance(kPpmOne / 3)) {
    cluster_.network().clear_clogs();
    if (trace_.on()) trace_.line("CLOG cleared");
    return;
  }
  const auto from = static_cast<NodeId>(rng_.between(1, static_cast<std::uint64_t>(n)));
  auto to = static_cast<NodeId>(rng_.between(1, static_cast<std::uint64_t>(n - 1)));
  if (to >= from) ++to;
  const SimTime extra = rng_.between(20, 300);
  cluster_.network().set_clog(from, to, extra);
  if (trace_.on()) trace_.line("CLOG " + node_name(from) + "->" + node_name(to) + " +" + std::to_string(extra));
}

void Simulation::maybe_clients() {
  if (rng_.chance(params_.propose_ppm)) {
    // Most clients reach a node that believes it leads, any of them: a deposed leader cut off
    // in a minority keeps accepting commands it can never commit, which is how logs diverge
    // (Raft paper, Figure 7 and Figure 8). Some clients talk to whoever they know.
    const NodeId leader = random_leader();
    const NodeId target = leader != raft::kNoNode && rng_.chance(750'000) ? leader : random_up_node();
    if (target != raft::kNoNode && !overloaded(target)) {
      std::vector<std::string> commands;
      const auto count = rng_.between(1, 3);
      for (std::uint64_t i = 0; i < count; ++i) commands.push_back("p" + std::to_string(next_payload_++));
      (void)cluster_.propose(target, std::move(commands));
    }
  }
  if (rng_.chance(params_.read_ppm)) {
    const NodeId target = random_up_node();
    if (target != raft::kNoNode) (void)cluster_.read_index(target, "r" + std::to_string(next_read_++));
  }
  if (rng_.chance(params_.campaign_ppm)) {
    const NodeId target = random_up_node();
    if (target != raft::kNoNode) cluster_.campaign(target);
  }
  if (rng_.chance(params_.transfer_ppm)) {
    const NodeId leader = cluster_.leader();
    const NodeId target = random_up_node();
    if (leader != raft::kNoNode && target != raft::kNoNode && target != leader) {
      cluster_.transfer_leadership(leader, target);
    }
  }
}

void Simulation::heal() {
  cluster_.network().set_connectivity(Connectivity(params_.node_count));
  cluster_.network().clear_clogs();
  cluster_.network().set_faults(params_.liveness_faults);
  storage_ppm_ = params_.liveness_storage_ppm;
  if (trace_.on()) trace_.line("HEAL: full connectivity, no loss, no crashes; liveness phase begins");
  for (NodeId id = 1; id <= static_cast<NodeId>(params_.node_count); ++id) {
    restart_at_[id - 1] = 0;
    if (cluster_.node(id).up()) continue;
    cluster_.restart(id);
    next_tick_[id - 1] = now_ + 1 + rng_.below(params_.tick_period[id - 1]);
  }
}

// Time to bring the most lagging log level with the longest one, should every entry need a
// message of its own (max_message_bytes as low as 1) and every window a round trip.
SimTime Simulation::catch_up_allowance() const {
  LogIndex longest = 0;
  LogIndex shortest = UINT64_MAX;
  for (NodeId id = 1; id <= static_cast<NodeId>(params_.node_count); ++id) {
    const LogIndex last = cluster_.node(id).storage().last_index();
    longest = std::max(longest, last);
    shortest = std::min(shortest, last);
  }
  const SimTime round_trip = 2 * params_.liveness_faults.delay_max + 10;  // + a few Ready stages
  return (longest - shortest) * round_trip / params_.raft.max_inflight_messages;
}

bool Simulation::liveness_progress() {
  const SimTime slowest = *std::max_element(params_.tick_period.begin(), params_.tick_period.end());
  const SimTime retry = 3 * static_cast<SimTime>(params_.raft.election_timeout_ticks) * slowest;
  const NodeId leader = cluster_.leader();
  if (!marker_done_) {
    for (const std::string& marker : markers_) {
      bool everywhere = true;
      for (NodeId id = 1; everywhere && id <= static_cast<NodeId>(params_.node_count); ++id) {
        everywhere = cluster_.has_applied(id, marker);
      }
      if (!everywhere) continue;
      marker_done_ = true;
      if (trace_.on()) trace_.line("liveness: " + marker + " applied on every node");
      return false;
    }
    if (leader != raft::kNoNode && (markers_.empty() || now_ - marker_proposed_at_ > retry)) {
      // A marker proposed to a leader that is then deposed may be lost: propose another,
      // and accept whichever arrives everywhere first.
      const std::string marker = "live" + std::to_string(next_payload_++);
      marker_proposed_at_ = now_;
      if (cluster_.propose(leader, {marker}).error == raft::ProposeError::kNone) markers_.push_back(marker);
    }
    return false;
  }
  if (!read_context_.empty() && cluster_.read_served(read_context_)) {
    if (trace_.on()) trace_.line("liveness: read " + read_context_ + " served");
    return true;
  }
  if (read_context_.empty() || now_ - read_issued_at_ > retry) {
    const NodeId target = random_up_node();
    const std::string context = "r" + std::to_string(next_read_++);
    if (cluster_.read_index(target, context)) {
      read_context_ = context;
      read_issued_at_ = now_;
    }
  }
  return false;
}

std::string Simulation::liveness_report() const {
  std::string out = cluster_.leader() == raft::kNoNode ? "no leader" : "leader " + node_name(cluster_.leader());
  out += marker_done_ ? "; a marker was applied everywhere, but no read was served"
                      : "; none of " + std::to_string(markers_.size()) + " marker commands applied everywhere";
  for (NodeId id = 1; id <= static_cast<NodeId>(params_.node_count); ++id) {
    const SimNode& n = cluster_.node(id);
    const raft::Status s = n.raw().status();
    out += "; " + node_name(id) + " term " + std::to_string(s.hard_state.term) + " " +
           raft::to_string(s.soft_state.role) + " commit " + std::to_string(s.hard_state.commit) +
           " applied " + std::to_string(n.state_machine().applied()) + " last " + std::to_string(s.last_index);
  }
  return out;
}

}  // namespace kv::sim
