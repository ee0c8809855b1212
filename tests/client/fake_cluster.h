// In-process fake nodes for the client library tests: each is a net::ClientServer on
// 127.0.0.1 (port 0) whose answers the test scripts. No kvd, no Raft: the tests decide who
// "leads", what gets lost and when, and look at exactly what the client sent.
//
// Threads: everything (fake nodes and the client under test) runs on one io_context, driven
// by run_until() with a bound, so no test can hang.
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "client/options.h"
#include "client/result.h"
#include "net/client_server.h"

namespace kv::client::test {

using namespace std::chrono_literals;
using Responder = net::ClientServer::Responder;

// Timeouts and backoffs of a client of fake nodes: short, so that retries happen well
// inside a test's bounds.
struct FastTiming {
  std::chrono::milliseconds request_timeout = 200ms;
  std::chrono::milliseconds backoff_min = 5ms;
  std::chrono::milliseconds backoff_max = 50ms;
};

inline Options options_for(std::vector<std::string> endpoints, FastTiming timing = {}) {
  Options o;
  o.endpoints = std::move(endpoints);
  o.request_timeout = timing.request_timeout;
  o.operation_timeout = 2000ms;
  o.backoff_min = timing.backoff_min;
  o.backoff_max = timing.backoff_max;
  return o;
}

// Runs `io` until `done()` holds or `limit` passes; returns done().
inline bool run_until(asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = 5000ms) {
  auto guard = asio::make_work_guard(io);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) io.run_one_for(5ms);
  return done();
}

template <class T>
asio::awaitable<void> store_result(asio::awaitable<Result<T>> op, std::shared_ptr<std::optional<Result<T>>> out) {
  out->emplace(co_await std::move(op));
}

// Starts `op` on `io`; the result lands in the returned slot.
template <class T>
std::shared_ptr<std::optional<Result<T>>> start(asio::io_context& io, asio::awaitable<Result<T>> op) {
  auto out = std::make_shared<std::optional<Result<T>>>();
  asio::co_spawn(io, store_result<T>(std::move(op), out), asio::detached);
  return out;
}

// Runs `op` to completion (bounded); REQUIREs that it finished.
template <class T>
Result<T> run(asio::io_context& io, asio::awaitable<Result<T>> op, std::chrono::milliseconds limit = 5000ms) {
  auto out = start(io, std::move(op));
  REQUIRE(run_until(io, [&] { return out->has_value(); }, limit));
  return std::move(**out);
}

template <class T>
asio::awaitable<void> store_value(asio::awaitable<T> op, std::shared_ptr<std::optional<T>> out) {
  out->emplace(co_await std::move(op));
}

// Runs `op` (any result type) to completion (bounded); REQUIREs that it finished.
template <class T>
T run_value(asio::io_context& io, asio::awaitable<T> op, std::chrono::milliseconds limit = 5000ms) {
  auto out = std::make_shared<std::optional<T>>();
  asio::co_spawn(io, store_value<T>(std::move(op), out), asio::detached);
  REQUIRE(run_until(io, [&] { return out->has_value(); }, limit));
  return std::move(**out);
}

// A tiny versioned map that answers like kvd's state machine, with its session table
// (last seq per client_id), so exactly-once behaviour can be observed.
struct FakeStore {
  std::map<std::string, net::KeyValue> data;
  std::uint64_t index = 0;
  std::map<std::uint64_t, std::pair<std::uint64_t, net::ResponseBody>> sessions;  // id -> (seq, answer)
  int applied_writes = 0;

  std::uint64_t next_txn_id = 1;
  int commits = 0;  // commits applied

  net::ResponseBody apply(const net::Request& r);
  net::RangeResponse range(const net::RangeRequest& r) const;
  // A TxnCommitRequest, as the server promises it: all of it if every read is current, else
  // Error conflict and nothing.
  net::ResponseBody commit(const net::TxnCommitRequest& r);
};

// One fake node. `behaviour` decides each answer: a body to send at once, or nullopt to hold
// the request unanswered in `held` (the test answers it later, or never).
struct FakeNode {
  using Behaviour = std::function<std::optional<net::ResponseBody>(const net::Request&)>;

  explicit FakeNode(asio::io_context& io_context)
      : io(io_context), server(io_context, net::ClientServerOptions{}, [this](net::Request r, Responder responder) {
          on_request(std::move(r), std::move(responder));
        }) {
    auto port = server.start();
    INFO(port.error());
    REQUIRE(port.ok());
    address = "127.0.0.1:" + std::to_string(port.value());
  }

  void on_request(net::Request request, Responder responder) {
    seen.push_back(request);
    std::optional<net::ResponseBody> body = behaviour ? behaviour(request) : std::optional<net::ResponseBody>(store->apply(request));
    if (!body) {
      held.push_back(Held{std::move(request), std::move(responder)});
      return;
    }
    if (delay.count() == 0) {
      if (before_respond) before_respond(request);
      responder.respond(net::Response{0, std::move(*body)});
      return;
    }
    auto timer = std::make_shared<asio::steady_timer>(io, delay);
    auto pending = std::make_shared<Responder>(std::move(responder));
    timer->async_wait([this, timer, pending, request, body = std::move(*body)](const std::error_code&) mutable {
      if (before_respond) before_respond(request);
      pending->respond(net::Response{0, std::move(body)});
    });
  }

  // Closes the listener (the end of a test that served from another thread).
  void stop() { server.stop(); }

  // The key-value requests seen (not status, members or the shard map, which the client
  // also asks for to route).
  std::vector<net::Request> kv_seen() const {
    std::vector<net::Request> out;
    for (const net::Request& r : seen) {
      if (!std::holds_alternative<net::StatusRequest>(r.op) && !std::holds_alternative<net::MembersRequest>(r.op) &&
          !std::holds_alternative<net::ShardMapRequest>(r.op)) {
        out.push_back(r);
      }
    }
    return out;
  }
  // The requests seen that hold a T.
  template <class T>
  std::vector<T> seen_ops() const {
    std::vector<T> out;
    for (const net::Request& r : seen) {
      if (const auto* op = std::get_if<T>(&r.op)) out.push_back(*op);
    }
    return out;
  }

  // Answers NotLeader, naming `leader` (empty: no hint).
  static net::ResponseBody not_leader(const std::string& leader) {
    return net::ErrorResponse{net::ErrorCode::kNotLeader, "not the leader", net::LeaderHint{leader.empty() ? 0u : 9u, leader}};
  }
  static net::ResponseBody error(net::ErrorCode code) { return net::ErrorResponse{code, "scripted", {}}; }

  struct Held {
    net::Request request;
    Responder responder;
  };

  asio::io_context& io;
  std::shared_ptr<FakeStore> store = std::make_shared<FakeStore>();
  Behaviour behaviour;                  // empty: serve from `store`
  std::chrono::milliseconds delay{0};  // answer this long after the request
  std::function<void(const net::Request&)> before_respond;  // called as each answer goes out
  std::vector<net::Request> seen;
  std::vector<Held> held;
  std::string address;
  net::ClientServer server;
};

inline net::ResponseBody FakeStore::apply(const net::Request& r) {
  if (r.client_id != 0) {
    auto it = sessions.find(r.client_id);
    if (it != sessions.end() && r.seq == it->second.first) return it->second.second;  // a retry
    if (it != sessions.end() && r.seq < it->second.first) return net::ErrorResponse{net::ErrorCode::kStaleSequence, "stale", {}};
  }
  net::ResponseBody body;
  if (const auto* get = std::get_if<net::GetRequest>(&r.op)) {
    auto it = data.find(get->key);
    body = it == data.end() ? net::GetResponse{} : net::GetResponse{true, it->second.value, it->second.version};
  } else if (const auto* put = std::get_if<net::PutRequest>(&r.op)) {
    ++applied_writes;
    data[put->key] = net::KeyValue{put->key, put->value, ++index};
    body = net::PutResponse{index, std::nullopt};
  } else if (const auto* del = std::get_if<net::DeleteRequest>(&r.op)) {
    ++applied_writes;
    body = net::DeleteResponse{data.erase(del->key), {}};
  } else if (const auto* range_request = std::get_if<net::RangeRequest>(&r.op)) {
    body = range(*range_request);
  } else if (const auto* commit_request = std::get_if<net::TxnCommitRequest>(&r.op)) {
    body = commit(*commit_request);
  } else {
    body = net::ErrorResponse{net::ErrorCode::kUnsupported, "the fake store does not do that", {}};
  }
  if (r.client_id != 0) sessions[r.client_id] = {r.seq, body};
  return body;
}

inline bool in_span(const std::string& key, const std::string& start, const std::string& end) {
  return key >= start && (end == std::string(1, '\0') || key < end);
}

inline net::RangeResponse FakeStore::range(const net::RangeRequest& r) const {
  net::RangeResponse out;
  if (r.end.empty()) {
    auto it = data.find(r.start);
    if (it != data.end()) out.kvs.push_back(it->second);
  } else {
    for (auto it = data.lower_bound(r.start); it != data.end() && in_span(it->first, r.start, r.end); ++it) {
      if (r.limit != 0 && out.kvs.size() == r.limit) {
        out.more = true;
        break;
      }
      out.kvs.push_back(it->second);
      if (r.keys_only) out.kvs.back().value.clear();
    }
  }
  out.count = out.kvs.size();
  if (r.count_only) out.kvs.clear();
  return out;
}

inline net::ResponseBody FakeStore::commit(const net::TxnCommitRequest& r) {
  auto conflict = [](const std::string& why) { return net::ErrorResponse{net::ErrorCode::kConflict, why, {}}; };
  for (const net::TxnRead& read : r.txn.reads) {
    auto it = data.find(read.key);
    if ((it == data.end() ? 0 : it->second.version) != read.version) return conflict("read of " + read.key + " is stale");
  }
  for (const net::TxnRangeRead& read : r.txn.ranges) {
    std::vector<net::TxnRead> now;
    for (auto it = data.lower_bound(read.start); it != data.end() && in_span(it->first, read.start, read.end); ++it) {
      now.push_back(net::TxnRead{it->first, it->second.version});
    }
    if (now != read.keys) return conflict("range from " + read.start + " changed");
  }
  ++index;
  net::TxnCommitResponse committed{next_txn_id++, 1, {}};
  for (const net::TxnWrite& w : r.txn.writes) {
    if (w.value) data[w.key] = net::KeyValue{w.key, *w.value, index};
    else data.erase(w.key);
    committed.writes.push_back(net::TxnRead{w.key, w.value ? index : 0});
  }
  ++commits;
  return committed;
}

// Several fake nodes over one store, each leading some shards, like a sharded kvd: a node
// serves the keys of the shards it leads and answers NotLeader (naming the leader) for the
// others; any node answers the shard map and coordinates commits. A range read that crosses
// its shard's end is answered up to it with `more` set, a ranged delete refused (WrongShard),
// as kvd does.
struct ShardedCluster {
  // `splits`: the first keys of shards 1..; `leaders[s]`: the node (0-based) leading shard s.
  ShardedCluster(asio::io_context& io, std::size_t node_count, std::vector<std::string> splits,
                 std::vector<std::size_t> leaders)
      : store(std::make_shared<FakeStore>()) {
    REQUIRE(leaders.size() == splits.size() + 1);
    for (std::size_t i = 0; i < node_count; ++i) nodes.push_back(std::make_unique<FakeNode>(io));
    for (std::size_t i = 0; i < node_count; ++i) {
      map.members.push_back(net::Member{i + 1, "peer" + std::to_string(i + 1), nodes[i]->address});
    }
    for (std::size_t s = 0; s < leaders.size(); ++s) {
      net::ShardInfo shard{s, s == 0 ? "" : splits[s - 1], s < splits.size() ? splits[s] : "", {}, leaders[s] + 1, 1};
      for (std::size_t i = 0; i < node_count; ++i) shard.replicas.push_back(i + 1);
      map.shards.push_back(shard);
    }
    for (std::size_t i = 0; i < node_count; ++i) {
      nodes[i]->store = store;
      nodes[i]->behaviour = [this, i](const net::Request& r) { return answer(i, r); };
    }
  }

  std::size_t shard_of(const std::string& key) const {
    std::size_t s = 0;
    while (s + 1 < map.shards.size() && key >= map.shards[s + 1].start_key) ++s;
    return s;
  }

  std::optional<net::ResponseBody> answer(std::size_t node, const net::Request& r) {
    if (std::holds_alternative<net::ShardMapRequest>(r.op)) return map;
    if (const auto* commit = std::get_if<net::TxnCommitRequest>(&r.op)) {
      if (on_commit) return on_commit(r);
      return store->commit(*commit);
    }
    std::string key;
    std::string end;
    if (const auto* get = std::get_if<net::GetRequest>(&r.op)) key = get->key;
    if (const auto* put = std::get_if<net::PutRequest>(&r.op)) key = put->key;
    if (const auto* del = std::get_if<net::DeleteRequest>(&r.op)) key = del->key;
    if (const auto* decide = std::get_if<net::TxnDecideRequest>(&r.op)) key = decide->primary;
    if (const auto* resolve = std::get_if<net::TxnResolveRequest>(&r.op)) key = resolve->key;
    if (const auto* range = std::get_if<net::RangeRequest>(&r.op)) {
      key = range->start;
      end = range->end;
    }
    if (const auto* txn = std::get_if<net::TxnRequest>(&r.op)) {
      key = txn->compares.empty() ? "" : txn->compares.front().key;
      if (on_txn) return on_txn(r);
    }
    const net::ShardInfo& shard = map.shards[shard_of(key)];
    if (shard.leader != node + 1) {
      const std::string hint = shard.leader == 0 ? "" : nodes[shard.leader - 1]->address;
      return FakeNode::not_leader(hint);
    }
    const bool past_end = !end.empty() && !shard.end_key.empty() && (end == std::string(1, '\0') || end > shard.end_key);
    if (past_end && std::holds_alternative<net::RangeRequest>(r.op)) {
      // As kvd: answered up to the shard's end, with `more` to say the range goes on.
      net::RangeRequest clipped = std::get<net::RangeRequest>(r.op);
      clipped.end = shard.end_key;
      net::RangeResponse out = store->range(clipped);
      out.more = true;
      return out;
    }
    if (past_end) return FakeNode::error(net::ErrorCode::kWrongShard);
    return store->apply(r);
  }

  FakeNode& node(std::size_t i) { return *nodes[i]; }
  std::vector<std::string> addresses() const {
    std::vector<std::string> out;
    for (const auto& n : nodes) out.push_back(n->address);
    return out;
  }
  void put(const std::string& key, const std::string& value) { store->data[key] = net::KeyValue{key, value, ++store->index}; }
  void stop() {
    for (auto& node : nodes) node->stop();
  }

  std::shared_ptr<FakeStore> store;
  std::vector<std::unique_ptr<FakeNode>> nodes;
  net::ShardMapResponse map;
  std::function<std::optional<net::ResponseBody>(const net::Request&)> on_commit;  // empty: the store commits
  std::function<std::optional<net::ResponseBody>(const net::Request&)> on_txn;     // empty: by the first compare
};

// A fake (FakeNode, ShardedCluster) served from an io thread of its own, as a real cluster
// would be, for the blocking client's tests: set the fake up, then start().
template <class Fake>
struct ServedOnThread {
  template <class... Args>
  explicit ServedOnThread(Args&&... args) : work(asio::make_work_guard(io)), fake(io, std::forward<Args>(args)...) {}
  void start() { thread = std::thread([this] { io.run(); }); }
  ~ServedOnThread() {
    work.reset();
    fake.stop();
    io.stop();
    if (thread.joinable()) thread.join();
  }
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  Fake fake;
  std::thread thread;
};

}  // namespace kv::client::test
