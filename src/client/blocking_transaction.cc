// BlockingClient's transactions (see blocking_client.h): a Transaction lives on the network
// thread; each call hands one of its operations over and waits. run_transaction() runs the
// body on the calling thread, with the same retry schedule as the coroutine version.
#include <random>

#include "client/blocking_impl.h"
#include "client/client_impl.h"
#include "client/retry.h"

namespace kv::client {

using detail::run_blocking;
using detail::run_on_io_thread;
using TxnPtr = std::shared_ptr<Transaction>;

BlockingTransaction::BlockingTransaction(BlockingClient::Impl& impl, TxnPtr txn) : impl_(&impl), txn_(std::move(txn)) {}

BlockingTransaction::~BlockingTransaction() {
  if (!txn_) return;  // moved from
  // Dropped on the network thread: the last reference may hold the client's internals.
  run_on_io_thread(*impl_, [txn = std::move(txn_)](Client&) mutable {
    txn.reset();
    return true;
  });
}

BlockingTransaction::BlockingTransaction(BlockingTransaction&&) noexcept = default;
BlockingTransaction& BlockingTransaction::operator=(BlockingTransaction&&) noexcept = default;

Result<GetResult> BlockingTransaction::get(const std::string& key) {
  return run_blocking<GetResult>(*impl_, [txn = txn_, key](Client&) { return txn->get(key); });
}

Result<RangeResult> BlockingTransaction::range(const std::string& start, const std::string& end, RangeOptions options) {
  return run_blocking<RangeResult>(*impl_, [txn = txn_, start, end, options](Client&) { return txn->range(start, end, options); });
}

Result<RangeResult> BlockingTransaction::prefix(const std::string& prefix, RangeOptions options) {
  return run_blocking<RangeResult>(*impl_, [txn = txn_, prefix, options](Client&) { return txn->prefix(prefix, options); });
}

void BlockingTransaction::put(const std::string& key, const std::string& value) {
  run_on_io_thread(*impl_, [&](Client&) {
    txn_->put(key, value);
    return true;
  });
}

void BlockingTransaction::del(const std::string& key) {
  run_on_io_thread(*impl_, [&](Client&) {
    txn_->del(key);
    return true;
  });
}

Result<DeleteResult> BlockingTransaction::del_range(const std::string& start, const std::string& end, DeleteOptions options) {
  return run_blocking<DeleteResult>(*impl_,
                                    [txn = txn_, start, end, options](Client&) { return txn->del_range(start, end, options); });
}

Result<CommitResult> BlockingTransaction::commit() {
  return run_blocking<CommitResult>(*impl_, [txn = txn_](Client&) { return txn->commit(); });
}

net::TxnFootprint BlockingTransaction::footprint() const {
  return run_on_io_thread(*impl_, [&](Client&) { return txn_->footprint(); });
}

BlockingTransaction BlockingClient::begin() {
  TxnPtr txn = run_on_io_thread(*impl_, [](Client& c) { return std::make_shared<Transaction>(c.begin()); });
  return BlockingTransaction(*impl_, std::move(txn));
}

BlockingTransaction BlockingClient::begin_until(std::chrono::steady_clock::time_point deadline) {
  TxnPtr txn = run_on_io_thread(*impl_, [deadline](Client& c) {
    return std::make_shared<Transaction>(detail::new_transaction(detail::ClientAccess::impl(c), deadline));
  });
  return BlockingTransaction(*impl_, std::move(txn));
}

TransactionRun BlockingClient::run_transaction(const TransactionBody& body, TransactionOptions options) {
  if (const std::string bad = options.validate(); !bad.empty()) {
    return TransactionRun{Error{ErrorKind::kInvalidArgument, "TransactionOptions: " + bad}, 0};
  }
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + options.timeout;
  detail::ConflictRetry retry(options.max_attempts, options.backoff_min, options.backoff_max, options.backoff_jitter);
  std::mt19937_64 rng(std::random_device{}());
  for (;;) {
    retry.on_attempt();
    Result<CommitResult> result = [&]() -> Result<CommitResult> {
      BlockingTransaction txn = begin_until(deadline);
      Result<void> ran = body(txn);
      if (!ran.ok()) return ran.error();
      return txn.commit();  // the body's own commit's result, if it committed
    }();
    if (result.ok() || result.kind() != ErrorKind::kConflict) return TransactionRun{std::move(result), retry.attempts()};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const std::optional<std::chrono::milliseconds> wait = retry.next_wait(left, rng);
    if (!wait) {
      Error error{ErrorKind::kConflict, "still conflicting after " + std::to_string(retry.attempts()) +
                                            (retry.attempts() == 1 ? " attempt: " : " attempts: ") + result.message()};
      return TransactionRun{std::move(error), retry.attempts()};
    }
    std::this_thread::sleep_for(*wait);
  }
}

}  // namespace kv::client
