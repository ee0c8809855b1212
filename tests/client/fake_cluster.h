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
#include <vector>

#include "client/result.h"
#include "net/client_server.h"

namespace kv::client::test {

using namespace std::chrono_literals;
using Responder = net::ClientServer::Responder;

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

// A tiny versioned map that answers like kvd's state machine, with its session table
// (last seq per client_id), so exactly-once behaviour can be observed.
struct FakeStore {
  std::map<std::string, net::KeyValue> data;
  std::uint64_t index = 0;
  std::map<std::uint64_t, std::pair<std::uint64_t, net::ResponseBody>> sessions;  // id -> (seq, answer)
  int applied_writes = 0;

  net::ResponseBody apply(const net::Request& r);
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

  // The key-value requests seen (not status or members, which the client also sends to
  // load the shard map).
  std::vector<net::Request> kv_seen() const {
    std::vector<net::Request> out;
    for (const net::Request& r : seen) {
      if (!std::holds_alternative<net::StatusRequest>(r.op) && !std::holds_alternative<net::MembersRequest>(r.op)) {
        out.push_back(r);
      }
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
  } else {
    body = net::ErrorResponse{net::ErrorCode::kUnsupported, "the fake store does not do that", {}};
  }
  if (r.client_id != 0) sessions[r.client_id] = {r.seq, body};
  return body;
}

}  // namespace kv::client::test
