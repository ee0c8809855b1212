// BlockingClient (see blocking_client.h): every call becomes a coroutine on the owned
// io_context, and the calling thread waits on a future for its result.
#include "client/blocking_client.h"

#include "client/blocking_impl.h"

namespace kv::client {

using detail::run_blocking;

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

Result<ShardMapResult> BlockingClient::shard_map() {
  return run_blocking<ShardMapResult>(*impl_, [](Client& c) { return c.shard_map(); });
}

}  // namespace kv::client
