#include "sim/node.h"

#include "common/assert.h"

namespace kv::sim {

const char* to_string(ReadyStage stage) {
  switch (stage) {
    case ReadyStage::kNone: return "none";
    case ReadyStage::kPulled: return "pulled";
    case ReadyStage::kPersisted: return "persisted";
    case ReadyStage::kSent: return "sent";
    case ReadyStage::kApplied: return "applied";
  }
  return "unknown";
}

SimNode::SimNode(NodeId id, const raft::Config& config, const raft::ConfState& conf)
    : id_(id), config_(config), conf_(conf), storage_(conf) {
  KV_ASSERT(id != raft::kNoNode);
  config_.id = id;
}

raft::RawNode& SimNode::raw() {
  KV_ASSERT(raw_ != nullptr);
  return *raw_;
}

const raft::RawNode& SimNode::raw() const {
  KV_ASSERT(raw_ != nullptr);
  return *raw_;
}

const raft::Ready& SimNode::ready() const {
  KV_ASSERT(stage_ != ReadyStage::kNone);
  KV_ASSERT(ready_.has_value());
  return *ready_;
}

const raft::Ready& SimNode::pull_ready() {
  KV_ASSERT(stage_ == ReadyStage::kNone);
  KV_ASSERT(up());
  ready_ = raw_->ready();
  ++ready_seq_;
  stage_ = ReadyStage::kPulled;
  return *ready_;
}

bool SimNode::persist() {
  KV_ASSERT(stage_ == ReadyStage::kPulled);
  const raft::Ready& r = *ready_;
  if (r.snapshot) {
    if (!storage_.apply_snapshot(*r.snapshot)) return false;
  }
  if (!r.entries.empty()) storage_.append(r.entries);
  if (r.hard_state) storage_.set_hard_state(*r.hard_state);
  stage_ = ReadyStage::kPersisted;
  if (r.must_sync || r.snapshot) {
    sync();
  } else if (r.hard_state) {
    // The checker has verified that an unsynced Ready changes nothing but the commit index.
    buffered_.push_back({BufferedWrite::Kind::kCommit, r.hard_state->commit});
  }
  return true;
}

void SimNode::mark_sent() {
  KV_ASSERT(stage_ == ReadyStage::kPersisted);
  stage_ = ReadyStage::kSent;
}

void SimNode::apply(const raft::Entry& entry) {
  KV_ASSERT(stage_ == ReadyStage::kSent);
  sm_.apply(entry);
  buffered_.push_back({BufferedWrite::Kind::kApply, entry.index});
}

bool SimNode::restore_state_machine(const raft::Snapshot& snapshot) {
  if (!sm_.restore(snapshot.data, snapshot.meta.index)) return false;
  sync();  // installing a snapshot replaces the state machine's files: a synced step
  return true;
}

void SimNode::take_snapshot(LogIndex index, LogIndex compact_to) {
  KV_ASSERT(compact_to <= index);
  KV_ASSERT(index <= sm_.applied());
  storage_.create_snapshot(index, conf_, sm_.image_at(index));
  if (compact_to >= storage_.first_index()) storage_.compact(compact_to);
  sync();
}

void SimNode::mark_applied() {
  KV_ASSERT(stage_ == ReadyStage::kSent);
  stage_ = ReadyStage::kApplied;
}

void SimNode::finish_ready() {
  KV_ASSERT(stage_ == ReadyStage::kApplied);
  raw_->advance(*ready_);
  ready_.reset();
  stage_ = ReadyStage::kNone;
}

void SimNode::sync() {
  synced_hard_state_ = storage_.initial_state().hard_state;
  synced_applied_ = sm_.applied();
  buffered_.clear();
}

CrashReport SimNode::crash(Rng& rng) {
  KV_ASSERT(up());
  CrashReport report;
  report.buffered_writes = buffered_.size();
  report.kept_writes = static_cast<std::size_t>(rng.below(buffered_.size() + 1));
  raft::HardState hs = synced_hard_state_;
  LogIndex applied = synced_applied_;
  for (std::size_t i = 0; i < report.kept_writes; ++i) {
    const BufferedWrite& w = buffered_[i];
    if (w.kind == BufferedWrite::Kind::kCommit) hs.commit = w.index;
    else applied = w.index;
  }
  // Term and vote only change in synced writes, so the stored ones are the synced ones.
  raft::HardState stored = storage_.initial_state().hard_state;
  KV_ASSERT(stored.term == hs.term && stored.vote == hs.vote);
  storage_.set_hard_state(hs);
  sm_.truncate_to(applied);

  raw_.reset();
  ready_.reset();
  stage_ = ReadyStage::kNone;
  pending_reads_.clear();
  buffered_.clear();
  report.durable_hard_state = hs;
  report.durable_applied = applied;
  return report;
}

bool SimNode::restart(std::uint64_t random_seed) {
  KV_ASSERT(!up());
  const auto snapshot = storage_.snapshot();
  if (snapshot && snapshot->meta.index > sm_.applied()) {
    if (!sm_.restore(snapshot->data, snapshot->meta.index)) return false;
  }
  raft::Config config = config_;
  config.applied = sm_.applied();
  config.random_seed = random_seed;
  KV_ASSERT_MSG(config.validate().empty(), "the simulator built an invalid Config");
  raw_ = std::make_unique<raft::RawNode>(config, storage_);
  ++incarnation_;
  ready_seq_ = 0;
  sync();
  return true;
}

}  // namespace kv::sim
