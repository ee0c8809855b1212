// Client::txn: an etcd-style transaction (and Client::range and del_range, which are one-op
// transactions when they span shards). Within one shard it is one request (the shard
// applies it in one log entry). Across shards it runs as a Transaction: the compares are
// read and evaluated here, the chosen branch's reads are done and its writes buffered, and
// the commit applies them atomically, or conflicts, in which case it all runs again.
#include "client/client_impl.h"
#include "client/etcd_txn_rules.h"
#include "common/assert.h"

namespace kv::client {

using detail::Clock;

namespace {

// A safety net: the deadline bounds the retries first, unless backoffs are tiny.
constexpr int kMaxAttempts = 32;

net::KeyValue kv_of(const std::string& key, const GetResult& got) { return net::KeyValue{key, got.value, got.version}; }

// One op of the branch, on `txn`, as the server would run it at that point of the branch.
asio::awaitable<Result<net::TxnOpResult>> run_txn_op(Transaction& txn, const net::TxnOp& op) {
  if (const auto* get = std::get_if<net::GetRequest>(&op)) {
    auto getting = txn.get(get->key);
    Result<GetResult> got = co_await std::move(getting);
    if (!got.ok()) co_return got.error();
    co_return net::TxnOpResult{std::move(got.value())};
  }
  if (const auto* range = std::get_if<net::RangeRequest>(&op)) {
    RangeOptions options{range->limit, range->keys_only, range->count_only, false};
    auto reading = txn.range(range->start, range->end, options);
    Result<RangeResult> read = co_await std::move(reading);
    if (!read.ok()) co_return read.error();
    co_return net::TxnOpResult{std::move(read.value())};
  }
  if (const auto* put = std::get_if<net::PutRequest>(&op)) {
    PutResult out;
    if (put->prev_kv) {  // read only when asked: a read is one more thing that can conflict
      auto getting = txn.get(put->key);
      Result<GetResult> prev = co_await std::move(getting);
      if (!prev.ok()) co_return prev.error();
      if (prev->found) out.prev_kv = kv_of(put->key, prev.value());
    }
    txn.put(put->key, put->value);
    co_return net::TxnOpResult{std::move(out)};
  }
  const auto& del = std::get<net::DeleteRequest>(op);
  if (!del.range_end.empty()) {
    auto deleting = txn.del_range(del.key, del.range_end, DeleteOptions{del.prev_kv});
    Result<DeleteResult> deleted = co_await std::move(deleting);
    if (!deleted.ok()) co_return deleted.error();
    co_return net::TxnOpResult{std::move(deleted.value())};
  }
  // `deleted` says whether the key existed, so it must be read.
  auto getting = txn.get(del.key);
  Result<GetResult> current = co_await std::move(getting);
  if (!current.ok()) co_return current.error();
  DeleteResult out;
  if (current->found) {
    out.deleted = 1;
    if (del.prev_kv) out.prev_kvs.push_back(kv_of(del.key, current.value()));
    txn.del(del.key);
  }
  co_return net::TxnOpResult{std::move(out)};
}

// The compares, then the branch they choose, on `txn` (not committed).
asio::awaitable<Result<TxnResult>> evaluate(Transaction& txn, const net::TxnRequest& request) {
  TxnResult out;
  out.succeeded = true;
  for (const net::TxnCompare& compare : request.compares) {
    if (!out.succeeded) break;  // as the server: later compares are not read
    auto getting = txn.get(compare.key);
    Result<GetResult> current = co_await std::move(getting);
    if (!current.ok()) co_return current.error();
    out.succeeded = detail::compare_holds(current.value(), compare.op, compare.target);
  }
  const std::vector<net::TxnOp>& branch = out.succeeded ? request.success : request.failure;
  for (const net::TxnOp& op : branch) {
    auto running = run_txn_op(txn, op);
    Result<net::TxnOpResult> result = co_await std::move(running);
    if (!result.ok()) co_return result.error();
    out.results.push_back(std::move(result.value()));
  }
  KV_ASSERT(out.results.size() == branch.size());
  co_return out;
}

// One run: evaluate, then commit.
asio::awaitable<Result<TxnResult>> attempt(std::shared_ptr<Client::Impl> impl, const net::TxnRequest& request,
                                           Clock::time_point deadline) {
  Transaction txn = detail::new_transaction(std::move(impl), deadline);
  auto evaluating = evaluate(txn, request);
  Result<TxnResult> out = co_await std::move(evaluating);
  if (!out.ok()) co_return out;
  auto committing = txn.commit();
  Result<CommitResult> committed = co_await std::move(committing);
  if (!committed.ok()) co_return committed.error();
  // Versions are assigned at commit: the puts' answers get them from the commit's answer.
  const std::vector<net::TxnOp>& branch = out->succeeded ? request.success : request.failure;
  for (std::size_t i = 0; i < branch.size(); ++i) {
    const auto* put = std::get_if<net::PutRequest>(&branch[i]);
    if (put == nullptr) continue;
    for (const net::TxnRead& written : committed->writes) {
      if (written.key == put->key) std::get<net::PutResponse>(out->results[i]).version = written.version;
    }
  }
  co_return out;
}

asio::awaitable<Result<TxnResult>> across_shards(std::shared_ptr<Client::Impl> impl, const net::TxnRequest& request,
                                                 Clock::time_point deadline) {
  const Options& o = impl->options;
  detail::ConflictRetry retry(kMaxAttempts, o.backoff_min, o.backoff_max, 1.0);
  for (;;) {
    retry.on_attempt();
    auto attempting = attempt(impl, request, deadline);
    Result<TxnResult> result = co_await std::move(attempting);
    if (result.ok() || result.kind() != ErrorKind::kConflict) co_return result;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const std::optional<std::chrono::milliseconds> wait = retry.next_wait(left, impl->rng);
    if (!wait) {
      co_return Error{ErrorKind::kConflict, "the multi-shard txn kept conflicting (" + std::to_string(retry.attempts()) +
                                                " attempts): " + result.message()};
    }
    auto sleeping = detail::sleep_until(impl->io, Clock::now() + *wait);
    co_await std::move(sleeping);
    if (impl->closed) co_return Error{ErrorKind::kClosed, "the client was closed"};
  }
}

}  // namespace

asio::awaitable<Result<TxnResult>> detail::run_etcd_txn(std::shared_ptr<Client::Impl> impl, net::TxnRequest request) {
  const Clock::time_point deadline = Clock::now() + impl->options.operation_timeout;
  auto ensuring = impl->ensure_shard_map(deadline);
  co_await std::move(ensuring);
  // Without a map (a server that cannot give one), the server decides, as before.
  if (!impl->routes.loaded() || detail::in_one_shard(impl->routes, request)) {
    net::RequestOp op = std::move(request);
    detail::OpSpec spec = detail::default_spec(op, impl->options.operation_timeout);
    spec.deadline = deadline;
    auto executing = impl->execute(std::move(op), std::move(spec));
    Result<net::ResponseBody> answer = co_await std::move(executing);
    co_return detail::expect<TxnResult>(std::move(answer));
  }
  auto running = across_shards(impl, request, deadline);
  Result<TxnResult> result = co_await std::move(running);
  co_return result;
}

asio::awaitable<Result<TxnResult>> Client::txn(TxnRequest request) { return detail::run_etcd_txn(impl_, std::move(request)); }

namespace {

// A range read or delete over [start, end): one request within a shard; across shards a
// one-op txn, so that it is atomic (a node serves or deletes within its own shard only).
template <class T>
asio::awaitable<Result<T>> one_or_txn(std::shared_ptr<Client::Impl> impl, net::TxnOp op, std::string start, std::string end) {
  const Clock::time_point deadline = Clock::now() + impl->options.operation_timeout;
  if (!end.empty()) {
    auto ensuring = impl->ensure_shard_map(deadline);
    co_await std::move(ensuring);
  }
  if (!end.empty() && impl->routes.loaded() && impl->routes.split(start, end).size() > 1) {
    net::TxnRequest txn;
    txn.success.push_back(std::move(op));
    auto running = detail::run_etcd_txn(impl, std::move(txn));
    Result<TxnResult> ran = co_await std::move(running);
    if (!ran.ok()) co_return ran.error();
    KV_ASSERT(ran->results.size() == 1);
    co_return std::get<T>(std::move(ran->results.front()));
  }
  net::RequestOp request = std::visit([](auto& o) -> net::RequestOp { return std::move(o); }, op);
  detail::OpSpec spec = detail::default_spec(request, impl->options.operation_timeout);
  spec.deadline = deadline;
  auto executing = impl->execute(std::move(request), std::move(spec));
  Result<net::ResponseBody> answer = co_await std::move(executing);
  co_return detail::expect<T>(std::move(answer));
}

}  // namespace

asio::awaitable<Result<DeleteResult>> detail::run_del_range(std::shared_ptr<Client::Impl> impl, net::DeleteRequest request) {
  KV_ASSERT(!request.range_end.empty());
  std::string start = request.key;
  std::string end = request.range_end;
  net::TxnOp op = std::move(request);
  return one_or_txn<DeleteResult>(std::move(impl), std::move(op), std::move(start), std::move(end));
}

asio::awaitable<Result<RangeResult>> detail::run_range(std::shared_ptr<Client::Impl> impl, net::RangeRequest request) {
  std::string start = request.start;
  std::string end = request.end;
  net::TxnOp op = std::move(request);
  return one_or_txn<RangeResult>(std::move(impl), std::move(op), std::move(start), std::move(end));
}

}  // namespace kv::client
