// BlockingClient (see blocking_client.h): every call becomes a coroutine on the owned
// io_context, and the calling thread waits on a future for its result.
#include "client/blocking_client.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <exception>
#include <future>
#include <thread>

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

namespace {

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

}  // namespace

BlockingClient::BlockingClient(Options options) {
  const std::string invalid = options.validate();
  KV_ASSERT_MSG(invalid.empty(), invalid.c_str());
  impl_ = std::make_unique<Impl>(std::move(options));
}

BlockingClient::~BlockingClient() {
  close();
  impl_->work.reset();
  impl_->thread.join();  // returns once the closed client's coroutines have wound down
}

void BlockingClient::close() {
  std::promise<void> done;
  asio::post(impl_->io, [this, &done] {
    impl_->client.close();
    done.set_value();
  });
  done.get_future().wait();
}

ClientStats BlockingClient::stats() const {
  std::promise<ClientStats> out;
  asio::post(impl_->io, [this, &out] { out.set_value(impl_->client.stats()); });
  return out.get_future().get();
}

Result<GetResult> BlockingClient::get(const std::string& key, GetOptions options) {
  return run_blocking<GetResult>(*impl_, [key, options](Client& c) { return c.get(key, options); });
}

Result<RangeResult> BlockingClient::range(const std::string& start, const std::string& end, RangeOptions options) {
  return run_blocking<RangeResult>(*impl_, [start, end, options](Client& c) { return c.range(start, end, options); });
}

Result<RangeResult> BlockingClient::prefix(const std::string& prefix, RangeOptions options) {
  return run_blocking<RangeResult>(*impl_, [prefix, options](Client& c) { return c.prefix(prefix, options); });
}

Result<PutResult> BlockingClient::put(const std::string& key, const std::string& value, PutOptions options) {
  return run_blocking<PutResult>(*impl_, [key, value, options](Client& c) { return c.put(key, value, options); });
}

Result<DeleteResult> BlockingClient::del(const std::string& key, DeleteOptions options) {
  return run_blocking<DeleteResult>(*impl_, [key, options](Client& c) { return c.del(key, options); });
}

Result<DeleteResult> BlockingClient::del_range(const std::string& start, const std::string& end,
                                               DeleteOptions options) {
  return run_blocking<DeleteResult>(*impl_,
                                    [start, end, options](Client& c) { return c.del_range(start, end, options); });
}

Result<DeleteResult> BlockingClient::del_prefix(const std::string& prefix, DeleteOptions options) {
  return run_blocking<DeleteResult>(*impl_, [prefix, options](Client& c) { return c.del_prefix(prefix, options); });
}

Result<CasResult> BlockingClient::cas(const std::string& key, Compare compare, CasThen then) {
  return run_blocking<CasResult>(*impl_, [key, compare = std::move(compare), then = std::move(then)](Client& c) {
    return c.cas(key, compare, then);
  });
}

Result<TxnResult> BlockingClient::txn(TxnRequest request) {
  return run_blocking<TxnResult>(*impl_, [request = std::move(request)](Client& c) { return c.txn(request); });
}

Result<StatusResult> BlockingClient::status(const std::string& endpoint) {
  return run_blocking<StatusResult>(*impl_, [endpoint](Client& c) { return c.status(endpoint); });
}

Result<MembersResult> BlockingClient::members() {
  return run_blocking<MembersResult>(*impl_, [](Client& c) { return c.members(); });
}

}  // namespace kv::client
