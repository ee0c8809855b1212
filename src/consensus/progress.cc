#include "consensus/progress.h"

#include <algorithm>

#include "common/assert.h"

namespace kv::raft {

Inflights::Inflights(std::uint32_t capacity) : buffer_(capacity) { KV_ASSERT(capacity > 0); }

void Inflights::add(LogIndex last_index) {
  KV_ASSERT(!full());
  if (count_ > 0) {
    const LogIndex newest = buffer_[(start_ + count_ - 1) % buffer_.size()];
    KV_ASSERT_MSG(last_index > newest, "inflight indexes must increase");
  }
  buffer_[(start_ + count_) % buffer_.size()] = last_index;
  ++count_;
}

void Inflights::free_le(LogIndex index) {
  while (count_ > 0 && buffer_[start_] <= index) {
    start_ = (start_ + 1) % buffer_.size();
    --count_;
  }
}

void Inflights::free_first_one() {
  if (count_ == 0) return;
  start_ = (start_ + 1) % buffer_.size();
  --count_;
}

void Inflights::reset() {
  start_ = 0;
  count_ = 0;
}

const char* to_string(ProgressState state) {
  switch (state) {
    case ProgressState::kProbe: return "probe";
    case ProgressState::kReplicate: return "replicate";
    case ProgressState::kSnapshot: return "snapshot";
  }
  return "unknown";
}

Progress::Progress(LogIndex next, std::uint32_t max_inflight, bool is_learner)
    : next_(next), is_learner_(is_learner), inflights_(max_inflight) {
  KV_ASSERT(next >= 1);
}

void Progress::become_probe() {
  // After a snapshot the follower holds at least the snapshot's index.
  if (state_ == ProgressState::kSnapshot) {
    next_ = std::max(match_ + 1, pending_snapshot_ + 1);
  } else {
    next_ = match_ + 1;
  }
  state_ = ProgressState::kProbe;
  pending_snapshot_ = 0;
  probe_sent_ = false;
  inflights_.reset();
}

void Progress::become_replicate() {
  next_ = match_ + 1;
  state_ = ProgressState::kReplicate;
  pending_snapshot_ = 0;
  probe_sent_ = false;
  inflights_.reset();
}

void Progress::become_snapshot(LogIndex snapshot_index) {
  state_ = ProgressState::kSnapshot;
  pending_snapshot_ = snapshot_index;
  snapshot_rounds_ = 0;
  probe_sent_ = false;
  inflights_.reset();
}

bool Progress::maybe_update(LogIndex index) {
  bool updated = false;
  if (match_ < index) {
    match_ = index;
    updated = true;
    probe_sent_ = false;
  }
  next_ = std::max(next_, index + 1);
  if (state_ == ProgressState::kReplicate) inflights_.free_le(index);
  KV_ASSERT(next_ > match_);
  return updated;
}

bool Progress::snapshot_round_timed_out() {
  constexpr int kSnapshotRounds = 3;
  return state_ == ProgressState::kSnapshot && ++snapshot_rounds_ > kSnapshotRounds;
}

bool Progress::maybe_decrease_to(LogIndex rejected, LogIndex hint) {
  if (state_ == ProgressState::kReplicate) {
    // In replicate state a rejection below the match is from an old message.
    if (rejected <= match_) return false;
    next_ = match_ + 1;
    return true;
  }
  // In probe state only the rejection of the latest probe (at next - 1) counts.
  if (next_ - 1 != rejected) return false;
  next_ = std::max(std::min(rejected, hint + 1), match_ + 1);
  probe_sent_ = false;
  KV_ASSERT(next_ >= 1);
  return true;
}

void Progress::on_append_sent(LogIndex last_index, bool carried_entries) {
  switch (state_) {
    case ProgressState::kReplicate:
      if (carried_entries) {
        next_ = last_index + 1;
        inflights_.add(last_index);
      }
      break;
    case ProgressState::kProbe:
      probe_sent_ = true;
      break;
    case ProgressState::kSnapshot:
      KV_PANIC("append sent to a follower waiting for a snapshot");
  }
}

void Progress::on_heartbeat_response() {
  probe_sent_ = false;
  if (state_ == ProgressState::kReplicate && inflights_.full()) inflights_.free_first_one();
}

bool Progress::is_paused() const {
  switch (state_) {
    case ProgressState::kProbe: return probe_sent_;
    case ProgressState::kReplicate: return inflights_.full();
    case ProgressState::kSnapshot: return true;
  }
  return true;
}

}  // namespace kv::raft
