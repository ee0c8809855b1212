// The state machine's part of multi-shard transactions (txn_table.h): the one-phase commit
// of a single-shard transaction, prepare and resolve at a participant, the transaction
// record at the primary's shard, and plain writes that must wait for a lock.
#include <algorithm>

#include "common/assert.h"
#include "server/overlay_reader.h"
#include "server/state_machine.h"
#include "server/txn_state.h"

namespace kv::server {

namespace {

net::ErrorResponse conflict_error(std::string reason) {
  return net::ErrorResponse{net::ErrorCode::kConflict, std::move(reason), {}};
}

ScanRange delete_range(const net::DeleteRequest& r) { return scan_range(r.key, r.range_end); }
ScanRange read_range(const net::RangeRequest& r) { return scan_range(r.start, r.end); }

// What a commit reports: each key written and its version now (0: deleted).
std::vector<net::TxnRead> written_versions(const std::vector<net::TxnWrite>& writes, raft::LogIndex version) {
  std::vector<net::TxnRead> out;
  for (const net::TxnWrite& w : writes) out.push_back({w.key, w.value ? version : 0});
  return out;
}

bool blocks_read_op(const TxnTable& t, const net::RequestOp& op) {
  if (const auto* get = std::get_if<net::GetRequest>(&op)) return t.blocks_read(get->key);
  if (const auto* range = std::get_if<net::RangeRequest>(&op)) return t.blocks_range_read(read_range(*range));
  return false;
}

}  // namespace

bool ShardStateMachine::write_blocked(const net::RequestOp& op) const {
  if (txns_.empty()) return false;
  const TxnTable& t = txns_;
  auto del_blocked = [&](const net::DeleteRequest& d) {
    return d.range_end.empty() ? t.blocks_write(d.key) : t.blocks_range_write(delete_range(d));
  };
  if (const auto* put = std::get_if<net::PutRequest>(&op)) return t.blocks_write(put->key);
  if (const auto* del = std::get_if<net::DeleteRequest>(&op)) return del_blocked(*del);
  if (const auto* cas = std::get_if<net::CasRequest>(&op)) return t.blocks_write(cas->key);
  if (const auto* txn = std::get_if<net::TxnRequest>(&op)) {
    auto op_blocked = [&](const net::TxnOp& o) {
      if (const auto* put = std::get_if<net::PutRequest>(&o)) return t.blocks_write(put->key);
      if (const auto* del = std::get_if<net::DeleteRequest>(&o)) return del_blocked(*del);
      if (const auto* get = std::get_if<net::GetRequest>(&o)) return t.blocks_read(get->key);
      return t.blocks_range_read(read_range(std::get<net::RangeRequest>(o)));
    };
    return std::any_of(txn->compares.begin(), txn->compares.end(),
                       [&](const net::TxnCompare& c) { return t.blocks_read(c.key); }) ||
           std::any_of(txn->success.begin(), txn->success.end(), op_blocked) ||
           std::any_of(txn->failure.begin(), txn->failure.end(), op_blocked);
  }
  return false;  // transaction commands check their locks themselves
}

bool ShardStateMachine::read_blocked(const net::RequestOp& read) const {
  if (published_locks_.load(std::memory_order_acquire) == 0) return false;
  std::lock_guard guard(txn_mu_);
  return blocks_read_op(txns_, read);
}

std::vector<AbandonedTxn> ShardStateMachine::abandoned_txns(std::chrono::steady_clock::time_point cutoff) const {
  std::vector<AbandonedTxn> out;
  if (published_locks_.load(std::memory_order_acquire) == 0) return out;
  std::lock_guard guard(txn_mu_);
  for (const auto& [id, seen] : first_seen_) {
    if (seen >= cutoff) continue;
    const PreparedTxn* txn = txns_.find(id);
    if (txn == nullptr) continue;
    const net::TxnFootprint& p = txn->part;
    std::string key = !p.writes.empty() ? p.writes.front().key
                      : !p.reads.empty() ? p.reads.front().key
                                         : p.ranges.front().start;
    out.push_back({id, txn->primary, std::move(key)});
  }
  return out;
}

std::optional<std::string> ShardStateMachine::outside_range(const net::TxnFootprint& part) const {
  auto outside = [this](const std::string& key) { return !range_.contains(key); };
  for (const net::TxnWrite& w : part.writes) {
    if (outside(w.key)) return "key '" + w.key + "' is not in shard " + std::to_string(group_);
  }
  for (const net::TxnRead& r : part.reads) {
    if (outside(r.key)) return "key '" + r.key + "' is not in shard " + std::to_string(group_);
  }
  for (const net::TxnRangeRead& rr : part.ranges) {
    const ScanRange range = scan_range_of(rr);
    const bool past_end = !range_.end.empty() && (range.end.empty() || range.end > range_.end);
    if (outside(rr.start) || past_end) return "range from '" + rr.start + "' is not within shard " + std::to_string(group_);
  }
  return std::nullopt;
}

void ShardStateMachine::apply_txn_writes(const std::vector<net::TxnWrite>& writes, raft::LogIndex version) {
  for (const net::TxnWrite& w : writes) write(w.key, w.value, version);
}


net::ResponseBody ShardStateMachine::commit_one_phase(const net::TxnCommitRequest& r, raft::LogIndex index) {
  if (auto outside = outside_range(r.txn)) return net::ErrorResponse{net::ErrorCode::kWrongShard, *outside, {}};
  OverlayReader reader(data_, range_, overlay_);
  if (auto reason = txns_.conflict(r.txn, 0, reader)) return conflict_error(std::move(*reason));
  apply_txn_writes(r.txn.writes, index);
  return net::TxnCommitResponse{0, 1, written_versions(r.txn.writes, index)};
}

net::ResponseBody ShardStateMachine::prepare(const net::TxnPrepareRequest& r, raft::LogIndex index) {
  if (r.txn_id == 0) return net::ErrorResponse{net::ErrorCode::kBadRequest, "transaction id 0", {}};
  if (auto outside = outside_range(r.part)) return net::ErrorResponse{net::ErrorCode::kWrongShard, *outside, {}};
  if (const PreparedTxn* again = txns_.find(r.txn_id)) return net::TxnVoteResponse{true, {}, again->prepared_at};
  OverlayReader reader(data_, range_, overlay_);
  if (auto reason = txns_.conflict(r.part, r.txn_id, reader)) return net::TxnVoteResponse{false, std::move(*reason), 0};
  PreparedTxn txn{r.txn_id, r.primary, r.part, index};
  put_txn_state(prepared_record_key(txn.id), encode_prepared(txn));
  first_seen_[txn.id] = std::chrono::steady_clock::now();
  txns_.add(std::move(txn));
  published_locks_.store(std::max(published_locks_.load(std::memory_order_relaxed), txns_.size()),
                         std::memory_order_release);
  return net::TxnVoteResponse{true, {}, index};
}

net::ResponseBody ShardStateMachine::resolve(const net::TxnResolveRequest& r) {
  if (r.forget_record) put_txn_state(outcome_record_key(r.txn_id), std::nullopt);
  std::optional<PreparedTxn> txn = txns_.remove(r.txn_id);
  // Not prepared here (never, or resolved already): nothing to do, and saying so is enough.
  if (!txn) return net::TxnOutcomeResponse{r.commit};
  first_seen_.erase(r.txn_id);
  put_txn_state(prepared_record_key(r.txn_id), std::nullopt);
  // The version is the prepare's index (see TxnVoteResponse.version): the coordinator told
  // the client so before this entry existed, and no write to these keys came in between.
  if (r.commit) apply_txn_writes(txn->part.writes, txn->prepared_at);
  return net::TxnOutcomeResponse{r.commit};
}

net::ResponseBody ShardStateMachine::decide(const net::TxnDecideRequest& r) {
  if (r.txn_id == 0) return net::ErrorResponse{net::ErrorCode::kBadRequest, "transaction id 0", {}};
  if (!range_.contains(r.primary)) {
    return net::ErrorResponse{net::ErrorCode::kWrongShard, "the primary key is not in this shard", {}};
  }
  const std::string key = outcome_record_key(r.txn_id);
  if (std::optional<std::string> recorded = get_txn_state(key)) {
    const std::optional<TxnOutcome> outcome = decode_outcome(*recorded);
    KV_ASSERT_MSG(outcome.has_value(), "a transaction record that is neither committed nor aborted");
    return net::TxnOutcomeResponse{*outcome == TxnOutcome::kCommitted};
  }
  put_txn_state(key, encode_outcome(r.commit ? TxnOutcome::kCommitted : TxnOutcome::kAborted));
  return net::TxnOutcomeResponse{r.commit};
}

net::ResponseBody ShardStateMachine::record_leader(const net::ShardLeaderRequest& r) {
  if (group_ != 0) return net::ErrorResponse{net::ErrorCode::kWrongShard, "shard 0 keeps the leader records", {}};
  const std::string key = leader_record_key(r.shard);
  if (std::optional<std::string> recorded = get_txn_state(key)) {
    const std::optional<LeaderClaim> claim = decode_leader_claim(*recorded);
    KV_ASSERT_MSG(claim.has_value(), "a malformed shard leader record");
    if (claim->term >= r.term) return net::AckResponse{};  // an older or repeated claim
  }
  put_txn_state(key, encode_leader_claim({r.leader, r.term}));
  return net::AckResponse{};
}

void ShardStateMachine::put_txn_state(const std::string& key, std::optional<std::string> value) {
  if (value) batch_->put_txn_state(key, *value);
  else batch_->delete_txn_state(key);
  txn_state_overlay_[key] = std::move(value);
}

std::optional<std::string> ShardStateMachine::get_txn_state(const std::string& key) const {
  if (auto it = txn_state_overlay_.find(key); it != txn_state_overlay_.end()) return it->second;
  auto stored = data_.get_txn_state(group_, key);
  KV_ASSERT_MSG(stored.ok(), stored.status().to_string().c_str());
  return std::move(*stored);
}

storage::Status ShardStateMachine::load_txns() {
  std::lock_guard guard(txn_mu_);
  txns_ = TxnTable();
  first_seen_.clear();
  const auto now = std::chrono::steady_clock::now();
  storage::Status decode_error;
  storage::Status status = data_.for_each_txn_state(group_, [&](std::string_view key, std::string_view value) {
    if (!is_prepared_record_key(key)) return true;
    auto txn = decode_prepared(value);
    if (!txn.ok()) {
      decode_error = storage::Status::corruption("shard " + std::to_string(group_) + ": " + txn.error());
      return false;
    }
    first_seen_[txn.value().id] = now;
    txns_.add(std::move(txn.value()));
    return true;
  });
  published_locks_.store(txns_.size(), std::memory_order_release);
  return status.ok() ? decode_error : status;
}

}  // namespace kv::server
