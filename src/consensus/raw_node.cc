#include "consensus/raw_node.h"

#include <algorithm>

#include "common/assert.h"
#include "consensus/raft.h"

namespace kv::raft {

namespace {
// Committed entries handed out per Ready: bounds the memory of one apply batch.
constexpr std::uint64_t kMaxCommittedBytesPerReady = 16u << 20;
}  // namespace

bool Ready::empty() const {
  return !soft_state && !hard_state && entries.empty() && !snapshot && messages.empty() &&
         messages_after_persist.empty() && committed_entries.empty() && read_states.empty() &&
         !snapshot_request;
}

RawNode::RawNode(const Config& config, const LogStorage& storage)
    : raft_(std::make_unique<Raft>(config, storage)),
      prev_soft_(raft_->soft_state()),
      prev_hard_(raft_->hard_state()),
      last_snapshot_index_(std::max(storage.first_index() - 1,
                                    storage.snapshot() ? storage.snapshot()->meta.index : LogIndex{0})) {}

RawNode::~RawNode() = default;

void RawNode::tick() { raft_->tick(); }
void RawNode::step(const Message& message) { raft_->step(message); }
ProposeResult RawNode::propose(std::vector<std::string> commands) { return raft_->propose(std::move(commands)); }
bool RawNode::read_index(std::string context) { return raft_->read_index(std::move(context)); }
void RawNode::campaign() { raft_->campaign(); }
void RawNode::transfer_leadership(NodeId target) { raft_->transfer_leadership(target); }
void RawNode::report_snapshot(NodeId to, bool ok) { raft_->report_snapshot(to, ok); }

std::optional<LogIndex> RawNode::snapshot_due(LogIndex applied) const {
  const LogIndex interval = raft_->config().snapshot_interval_entries;
  if (interval == 0 || applied < last_snapshot_index_ + interval) return std::nullopt;
  return applied;
}

bool RawNode::has_ready() const {
  const Raft& r = *raft_;
  return r.soft_state() != prev_soft_ || r.hard_state() != prev_hard_ ||
         !r.log().unstable_entries().empty() || r.log().unstable_snapshot().has_value() ||
         !r.messages.empty() || !r.messages_after_persist.empty() || !r.read_states.empty() ||
         r.log().has_next_committed_entries() || snapshot_due(r.log().applied()).has_value();
}

Ready RawNode::ready() {
  KV_ASSERT_MSG(!ready_outstanding_, "ready() called again before advance()");
  Raft& r = *raft_;
  Ready rd;
  const SoftState soft = r.soft_state();
  if (soft != prev_soft_) rd.soft_state = soft;
  const HardState hard = r.hard_state();
  if (hard != prev_hard_) {
    // Change invariants (LogCabin's RaftInvariants): term and commit never go back, and a
    // vote, once cast in a term, stays.
    KV_ASSERT_MSG(hard.term >= prev_hard_.term, "term moved back");
    KV_ASSERT_MSG(hard.commit >= prev_hard_.commit, "commit moved back");
    KV_ASSERT_MSG(hard.term != prev_hard_.term || prev_hard_.vote == kNoNode || hard.vote == prev_hard_.vote,
                  "a vote changed within a term");
    rd.hard_state = hard;
  }
  rd.entries = r.log().unstable_entries();
  rd.snapshot = r.log().unstable_snapshot();
  rd.messages = std::move(r.messages);
  r.messages.clear();
  rd.messages_after_persist = std::move(r.messages_after_persist);
  r.messages_after_persist.clear();
  rd.committed_entries = r.log().next_committed_entries(kMaxCommittedBytesPerReady);
  rd.read_states = std::move(r.read_states);
  r.read_states.clear();
  // Step 5 of the contract runs after step 3 applied this Ready's committed entries.
  rd.snapshot_request = snapshot_due(rd.committed_entries.empty() ? r.log().applied()
                                                                  : rd.committed_entries.back().index);
  // Only a new term, a new vote or new entries need fsync; a commit index can be recovered.
  rd.must_sync = !rd.entries.empty() || rd.snapshot.has_value() ||
                 (rd.hard_state && (hard.term != prev_hard_.term || hard.vote != prev_hard_.vote));
  prev_soft_ = soft;
  prev_hard_ = hard;
  ready_outstanding_ = true;
  return rd;
}

std::vector<Message> RawNode::take_messages() {
  std::vector<Message> out = std::move(raft_->messages);
  raft_->messages.clear();
  return out;
}

void RawNode::advance(const Ready& ready) {
  KV_ASSERT_MSG(ready_outstanding_, "advance() without an outstanding ready()");
  ready_outstanding_ = false;
  RaftLog& log = raft_->log();
  if (ready.snapshot) {
    log.stable_snapshot_to(ready.snapshot->meta.index);
    log.applied_to(ready.snapshot->meta.index);
    last_snapshot_index_ = ready.snapshot->meta.index;
  }
  if (!ready.entries.empty()) log.stable_to(ready.entries.back().index, ready.entries.back().term);
  if (!ready.committed_entries.empty()) log.applied_to(ready.committed_entries.back().index);
  if (ready.snapshot_request) last_snapshot_index_ = *ready.snapshot_request;
  raft_->on_persisted();
}

Status RawNode::status() const {
  const Raft& r = *raft_;
  Status s;
  s.id = r.id();
  s.hard_state = r.hard_state();
  s.soft_state = r.soft_state();
  s.applied = r.log().applied();
  s.first_index = r.log().first_index();
  s.last_index = r.log().last_index();
  if (r.role() == Role::kLeader) {
    for (const auto& [node, pr] : r.tracker().all()) s.match.emplace_back(node, pr.match());
  }
  return s;
}

NodeId RawNode::id() const { return raft_->id(); }
NodeId RawNode::leader() const { return raft_->leader(); }
Role RawNode::role() const { return raft_->role(); }
Term RawNode::term() const { return raft_->term(); }

}  // namespace kv::raft
