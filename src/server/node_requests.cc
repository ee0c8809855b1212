// Client requests on the network thread: writes become proposals, linearizable reads join
// a ReadIndex round, serializable reads are served at once.
#include <asio/post.hpp>
#include <algorithm>

#include "common/assert.h"
#include "server/command.h"
#include "server/kv_reads.h"
#include "server/log.h"
#include "server/node_impl.h"

namespace kv::server {

namespace {

constexpr std::chrono::milliseconds kSweepInterval{50};
constexpr const char* kVersion = "0.1.0";

static_assert(static_cast<int>(net::ReplicaRole::kLeader) == static_cast<int>(raft::Role::kLeader) &&
                  static_cast<int>(net::ReplicaRole::kCandidate) == static_cast<int>(raft::Role::kCandidate) &&
                  static_cast<int>(net::ReplicaRole::kPreCandidate) == static_cast<int>(raft::Role::kPreCandidate),
              "status reports the core's role by value");

net::ErrorResponse error(net::ErrorCode code, std::string message) { return {code, std::move(message), {}}; }

void answer(Waiter& waiter, net::ResponseBody body) {
  waiter.responder.respond(net::Response{waiter.request.id, std::move(body)});
}

const net::TxnFootprint& footprint_of(const net::TxnCommitRequest& r) { return r.txn; }
const net::TxnFootprint& footprint_of(const net::TxnPrepareRequest& r) { return r.part; }

bool has_duplicate_writes(const net::TxnFootprint& f) {
  std::vector<std::string_view> keys;
  for (const net::TxnWrite& w : f.writes) keys.push_back(w.key);
  std::sort(keys.begin(), keys.end());
  return std::adjacent_find(keys.begin(), keys.end()) != keys.end();
}

// The key a request is routed by, and whether it is within the size limits.
struct KeyCheck {
  const std::string* key = nullptr;
  std::optional<net::ErrorResponse> error;
};

KeyCheck check_request(const net::RequestOp& op, const ServerOptions& o) {
  KeyCheck out;
  auto check_key = [&](const std::string& key) {
    if (key.empty()) out.error = error(net::ErrorCode::kBadRequest, "the key must not be empty");
    else if (key.size() > o.max_key_bytes) {
      out.error = error(net::ErrorCode::kKeyTooLarge, "key of " + std::to_string(key.size()) + " bytes; the limit is " +
                                                          std::to_string(o.max_key_bytes));
    }
    if (out.key == nullptr) out.key = &key;
  };
  auto check_value = [&](const std::string& value) {
    if (value.size() > o.max_value_bytes) {
      out.error = error(net::ErrorCode::kValueTooLarge, "value of " + std::to_string(value.size()) +
                                                            " bytes; the limit is " + std::to_string(o.max_value_bytes));
    }
  };
  auto check_txn_op = [&](const net::TxnOp& t) {
    std::visit([&](const auto& r) {
      using T = std::decay_t<decltype(r)>;
      if constexpr (std::is_same_v<T, net::RangeRequest>) check_key(r.start);
      else check_key(r.key);
      if constexpr (std::is_same_v<T, net::PutRequest>) check_value(r.value);
    }, t);
  };
  std::visit([&](const auto& r) {
    using T = std::decay_t<decltype(r)>;
    if constexpr (std::is_same_v<T, net::GetRequest> || std::is_same_v<T, net::DeleteRequest>) {
      check_key(r.key);
    } else if constexpr (std::is_same_v<T, net::PutRequest>) {
      check_key(r.key);
      check_value(r.value);
    } else if constexpr (std::is_same_v<T, net::RangeRequest>) {
      check_key(r.start);
    } else if constexpr (std::is_same_v<T, net::CasRequest>) {
      check_key(r.key);
      if (const auto* put = std::get_if<net::CasPut>(&r.then)) check_value(put->value);
    } else if constexpr (std::is_same_v<T, net::TxnRequest>) {
      for (const net::TxnCompare& c : r.compares) check_key(c.key);
      for (const net::TxnOp& t : r.success) check_txn_op(t);
      for (const net::TxnOp& t : r.failure) check_txn_op(t);
      if (r.compares.empty() && r.success.empty() && r.failure.empty()) {
        out.error = error(net::ErrorCode::kBadRequest, "an empty transaction");
      }
    } else if constexpr (std::is_same_v<T, net::TxnCommitRequest> || std::is_same_v<T, net::TxnPrepareRequest>) {
      const net::TxnFootprint& f = footprint_of(r);
      if (f.reads.empty() && f.ranges.empty() && f.writes.empty()) {
        out.error = error(net::ErrorCode::kBadRequest, "an empty transaction");
        return;
      }
      out.key = &route_key(f);  // routes a prepare; a commit is coordinated where it arrives
      for (const net::TxnWrite& w : f.writes) {
        check_key(w.key);
        if (w.value) check_value(*w.value);
      }
      for (const net::TxnRead& read : f.reads) check_key(read.key);
      for (const net::TxnRangeRead& range : f.ranges) check_key(range.start);
      if (!out.error && has_duplicate_writes(f)) {
        out.error = error(net::ErrorCode::kBadRequest, "a transaction writes the same key twice");
      }
    } else if constexpr (std::is_same_v<T, net::TxnDecideRequest>) {
      check_key(r.primary);
    } else if constexpr (std::is_same_v<T, net::TxnResolveRequest>) {
      check_key(r.key);
    } else if constexpr (std::is_same_v<T, net::ShardLeaderRequest>) {
      static const std::string kShardZeroStart;  // shard 0 keeps the claims
      out.key = &kShardZeroStart;
    }
  }, op);
  return out;
}

// A key (or range end) of a single-shard write that lies outside `range`, if any: such a
// write would be applied by one shard to keys of another. (Range reads are clipped instead.)
std::optional<std::string> key_outside(const net::RequestOp& op, const storage::KeyRange& range) {
  std::optional<std::string> out;
  auto key = [&](const std::string& k) {
    if (!out && !range.contains(k)) out = k;
  };
  auto del = [&](const net::DeleteRequest& d) {
    key(d.key);
    const std::optional<std::string> end = storage_range_end(d.range_end);
    if (!out && end && !range.end.empty() && (end->empty() || *end > range.end)) out = range.end;
  };
  auto txn_op = [&](const net::TxnOp& t) {
    std::visit([&](const auto& r) {
      using T = std::decay_t<decltype(r)>;
      if constexpr (std::is_same_v<T, net::DeleteRequest>) del(r);
      else if constexpr (std::is_same_v<T, net::RangeRequest>) key(r.start);
      else key(r.key);
    }, t);
  };
  if (const auto* d = std::get_if<net::DeleteRequest>(&op)) del(*d);
  if (const auto* t = std::get_if<net::TxnRequest>(&op)) {
    for (const net::TxnCompare& c : t->compares) key(c.key);
    for (const net::TxnOp& o : t->success) txn_op(o);
    for (const net::TxnOp& o : t->failure) txn_op(o);
  }
  return out;
}

bool is_serializable_read(const net::RequestOp& op) {
  if (const auto* get = std::get_if<net::GetRequest>(&op)) return get->serializable;
  if (const auto* range = std::get_if<net::RangeRequest>(&op)) return range->serializable;
  return false;
}

}  // namespace

void Node::on_request(net::Request request, net::ClientServer::Responder responder) {
  const auto timeout = std::chrono::milliseconds(request.timeout_ms ? request.timeout_ms : options_.default_timeout_ms);
  Waiter waiter{std::move(request), std::move(responder), Clock::now() + timeout};
  const net::RequestOp& op = waiter.request.op;
  if (std::holds_alternative<net::StatusRequest>(op)) return answer(waiter, status_body());
  if (std::holds_alternative<net::MembersRequest>(op)) return answer(waiter, members_body());
  if (std::holds_alternative<net::ShardMapRequest>(op)) {
    // Shard 0's replicas know every shard's latest leader; the others send the client there.
    if (!shards_.contains(0)) return reject_not_here(map_.shard(0), waiter);
    return answer(waiter, shard_map_body());
  }
  const KeyCheck check = check_request(op, options_);
  if (check.error) return answer(waiter, *check.error);
  if (pending_requests() >= options_.max_pending_requests) {
    return answer(waiter, error(net::ErrorCode::kTooManyRequests, "the server has too many requests waiting"));
  }
  if (std::holds_alternative<net::TxnCommitRequest>(op)) return on_txn_commit(std::move(waiter));
  if (check.key == nullptr) return answer(waiter, error(net::ErrorCode::kBadRequest, "a request without a key"));
  const ShardPlacement& placement = map_.shard_for(*check.key);
  if (auto other = key_outside(op, placement.range)) {
    return answer(waiter, error(net::ErrorCode::kWrongShard,
                                "the request spans shards " + std::to_string(placement.id) + " and " +
                                    std::to_string(map_.shard_for(*other).id) +
                                    ": split it per shard, or use a transaction (txnCommit)"));
  }
  Shard* shard = local_shard(placement);
  if (shard == nullptr) return reject_not_here(placement, waiter);
  if (net::is_write(op)) {
    handle_write(*shard, std::move(waiter));
  } else {
    handle_read(*shard, std::move(waiter));
  }
}

Shard* Node::local_shard(const ShardPlacement& placement) {
  auto it = shards_.find(placement.id);
  return it == shards_.end() ? nullptr : it->second.get();
}

void Node::reject_not_here(const ShardPlacement& placement, Waiter& waiter) {
  // The preferred leader usually leads; if not, it names the leader (one more redirect).
  net::LeaderHint hint;
  for (const MemberSpec& m : options_.initial_cluster) {
    if (m.id == placement.preferred_leader) hint = net::LeaderHint{m.id, m.client_addr};
  }
  answer(waiter, net::ErrorResponse{net::ErrorCode::kNotLeader,
                                    "shard " + std::to_string(placement.id) + " is not on this node", hint});
}

std::size_t Node::pending_requests() const {
  std::size_t n = 0;
  for (const auto& [id, shard] : shards_) n += shard->pending_requests();
  return n;
}

void Node::answer_waiter(Waiter& waiter, net::ResponseBody body) { answer(waiter, std::move(body)); }

void Node::handle_write(Shard& shard, Waiter waiter) {
  if (shard.raft.role() != raft::Role::kLeader) return reject_not_leader(shard, waiter);
  shard.proposals.push_back(encode_command(waiter.request));
  shard.proposal_waiters.push_back(std::move(waiter));
  schedule_drive();
}

void Node::handle_read(Shard& shard, Waiter waiter) {
  if (is_serializable_read(waiter.request.op) || options_.unsafe_stale_reads) return serve_read(shard, waiter);
  shard.reads_unstarted.push_back(std::move(waiter));
  schedule_drive();
}

void Node::serve_read(Shard& shard, Waiter& waiter) {
  if (shard.state_machine.read_blocked(waiter.request.op)) {
    shard.blocked_reads.push_back(std::move(waiter));
    return;
  }
  StoreReader reader(store_->data(), shard.range);
  if (const auto* get = std::get_if<net::GetRequest>(&waiter.request.op)) {
    return answer(waiter, execute_get(*get, reader));
  }
  const auto& request = std::get<net::RangeRequest>(waiter.request.op);
  net::RangeResponse response = execute_range(request, reader);
  // A range past this shard's end is answered up to it: `more` tells the client to go on
  // from the shard's end (the next shard).
  const std::optional<std::string> end = storage_range_end(request.end);
  if (end && !shard.range.end.empty() && (end->empty() || *end > shard.range.end)) response.more = true;
  answer(waiter, std::move(response));
}

void Node::reject_not_leader(Shard& shard, Waiter& waiter) {
  answer(waiter, net::ErrorResponse{net::ErrorCode::kNotLeader,
                                    "not the leader of shard " + std::to_string(shard.id), leader_hint(shard)});
}

net::LeaderHint Node::leader_hint(const Shard& shard) const {
  const raft::NodeId leader = shard.raft.leader();
  for (const MemberSpec& m : options_.initial_cluster) {
    if (m.id == leader) return net::LeaderHint{leader, m.client_addr};
  }
  return {};
}

void Node::flush_proposals(Shard& shard) {
  if (shard.proposals.empty()) return;
  const raft::ProposeResult result = shard.raft.propose(std::move(shard.proposals));
  shard.proposals.clear();
  std::vector<Waiter> waiters = std::move(shard.proposal_waiters);
  shard.proposal_waiters.clear();
  if (result.error != raft::ProposeError::kNone) {
    for (Waiter& w : waiters) reject_not_leader(shard, w);
    return;
  }
  for (std::size_t i = 0; i < waiters.size(); ++i) {
    shard.proposed.emplace(result.first_index + i, ProposedWrite{result.term, std::move(waiters[i])});
  }
}

void Node::start_read_round(Shard& shard) {
  if (shard.reads_unstarted.empty()) return;
  // Unique across nodes: a leader keys the pending reads of every replica by context, and
  // one that collided with another node's would be dropped (its reads retried 500 ms later).
  const std::string ctx = std::to_string(options_.node_id) + "/" + std::to_string(shard.next_read_round++);
  if (!shard.raft.read_index(ctx)) {
    // No leader known: an election is under way. The client retries (with backoff).
    for (Waiter& w : shard.reads_unstarted) {
      answer(w, error(net::ErrorCode::kUnavailable, "shard " + std::to_string(shard.id) + " has no leader yet"));
    }
    shard.reads_unstarted.clear();
    return;
  }
  ReadRound& round = shard.read_rounds[ctx];
  round.started = Clock::now();
  round.reads = std::move(shard.reads_unstarted);
  shard.reads_unstarted.clear();
}

void Node::complete_writes(Shard& shard, std::vector<ApplyResult>& results, raft::LogIndex applied_to) {
  for (ApplyResult& r : results) {
    auto it = shard.proposed.find(r.index);
    if (it == shard.proposed.end()) continue;  // proposed by another node, or timed out
    if (it->second.term == r.term && r.blocked) {
      shard.blocked_writes.push_back(std::move(it->second.waiter));
    } else if (it->second.term == r.term) {
      answer(it->second.waiter, std::move(r.body));
    } else {
      reject_not_leader(shard, it->second.waiter);  // our entry was replaced by a new leader's
    }
    shard.proposed.erase(it);
  }
  // Anything still waiting at or below the applied index lost its entry to a no-op.
  while (!shard.proposed.empty() && shard.proposed.begin()->first <= applied_to) {
    reject_not_leader(shard, shard.proposed.begin()->second.waiter);
    shard.proposed.erase(shard.proposed.begin());
  }
}

void Node::complete_reads(Shard& shard, std::vector<raft::ReadState>& read_states) {
  for (raft::ReadState& rs : read_states) {
    auto it = shard.read_rounds.find(rs.context);
    if (it == shard.read_rounds.end()) continue;
    for (Waiter& w : it->second.reads) shard.reads_waiting_apply.emplace(rs.index, std::move(w));
    shard.read_rounds.erase(it);
  }
  while (!shard.reads_waiting_apply.empty() && shard.reads_waiting_apply.begin()->first <= shard.applied) {
    serve_read(shard, shard.reads_waiting_apply.begin()->second);
    shard.reads_waiting_apply.erase(shard.reads_waiting_apply.begin());
  }
}

void Node::retry_blocked(Shard& shard) {
  std::vector<Waiter> reads = std::move(shard.blocked_reads);
  shard.blocked_reads.clear();
  for (Waiter& w : reads) serve_read(shard, w);  // those still blocked come back
  std::vector<Waiter> writes = std::move(shard.blocked_writes);
  shard.blocked_writes.clear();
  for (Waiter& w : writes) handle_write(shard, std::move(w));
}

void Node::expire_requests() {
  if (stopping_) return;
  const Clock::time_point now = Clock::now();
  const auto round_retry = std::chrono::milliseconds(options_.tick_ms * options_.election_ticks);
  auto timed_out = [&](Waiter& w) {
    if (w.deadline > now) return false;
    answer(w, error(net::ErrorCode::kTimeout, "the request timed out in the server"));
    return true;
  };
  for (auto& [id, shard] : shards_) {
    for (auto it = shard->proposed.begin(); it != shard->proposed.end();) {
      it = timed_out(it->second.waiter) ? shard->proposed.erase(it) : std::next(it);
    }
    for (auto it = shard->reads_waiting_apply.begin(); it != shard->reads_waiting_apply.end();) {
      it = timed_out(it->second) ? shard->reads_waiting_apply.erase(it) : std::next(it);
    }
    std::erase_if(shard->blocked_reads, timed_out);
    std::erase_if(shard->blocked_writes, timed_out);
    retry_blocked(*shard);
    for (auto it = shard->read_rounds.begin(); it != shard->read_rounds.end();) {
      std::erase_if(it->second.reads, timed_out);
      // A round whose answer was lost (leader change) is retried in a new round.
      if (it->second.reads.empty() || now - it->second.started > round_retry) {
        for (Waiter& w : it->second.reads) shard->reads_unstarted.push_back(std::move(w));
        it = shard->read_rounds.erase(it);
      } else {
        ++it;
      }
    }
  }
  recover_abandoned_txns();
  balance_leaders();
  schedule_drive();
  sweep_timer_.expires_after(kSweepInterval);
  sweep_timer_.async_wait([this](const std::error_code& ec) {
    if (!ec) expire_requests();
  });
}

net::ResponseBody Node::status_body() const {
  net::StatusResponse s;
  s.node_id = options_.node_id;
  s.version = kVersion;
  for (const auto& [id, shard] : shards_) {
    const raft::Status rs = shard->raft.status();
    net::ShardStatus ss;
    ss.shard = id;
    ss.leader = rs.soft_state.leader;
    ss.term = rs.hard_state.term;
    ss.commit_index = rs.hard_state.commit;
    ss.applied_index = shard->applied;
    ss.raft_index = rs.last_index;
    ss.role = static_cast<net::ReplicaRole>(rs.soft_state.role);
    ss.start_key = shard->range.start;
    ss.end_key = shard->range.end;
    if (id == 0) {
      s.leader = ss.leader;
      s.term = ss.term;
      s.commit_index = ss.commit_index;
      s.applied_index = ss.applied_index;
      s.raft_index = ss.raft_index;
    }
    s.shards.push_back(std::move(ss));
  }
  return s;
}

net::ResponseBody Node::members_body() const {
  net::MembersResponse m;
  for (const MemberSpec& spec : options_.initial_cluster) m.members.push_back({spec.id, spec.peer_addr, spec.client_addr});
  return m;
}

}  // namespace kv::server
