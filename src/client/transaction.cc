// Transaction (see transaction.h): the network half. What a read may answer locally, how
// answers merge with the buffered writes and what the commit says is TxnBuffer's
// (txn_buffer.h, pure); this file sends the reads, splits ranges at shard boundaries, and
// commits.
#include "client/transaction.h"

#include "client/client_impl.h"
#include "client/txn_buffer.h"
#include "common/assert.h"

namespace kv::client {

using detail::Clock;

struct Transaction::State {
  State(std::shared_ptr<Client::Impl> client, std::optional<Clock::time_point> until)
      : impl(std::move(client)), deadline(until) {}

  std::shared_ptr<Client::Impl> impl;
  const std::optional<Clock::time_point> deadline;  // run_transaction's: every operation ends by then
  detail::TxnBuffer buffer;
  bool finished = false;
  std::optional<Result<CommitResult>> outcome;  // commit()'s result, once it has one
  std::optional<Error> usage_error;             // a bad buffered write, reported by commit()
};

namespace {

using StatePtr = std::shared_ptr<Transaction::State>;

Error finished_error() { return Error{ErrorKind::kInvalidArgument, "the transaction has already been committed"}; }

std::string first_key_if_empty(std::string start) { return start.empty() ? std::string(1, '\0') : start; }

Clock::time_point deadline_for(const Transaction::State& state) {
  const Clock::time_point own = Clock::now() + state.impl->options.operation_timeout;
  return state.deadline ? std::min(own, *state.deadline) : own;
}

detail::OpSpec spec_for(const Transaction::State& state, const net::RequestOp& op) {
  detail::OpSpec spec = detail::default_spec(op, state.impl->options.operation_timeout);
  spec.deadline = deadline_for(state);
  return spec;
}

// Runs one read for the transaction.
template <class T>
asio::awaitable<Result<T>> read(StatePtr state, net::RequestOp op) {
  detail::OpSpec spec = spec_for(*state, op);
  auto executing = state->impl->execute(std::move(op), std::move(spec));
  Result<net::ResponseBody> answer = co_await std::move(executing);
  co_return detail::expect<T>(std::move(answer));
}

asio::awaitable<Result<GetResult>> get_op(StatePtr state, std::string key) {
  if (state->finished) co_return finished_error();
  if (key.empty()) co_return Error{ErrorKind::kInvalidArgument, "the key must not be empty"};
  if (std::optional<GetResult> local = state->buffer.local_get(key)) co_return std::move(*local);
  net::RequestOp op = net::GetRequest{key, false};
  auto reading = read<GetResult>(state, std::move(op));
  Result<GetResult> got = co_await std::move(reading);
  if (!got.ok()) co_return got;
  if (got->found && got->version == 0) co_return Error{ErrorKind::kInternal, "the server answered a get with version 0"};
  if (state->finished) co_return finished_error();  // committed while this read was out
  state->buffer.record_get(key, got.value());
  co_return got;
}

// Empty when `page` is a sound answer to a read of [start, end) with `limit` (0: none).
std::string check_page(const net::RangeResponse& page, const std::string& start, const std::string& end,
                       std::uint64_t limit) {
  if (limit != 0 && page.kvs.size() > limit) return "more keys than the limit";
  for (std::size_t i = 0; i < page.kvs.size(); ++i) {
    const net::KeyValue& kv = page.kvs[i];
    if (!detail::in_range(kv.key, start, end)) return "a key outside the range";
    if (i > 0 && !(page.kvs[i - 1].key < kv.key)) return "keys out of order";
    if (kv.version == 0) return "a key with version 0";
  }
  return "";
}

struct RangeRead {
  std::uint64_t limit = 0;  // at most this many kvs (0: as many as the server gives)
  bool keys_only = false;
  bool read_all = false;    // page through the whole range (limit 0 only)
};

// One shard's piece of a range read, a page at a time, appended to `out`. Returns false when
// `out` is complete (the limit was passed, or the server's maximum reached).
asio::awaitable<Result<bool>> read_piece(StatePtr state, detail::RangePiece piece, RangeRead how, RangeResult& out) {
  std::string page_start = piece.start;
  for (;;) {
    // One more than still wanted, to learn whether the range holds more.
    const std::uint64_t want = how.limit == 0 ? 0 : how.limit - out.kvs.size() + 1;
    net::RequestOp op = net::RangeRequest{page_start, piece.end, want, false, how.keys_only, false};
    auto reading = read<RangeResult>(state, std::move(op));
    Result<RangeResult> page = co_await std::move(reading);
    if (!page.ok()) co_return page.error();
    if (const std::string bad = check_page(page.value(), page_start, piece.end, want); !bad.empty()) {
      co_return Error{ErrorKind::kInternal, "the server's range answer is unsound: " + bad};
    }
    if (page->more && page->kvs.empty()) {
      // The server stopped at its shard's end before ours: the shards are not what the map
      // says (split or merged). Nothing was applied; with a new map, a new run can succeed.
      state->impl->routes.mark_stale();
      co_return Error{ErrorKind::kConflict, "the shard map changed under the transaction (a shard ends before " +
                                                piece.end + "); run it again"};
    }
    if (state->finished) co_return finished_error();
    // A page cut short covers only up to its last key: that is all it says about the range.
    const std::string covered_end = page->more ? page->kvs.back().key + std::string(1, '\0') : piece.end;
    state->buffer.record_range(page_start, covered_end, page->kvs);
    for (net::KeyValue& kv : state->buffer.overlay(page_start, covered_end, std::move(page->kvs), how.keys_only)) {
      out.kvs.push_back(std::move(kv));
    }
    if (how.limit != 0 && out.kvs.size() > how.limit) {
      out.kvs.resize(how.limit);
      out.more = true;
      co_return false;
    }
    if (!page->more) co_return true;
    if (how.limit == 0 && !how.read_all) {
      out.more = true;  // the server's maximum, as Client::range would give it
      co_return false;
    }
    page_start = covered_end;
  }
}

asio::awaitable<Result<RangeResult>> read_range(StatePtr state, std::string start, std::string end, RangeRead how) {
  KV_ASSERT(!end.empty());
  KV_ASSERT(how.limit == 0 || !how.read_all);
  auto ensuring = state->impl->ensure_shard_map(deadline_for(*state));
  co_await std::move(ensuring);
  if (state->impl->closed) co_return Error{ErrorKind::kClosed, "the client was closed"};
  if (!state->impl->routes.loaded()) {
    // Without shard boundaries a range could be recorded across shards, which no shard can
    // validate.
    co_return Error{ErrorKind::kUnavailable, "the shard map could not be loaded: a range read needs it"};
  }
  const std::vector<detail::RangePiece> pieces = state->impl->routes.split(first_key_if_empty(std::move(start)), end);
  RangeResult out;
  for (const detail::RangePiece& piece : pieces) {
    auto reading = read_piece(state, piece, how, out);
    Result<bool> go_on = co_await std::move(reading);
    if (!go_on.ok()) co_return go_on.error();
    if (!go_on.value()) break;
  }
  out.count = out.kvs.size();
  co_return out;
}

asio::awaitable<Result<RangeResult>> range_op(StatePtr state, std::string start, std::string end, RangeOptions options) {
  if (state->finished) co_return finished_error();
  if (end.empty()) {
    // One key: a point read, recorded as one.
    const std::string key = start;
    auto getting = get_op(state, std::move(start));
    Result<GetResult> got = co_await std::move(getting);
    if (!got.ok()) co_return got.error();
    RangeResult out;
    out.count = got->found ? 1 : 0;
    if (got->found && !options.count_only) {
      out.kvs.push_back(net::KeyValue{key, options.keys_only ? std::string() : got->value, got->version});
    }
    co_return out;
  }
  const bool count_only = options.count_only;
  RangeRead how{count_only ? 0 : options.limit, options.keys_only || count_only, count_only};
  auto reading = read_range(state, std::move(start), std::move(end), how);
  Result<RangeResult> out = co_await std::move(reading);
  if (out.ok() && count_only) out->kvs.clear();  // count stays: every key was read
  co_return out;
}

asio::awaitable<Result<DeleteResult>> del_range_op(StatePtr state, std::string start, std::string end, DeleteOptions options) {
  if (state->finished) co_return finished_error();
  if (end.empty()) co_return Error{ErrorKind::kInvalidArgument, "del_range needs a range end (del deletes one key)"};
  RangeRead how{0, !options.prev_kv, true};
  auto reading = read_range(state, std::move(start), std::move(end), how);
  Result<RangeResult> found = co_await std::move(reading);
  if (!found.ok()) co_return found.error();
  DeleteResult out;
  out.deleted = found->kvs.size();
  for (net::KeyValue& kv : found->kvs) {
    state->buffer.del(kv.key);
    if (options.prev_kv) out.prev_kvs.push_back(std::move(kv));
  }
  co_return out;
}

asio::awaitable<Result<CommitResult>> commit_op(StatePtr state) {
  if (state->finished) co_return state->outcome ? *state->outcome : finished_error();
  state->finished = true;
  if (state->usage_error) {
    state->outcome.emplace(*state->usage_error);
    co_return *state->usage_error;
  }
  net::TxnFootprint footprint = state->buffer.footprint();
  // Nothing written and one read at most: that read was linearizable, which is all a
  // serializable commit could add.
  if (footprint.writes.empty() && footprint.reads.size() + footprint.ranges.size() <= 1) {
    state->outcome.emplace(CommitResult{});
    co_return CommitResult{};
  }
  net::RequestOp op = net::TxnCommitRequest{std::move(footprint)};
  detail::OpSpec spec = spec_for(*state, op);
  spec.route_key = state->buffer.route_key();  // its shard's leader likely takes part
  spec.session = false;                        // a commit is not covered by sessions...
  spec.resend_when_maybe_applied = false;      // ...so it is never sent twice
  auto executing = state->impl->execute(std::move(op), std::move(spec));
  Result<net::ResponseBody> answer = co_await std::move(executing);
  Result<CommitResult> result = detail::expect<CommitResult>(std::move(answer));
  state->outcome.emplace(result);
  co_return result;
}

template <class T>
asio::awaitable<Result<T>> fail_op(Error error) {
  co_return std::move(error);
}

}  // namespace

Transaction detail::new_transaction(std::shared_ptr<Client::Impl> impl, std::optional<Clock::time_point> deadline) {
  KV_ASSERT(impl != nullptr);
  return Transaction(std::make_shared<Transaction::State>(std::move(impl), deadline));
}

Transaction::Transaction(std::shared_ptr<State> state) : state_(std::move(state)) { KV_ASSERT(state_ != nullptr); }
Transaction::~Transaction() = default;
Transaction::Transaction(Transaction&&) noexcept = default;
Transaction& Transaction::operator=(Transaction&&) noexcept = default;

// As in client.cc: arguments go into named locals, then into the coroutine (docs/coroutines.md).

asio::awaitable<Result<GetResult>> Transaction::get(std::string key) { return get_op(state_, std::move(key)); }

asio::awaitable<Result<RangeResult>> Transaction::range(std::string start, std::string end, RangeOptions options) {
  return range_op(state_, std::move(start), std::move(end), options);
}

asio::awaitable<Result<RangeResult>> Transaction::prefix(std::string prefix, RangeOptions options) {
  std::string end = net::prefix_end(prefix);
  return range_op(state_, first_key_if_empty(std::move(prefix)), std::move(end), options);
}

void Transaction::put(std::string key, std::string value) {
  if (key.empty() && !state_->usage_error) state_->usage_error = Error{ErrorKind::kInvalidArgument, "put of an empty key"};
  if (!state_->finished) state_->buffer.put(std::move(key), std::move(value));
}

void Transaction::del(std::string key) {
  if (key.empty() && !state_->usage_error) state_->usage_error = Error{ErrorKind::kInvalidArgument, "del of an empty key"};
  if (!state_->finished) state_->buffer.del(std::move(key));
}

asio::awaitable<Result<DeleteResult>> Transaction::del_range(std::string start, std::string end, DeleteOptions options) {
  if (end.empty()) {
    Error error{ErrorKind::kInvalidArgument, "del_range needs a range end (del deletes one key)"};
    return fail_op<DeleteResult>(std::move(error));
  }
  return del_range_op(state_, std::move(start), std::move(end), options);
}

asio::awaitable<Result<CommitResult>> Transaction::commit() { return commit_op(state_); }

net::TxnFootprint Transaction::footprint() const { return state_->buffer.footprint(); }

bool Transaction::finished() const { return state_->finished; }

// ---- run_transaction

namespace {

// One run of the body on a fresh transaction, and its commit.
asio::awaitable<Result<CommitResult>> attempt(std::shared_ptr<Client::Impl> impl, const TransactionBody& body,
                                              Clock::time_point deadline) {
  Transaction txn = detail::new_transaction(std::move(impl), deadline);
  auto running = body(txn);
  Result<void> ran = co_await std::move(running);
  if (!ran.ok()) co_return ran.error();
  auto committing = txn.commit();  // the body's own commit's result, if it committed
  Result<CommitResult> committed = co_await std::move(committing);
  co_return committed;
}

asio::awaitable<TransactionRun> run_op(std::shared_ptr<Client::Impl> impl, TransactionBody body, TransactionOptions options) {
  if (const std::string bad = options.validate(); !bad.empty()) {
    co_return TransactionRun{Error{ErrorKind::kInvalidArgument, "TransactionOptions: " + bad}, 0};
  }
  const Clock::time_point deadline = Clock::now() + options.timeout;
  detail::ConflictRetry retry(options.max_attempts, options.backoff_min, options.backoff_max, options.backoff_jitter);
  for (;;) {
    retry.on_attempt();
    auto attempting = attempt(impl, body, deadline);
    Result<CommitResult> result = co_await std::move(attempting);
    if (result.ok() || result.kind() != ErrorKind::kConflict) co_return TransactionRun{std::move(result), retry.attempts()};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const std::optional<std::chrono::milliseconds> wait = retry.next_wait(left, impl->rng);
    if (!wait) {
      Error error{ErrorKind::kConflict, "still conflicting after " + std::to_string(retry.attempts()) +
                                            (retry.attempts() == 1 ? " attempt: " : " attempts: ") + result.message()};
      co_return TransactionRun{std::move(error), retry.attempts()};
    }
    auto sleeping = detail::sleep_until(impl->io, Clock::now() + *wait);
    co_await std::move(sleeping);
    if (impl->closed) co_return TransactionRun{Error{ErrorKind::kClosed, "the client was closed"}, retry.attempts()};
  }
}

}  // namespace

asio::awaitable<TransactionRun> run_transaction(Client& client, TransactionBody body, TransactionOptions options) {
  return run_op(detail::ClientAccess::impl(client), std::move(body), std::move(options));
}

Transaction Client::begin() { return detail::new_transaction(impl_, std::nullopt); }

}  // namespace kv::client
