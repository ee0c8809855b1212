// BlockingClient::Impl and the hand-over of one operation to the network thread, shared by
// blocking_client.cc and blocking_transaction.cc. Private to src/client (includes Asio).
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <thread>

#include "client/blocking_client.h"
#include "client/client.h"
#include "common/assert.h"

namespace kv::client {

struct BlockingClient::Impl {
  explicit Impl(Options options)
      : work(asio::make_work_guard(io)), client(io, std::move(options)), thread([this] { io.run(); }) {}

  // Declared in this order so that the client goes before the io_context it uses, and the
  // thread starts last, when everything it touches exists.
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  Client client;
  std::thread thread;
};

namespace detail {

template <class T>
using Promise = std::shared_ptr<std::promise<Result<T>>>;

// Runs on the io thread. `start` (a lambda holding copies of the arguments) makes the
// operation's awaitable; the arguments are copied again into its frame, so the lambda may
// die first. Exceptions (only std::bad_alloc, in practice) become kInternal rather than a
// caller blocked forever.
template <class T, class Start>
asio::awaitable<void> run_operation(Client& client, Promise<T> promise, Start start) {
  std::optional<Result<T>> result;
  try {
    auto operation = start(client);  // a named awaitable: see docs/coroutines.md
    result.emplace(co_await std::move(operation));
  } catch (const std::exception& e) {
    result.emplace(Error{ErrorKind::kInternal, std::string("client exception: ") + e.what()});
  }
  promise->set_value(std::move(*result));
}

// Runs the operation `start` makes on the io thread and waits for its result.
template <class T, class Start>
Result<T> run_blocking(BlockingClient::Impl& impl, Start start) {
  KV_ASSERT_MSG(std::this_thread::get_id() != impl.thread.get_id(),
                "a BlockingClient call from its own network thread would wait forever");
  auto promise = std::make_shared<std::promise<Result<T>>>();
  std::future<Result<T>> future = promise->get_future();
  // co_spawn from the io thread only: the client's state is io-thread-only.
  asio::post(impl.io, [&impl, promise, start = std::move(start)]() mutable {
    asio::co_spawn(impl.io, run_operation<T>(impl.client, std::move(promise), std::move(start)), asio::detached);
  });
  return future.get();
}

// Runs `fn(client)` (plain, not a coroutine) on the io thread and returns what it returns.
template <class F>
auto run_on_io_thread(BlockingClient::Impl& impl, F fn) -> decltype(fn(impl.client)) {
  KV_ASSERT_MSG(std::this_thread::get_id() != impl.thread.get_id(),
                "a BlockingClient call from its own network thread would wait forever");
  std::promise<decltype(fn(impl.client))> out;
  asio::post(impl.io, [&impl, &out, &fn] { out.set_value(fn(impl.client)); });
  return out.get_future().get();
}

}  // namespace detail
}  // namespace kv::client
