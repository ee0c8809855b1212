#include "server/txn_coordinator.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>
#include <memory>

#include "common/assert.h"
#include "server/kv_reads.h"
#include "server/log.h"

namespace kv::server {

namespace {

// Clips a range read to each shard it spans; the keys read go with the piece holding them.
void split_range(const net::TxnRangeRead& rr, const ShardMap& map, TxnParts& out) {
  const ScanRange range = scan_range_of(rr);
  for (const ShardPlacement& p : map.shards()) {
    const bool before = !range.end.empty() && range.end <= p.range.start;
    const bool after = !p.range.end.empty() && p.range.end <= range.start;
    if (before || after) continue;
    net::TxnRangeRead piece;
    piece.start = std::max(range.start, p.range.start);
    const bool clipped = !p.range.end.empty() && (range.end.empty() || p.range.end < range.end);
    piece.end = clipped ? p.range.end : (range.end.empty() ? std::string(1, '\0') : range.end);
    for (const net::TxnRead& k : rr.keys) {
      if (p.range.contains(k.key)) piece.keys.push_back(k);
    }
    out[p.id].ranges.push_back(std::move(piece));
  }
}

struct Gather {
  explicit Gather(const asio::any_io_executor& ex, std::size_t n) : done(ex), results(n), pending(n) {}
  asio::steady_timer done;
  std::vector<net::ResponseBody> results;
  std::size_t pending;
};

asio::awaitable<void> gather_one(std::shared_ptr<Gather> g, std::size_t i, asio::awaitable<net::ResponseBody> call) {
  g->results[i] = co_await std::move(call);
  if (--g->pending == 0) g->done.cancel();
}

// Runs the calls concurrently and returns their answers in order.
asio::awaitable<std::vector<net::ResponseBody>> gather(std::vector<asio::awaitable<net::ResponseBody>> calls) {
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto g = std::make_shared<Gather>(ex, calls.size());
  g->done.expires_at(asio::steady_timer::time_point::max());
  for (std::size_t i = 0; i < calls.size(); ++i) asio::co_spawn(ex, gather_one(g, i, std::move(calls[i])), asio::detached);
  // co_spawn starts the calls later, on the executor: none can finish before we wait.
  while (g->pending > 0) {
    std::error_code ec;
    auto wait = g->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_await std::move(wait);
  }
  co_return std::move(g->results);
}

net::ErrorResponse error(net::ErrorCode code, std::string message) { return {code, std::move(message), {}}; }

// A healthy two-phase commit takes two log round trips: a slow one is worth a line.
constexpr std::chrono::milliseconds kSlowCommit{200};

void log_if_slow(TxnId id, std::chrono::steady_clock::time_point started, std::chrono::steady_clock::time_point prepared) {
  const auto now = std::chrono::steady_clock::now();
  if (now - started < kSlowCommit) return;
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  KV_LOG(kInfo, "slow transaction commit").kv("txn", id).kv("prepare_ms", ms(prepared - started))
      .kv("decide_ms", ms(now - prepared));
}

}  // namespace

TxnParts split_by_shard(const net::TxnFootprint& txn, const ShardMap& map) {
  TxnParts out;
  for (const net::TxnRead& r : txn.reads) out[map.shard_for(r.key).id].reads.push_back(r);
  for (const net::TxnWrite& w : txn.writes) out[map.shard_for(w.key).id].writes.push_back(w);
  for (const net::TxnRangeRead& rr : txn.ranges) split_range(rr, map, out);
  return out;
}

const std::string& primary_key(const net::TxnFootprint& txn) {
  if (!txn.writes.empty()) return txn.writes.front().key;
  if (!txn.reads.empty()) return txn.reads.front().key;
  KV_ASSERT(!txn.ranges.empty());
  return txn.ranges.front().start;
}

const std::string& route_key(const net::TxnFootprint& part) { return primary_key(part); }

TxnCoordinator::TxnCoordinator(const ShardMap& map, ShardCall call, std::function<TxnId()> new_txn_id,
                               TxnStepHook on_step)
    : map_(map), call_(std::move(call)), new_txn_id_(std::move(new_txn_id)), on_step_(std::move(on_step)) {}

asio::awaitable<net::ResponseBody> TxnCoordinator::commit(std::string primary, TxnParts parts) {
  const auto started = std::chrono::steady_clock::now();
  const TxnId id = new_txn_id_();

  std::vector<std::string> keys;  // one per participant, to route its resolution
  std::vector<std::vector<net::TxnWrite>> writes;  // per participant, to report their versions
  std::vector<asio::awaitable<net::ResponseBody>> prepares;
  for (auto& [shard, part] : parts) {
    keys.push_back(route_key(part));
    writes.push_back(part.writes);
    net::RequestOp op = net::TxnPrepareRequest{id, primary, std::move(part)};
    prepares.push_back(call_(std::move(op), keys.back()));
  }
  std::vector<net::ResponseBody> votes;
  if (on_step_) {
    // A test of recovery: the first prepare alone, so that "some prepared" is exact.
    auto first = std::move(prepares.front());
    prepares.erase(prepares.begin());
    net::ResponseBody vote = co_await std::move(first);
    votes.push_back(std::move(vote));
    on_step_(TxnStep::kSomePrepared);
  }
  auto voting = gather(std::move(prepares));
  std::vector<net::ResponseBody> rest = co_await std::move(voting);
  for (net::ResponseBody& vote : rest) votes.push_back(std::move(vote));
  if (on_step_) on_step_(TxnStep::kAllPrepared);
  const auto prepared = std::chrono::steady_clock::now();

  std::string refusal;
  std::vector<std::string> maybe_locked;  // every participant but those that voted no
  for (std::size_t i = 0; i < votes.size(); ++i) {
    const auto* vote = std::get_if<net::TxnVoteResponse>(&votes[i]);
    if (vote != nullptr && vote->yes) {
      maybe_locked.push_back(keys[i]);
      continue;
    }
    if (vote == nullptr) maybe_locked.push_back(keys[i]);  // its prepare may still apply
    if (refusal.empty()) {
      refusal = vote != nullptr ? vote->reason : "a participant did not answer: " +
                                                     std::get<net::ErrorResponse>(votes[i]).message;
    }
  }
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  if (!refusal.empty()) {
    // No record is written: nobody can commit without one, so dropping the locks is safe.
    asio::co_spawn(ex, resolve_all(id, std::move(maybe_locked), false), asio::detached);
    co_return error(net::ErrorCode::kConflict, "transaction aborted: " + refusal);
  }

  net::RequestOp decide = net::TxnDecideRequest{id, primary, true};
  auto deciding = call_(std::move(decide), primary);
  const net::ResponseBody decided = co_await std::move(deciding);
  const auto* outcome = std::get_if<net::TxnOutcomeResponse>(&decided);
  if (on_step_) on_step_(TxnStep::kDecided);
  log_if_slow(id, started, prepared);
  if (outcome == nullptr) {
    // Unknown: the locks stay until recovery reads the record (or records an abort).
    co_return error(net::ErrorCode::kTimeout, "the transaction's outcome is unknown: " +
                                                  std::get<net::ErrorResponse>(decided).message);
  }
  asio::co_spawn(ex, finish(id, primary, std::move(keys), outcome->committed), asio::detached);
  if (!outcome->committed) {
    co_return error(net::ErrorCode::kConflict, "transaction aborted: its locks expired and recovery rolled it back");
  }
  net::TxnCommitResponse committed{id, static_cast<std::uint32_t>(parts.size()), {}};
  for (std::size_t i = 0; i < votes.size(); ++i) {
    const std::uint64_t version = std::get<net::TxnVoteResponse>(votes[i]).version;
    for (const net::TxnWrite& w : writes[i]) committed.writes.push_back({w.key, w.value ? version : 0});
  }
  co_return committed;
}

asio::awaitable<std::vector<net::ResponseBody>> TxnCoordinator::resolve_all(TxnId id, std::vector<std::string> keys,
                                                                           bool commit) {
  std::vector<asio::awaitable<net::ResponseBody>> resolves;
  for (std::string& key : keys) {
    net::RequestOp op = net::TxnResolveRequest{id, key, commit, false};
    resolves.push_back(call_(std::move(op), std::move(key)));
  }
  // A resolve that fails leaves its locks to recovery, which finds the same outcome.
  auto resolving = gather(std::move(resolves));
  co_return co_await std::move(resolving);
}

asio::awaitable<void> TxnCoordinator::finish(TxnId id, std::string primary, std::vector<std::string> keys,
                                             bool commit) {
  const storage::GroupId primary_shard = map_.shard_for(primary).id;
  std::vector<std::string> others;
  std::string at_primary = primary;
  for (std::string& key : keys) {
    if (map_.shard_for(key).id == primary_shard) at_primary = std::move(key);
    else others.push_back(std::move(key));
  }
  auto resolving = resolve_all(id, std::move(others), commit);
  const std::vector<net::ResponseBody> answers = co_await std::move(resolving);
  // The record goes only once no other participant can still hold a lock that recovery
  // would resolve through it; otherwise it stays (a few bytes) and recovery finds it.
  const bool all_resolved = std::all_of(answers.begin(), answers.end(), [](const net::ResponseBody& a) {
    return std::holds_alternative<net::TxnOutcomeResponse>(a);
  });
  net::RequestOp last = net::TxnResolveRequest{id, at_primary, commit, all_resolved};
  auto closing = call_(std::move(last), std::move(at_primary));
  const net::ResponseBody closed = co_await std::move(closing);
}

asio::awaitable<void> TxnCoordinator::recover(TxnId id, std::string primary, std::string key) {
  net::RequestOp decide = net::TxnDecideRequest{id, primary, false};
  auto deciding = call_(std::move(decide), std::move(primary));
  const net::ResponseBody decided = co_await std::move(deciding);
  const auto* outcome = std::get_if<net::TxnOutcomeResponse>(&decided);
  if (outcome == nullptr) co_return;  // tried again at the next sweep
  net::RequestOp resolve = net::TxnResolveRequest{id, key, outcome->committed, false};
  auto resolving = call_(std::move(resolve), std::move(key));
  const net::ResponseBody resolved = co_await std::move(resolving);
}

}  // namespace kv::server
