// Transactions at the node: coordinating commits that arrive here, recovering abandoned
// transactions of the shards this node leads, the shard map, and spreading leaders.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <random>

#include "common/assert.h"
#include "server/internal_client.h"
#include "server/log.h"
#include "server/node_impl.h"
#include "server/txn_state.h"

namespace kv::server {

namespace {

// Leaders move to their preferred node at most this often per shard, and only to a replica
// that has every entry: balancing must never cost more availability than it brings.
constexpr std::chrono::seconds kBalanceInterval{3};
constexpr std::chrono::seconds kMinTimeBetweenTransfers{30};

}  // namespace

void Node::on_txn_commit(Waiter waiter) {
  const auto& commit = std::get<net::TxnCommitRequest>(waiter.request.op);
  TxnParts parts = split_by_shard(commit.txn, map_);
  if (parts.size() == 1) {
    // One shard: one log entry validates and applies it (1PC), proposed by its leader.
    Shard* shard = local_shard(map_.shard(parts.begin()->first));
    if (shard != nullptr && shard->raft.role() == raft::Role::kLeader) return handle_write(*shard, std::move(waiter));
  }
  asio::co_spawn(io_, coordinate(std::move(waiter), std::move(parts)), asio::detached);
}

asio::awaitable<void> Node::coordinate(Waiter waiter, TxnParts parts) {
  net::TxnCommitRequest commit = std::get<net::TxnCommitRequest>(waiter.request.op);
  net::ResponseBody body;
  if (parts.size() == 1) {
    // Its shard leads elsewhere: that leader commits it in one entry.
    std::string key = route_key(commit.txn);
    net::RequestOp op = std::move(commit);
    auto forwarding = call_shard(std::move(op), std::move(key));
    body = co_await std::move(forwarding);
  } else {
    std::string primary = primary_key(commit.txn);
    auto committing = coordinator_->commit(std::move(primary), std::move(parts));
    body = co_await std::move(committing);
  }
  if (const auto* err = std::get_if<net::ErrorResponse>(&body); err != nullptr && err->code == net::ErrorCode::kNotLeader) {
    // The client sent it to us to coordinate: a redirect would send it round in circles.
    body = net::ErrorResponse{net::ErrorCode::kUnavailable, err->message, {}};
  }
  answer_waiter(waiter, std::move(body));
}

asio::awaitable<net::ResponseBody> Node::call_shard(net::RequestOp op, std::string route_key) {
  auto calling = internal_client_->call(std::move(op), std::move(route_key));
  co_return co_await std::move(calling);
}

void Node::recover_abandoned_txns() {
  const Clock::time_point cutoff = Clock::now() - std::chrono::milliseconds(options_.txn_lock_ttl_ms);
  for (auto& [id, shard] : shards_) {
    if (shard->raft.role() != raft::Role::kLeader) continue;
    for (AbandonedTxn& txn : shard->state_machine.abandoned_txns(cutoff)) {
      if (!recovering_.insert(txn.id).second) continue;
      KV_LOG(kInfo, "recovering an abandoned transaction").kv("shard", id).kv("txn", txn.id).kv("primary", txn.primary);
      const TxnId txn_id = txn.id;
      auto recovery = [](Node* self, TxnId tid, std::string primary, std::string key) -> asio::awaitable<void> {
        auto recovering = self->coordinator_->recover(tid, std::move(primary), std::move(key));
        co_await std::move(recovering);
        self->recovering_.erase(tid);
      };
      asio::co_spawn(io_, recovery(this, txn_id, std::move(txn.primary), std::move(txn.key)), asio::detached);
    }
  }
}

void Node::claim_leadership(Shard& shard) {
  const raft::Term term = shard.raft.term();
  if (shard.leader_claim_in_flight || shard.leader_claimed_term >= term) return;
  shard.leader_claim_in_flight = true;
  auto claim = [](Node* self, Shard* s, raft::Term t) -> asio::awaitable<void> {
    net::RequestOp op = net::ShardLeaderRequest{s->id, self->options_.node_id, t};
    auto calling = self->call_shard(std::move(op), std::string());
    const net::ResponseBody answer = co_await std::move(calling);
    s->leader_claim_in_flight = false;
    if (std::holds_alternative<net::AckResponse>(answer)) s->leader_claimed_term = std::max(s->leader_claimed_term, t);
  };
  asio::co_spawn(io_, claim(this, &shard, term), asio::detached);
}

void Node::balance_leaders() {
  const Clock::time_point now = Clock::now();
  if (now < next_balance_) return;
  next_balance_ = now + kBalanceInterval;
  for (auto& [id, shard] : shards_) {
    if (shard->raft.role() == raft::Role::kLeader) claim_leadership(*shard);
  }
  for (auto& [id, shard] : shards_) {
    const raft::NodeId preferred = shard->placement.preferred_leader;
    if (shard->raft.role() != raft::Role::kLeader || preferred == options_.node_id) continue;
    if (now - shard->last_leader_transfer < kMinTimeBetweenTransfers) continue;
    const raft::Status status = shard->raft.status();
    for (const auto& [node, match] : status.match) {
      if (node != preferred || match != status.last_index) continue;
      KV_LOG(kInfo, "moving leadership to the preferred leader").kv("shard", id).kv("to", preferred);
      shard->last_leader_transfer = now;
      shard->raft.transfer_leadership(preferred);
      schedule_drive();
    }
  }
}

net::ResponseBody Node::shard_map_body() const {
  net::ShardMapResponse out;
  const bool holds_shard0 = shards_.contains(0);
  for (const ShardPlacement& p : map_.shards()) {
    net::ShardInfo info{p.id, p.range.start, p.range.end, p.replicas, 0, 0};
    if (auto it = shards_.find(p.id); it != shards_.end() && it->second->soft_state.leader != raft::kNoNode) {
      info.leader = it->second->soft_state.leader;
      info.term = it->second->raft.term();
    }
    if (holds_shard0) {
      // Shard 0's record (as this replica has applied it) names leaders of shards this node
      // does not hold, or newer ones than it knows.
      auto record = store_->data().get_txn_state(0, leader_record_key(p.id));
      if (record.ok() && record.value()) {
        if (std::optional<LeaderClaim> claim = decode_leader_claim(*record.value()); claim && claim->term > info.term) {
          info.leader = claim->leader;
          info.term = claim->term;
        }
      }
    }
    out.shards.push_back(std::move(info));
  }
  for (const MemberSpec& m : options_.initial_cluster) out.members.push_back({m.id, m.peer_addr, m.client_addr});
  return out;
}

}  // namespace kv::server
