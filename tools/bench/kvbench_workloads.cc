// g++ 12 destroys temporaries made inside a suspending co_await expression twice
// (docs/coroutines.md). Every operation below therefore builds its awaitable as a named
// local first and co_awaits that.
#include "kvbench_workloads.h"

#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <memory>
#include <variant>

#include "common/assert.h"
#include "kvbench_keys.h"

namespace kv::bench {

namespace {

// How many times a load batch is retried before it is reported as failed: a leader change
// during loading costs a few failed attempts, and a half-filled key space would skew the
// memory figure the load exists for.
constexpr int kLoadAttempts = 5;

template <class T>
Outcome outcome_of(const client::Result<T>& r) {
  Outcome out;
  out.ok = r.ok();
  if (!r.ok()) out.error = r.error();
  return out;
}

Outcome internal_error(std::string message) {
  Outcome out;
  out.error = client::Error{client::ErrorKind::kInternal, std::move(message)};
  return out;
}

Outcome outcome_of_run(const client::TransactionRun& run) {
  Outcome out = outcome_of(run.result);
  out.txn_attempts = static_cast<std::uint64_t>(std::max(run.attempts, 0));
  if (out.ok) out.participants = run.result->shards;
  return out;
}

// txn --cross-shard values begin with the id of their write, in hex.
constexpr std::size_t kWriteIdChars = 16;
// What a value that no cross-shard txn of this run wrote reads as (never an id we give out).
constexpr std::uint64_t kForeignWrite = ~std::uint64_t{0};

std::uint64_t write_id_of(const std::string& value) {
  std::uint64_t id = 0;
  if (value.size() < kWriteIdChars) return kForeignWrite;
  const char* end = value.data() + kWriteIdChars;
  const auto [stop, ec] = std::from_chars(value.data(), end, id, 16);
  return ec == std::errc{} && stop == end ? id : kForeignWrite;
}

// One txn --cross-shard operation, shared with its body. The body may run several times
// (after conflicts); each run overwrites `found` and `succeeded`, so after the commit they
// are the committed run's.
struct CrossShardCas {
  std::array<std::string, 2> keys;
  std::array<std::uint64_t, 2> expected{};  // write ids this client last saw (0: absent)
  std::array<std::string, 2> values;        // what the success branch writes
  std::array<std::uint64_t, 2> found{};     // write ids the body read
  bool succeeded = false;
};

// The etcd-style CAS as Client::txn runs it across shards, with the compares evaluated
// here: read both keys; if both hold what this client last saw, write both, else only
// the reads commit (the failure branch's gets).
asio::awaitable<client::Result<void>> cross_shard_cas_body(client::Transaction& txn, std::shared_ptr<CrossShardCas> cas) {
  for (std::size_t s = 0; s < cas->keys.size(); ++s) {
    auto getting = txn.get(cas->keys[s]);
    const client::Result<client::GetResult> got = co_await std::move(getting);
    if (!got.ok()) co_return got.error();
    cas->found[s] = got->found ? write_id_of(got->value) : 0;
  }
  cas->succeeded = cas->found == cas->expected;
  if (cas->succeeded) {
    for (std::size_t s = 0; s < cas->keys.size(); ++s) txn.put(cas->keys[s], cas->values[s]);
  }
  co_return client::Result<void>{};
}

struct TransferTxn {
  std::string from;
  std::string to;
};

// A bank transfer: both balances read (absent: 0), 1 moved from one to the other.
asio::awaitable<client::Result<void>> transfer_body(client::Transaction& txn, std::shared_ptr<const TransferTxn> t) {
  auto reading_from = txn.get(t->from);
  const client::Result<client::GetResult> from = co_await std::move(reading_from);
  if (!from.ok()) co_return from.error();
  auto reading_to = txn.get(t->to);
  const client::Result<client::GetResult> to = co_await std::move(reading_to);
  if (!to.ok()) co_return to.error();
  const std::optional<std::int64_t> from_balance = from->found ? parse_balance(from->value) : 0;
  const std::optional<std::int64_t> to_balance = to->found ? parse_balance(to->value) : 0;
  if (!from_balance || !to_balance) {
    co_return client::Error{client::ErrorKind::kInternal, "a transfer key holds something other than a balance"};
  }
  txn.put(t->from, std::to_string(*from_balance - 1));
  txn.put(t->to, std::to_string(*to_balance + 1));
  co_return client::Result<void>{};
}

}  // namespace

TxnEnd Outcome::txn_end() const {
  if (ok) return TxnEnd::kCommitted;
  switch (error.kind) {
    case client::ErrorKind::kConflict: return TxnEnd::kGaveUp;
    case client::ErrorKind::kIndeterminate: return TxnEnd::kIndeterminate;
    default: return TxnEnd::kFailed;
  }
}

std::string WorkloadShared::default_prefix(Workload w, std::uint64_t seed) {
  switch (w) {
    case Workload::kPut: return "p";
    case Workload::kGet:
    case Workload::kMixed: return "r";
    case Workload::kLoad: return "l";
    case Workload::kTxn:
    case Workload::kTransfer: {
      // Fresh keys for every run, as etcdload does: each client then knows every key's
      // version exactly (0 = absent), so a compare fails only if the key really moved; and
      // transfer's balances all start at 0, so that they must sum to 0 at the end.
      char buf[8];
      std::snprintf(buf, sizeof buf, "%c%04x", w == Workload::kTxn ? 'c' : 't', static_cast<unsigned>(seed % 0x10000));
      return buf;
    }
  }
  return "k";
}

Worker::Worker(const WorkloadShared& shared, int index)
    : shared_(shared),
      config_(shared.config),
      index_(static_cast<std::uint64_t>(index)),
      rng_(shared.config.seed + static_cast<std::uint64_t>(index) * 7919) {
  KV_ASSERT(index >= 0 && index < config_.clients);
  if (config_.workload == Workload::kTxn) {
    owned_slots_ = std::max<std::uint64_t>(1, config_.key_space / static_cast<std::uint64_t>(config_.clients));
    const std::size_t shards = config_.cross_shard ? 2 : 1;
    KV_ASSERT(!config_.cross_shard || shared.pool.shards() >= 2);
    seen_.assign(shards, std::vector<std::uint64_t>(owned_slots_, 0));
  }
  KV_ASSERT(config_.workload != Workload::kTransfer || shared.pool.shards() >= 2);
}

asio::awaitable<Outcome> Worker::next(client::Client& client, std::uint64_t ticket) {
  auto op = start(client, ticket);
  co_return co_await std::move(op);
}

// Not a coroutine: picks the operation and hands back its awaitable (see the note on top).
asio::awaitable<Outcome> Worker::start(client::Client& client, std::uint64_t ticket) {
  switch (config_.workload) {
    case Workload::kPut: return put(client);
    case Workload::kGet: return get(client);
    case Workload::kTxn: return config_.cross_shard ? cross_shard_txn(client) : cas_txn(client);
    case Workload::kMixed: {
      const bool read = std::uniform_real_distribution<double>(0, 1)(rng_) < config_.read_ratio;
      return read ? get(client) : put(client);
    }
    case Workload::kLoad: return load_batch(client, ticket);
    case Workload::kTransfer: return transfer(client);
  }
  KV_PANIC("unknown workload");
}

std::string Worker::random_key(const std::string& prefix) {
  return key_name(prefix, rng_() % config_.key_space, config_.key_size);
}

client::TransactionOptions Worker::transaction_options() const {
  client::TransactionOptions o;
  o.max_attempts = config_.max_attempts;
  o.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(config_.operation_timeout_s * 1000));
  return o;
}

std::string Worker::tagged_value(std::uint64_t write_id) const {
  char id[kWriteIdChars + 1];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(write_id));
  std::string v(id, kWriteIdChars);
  if (shared_.value.size() > kWriteIdChars) v.append(shared_.value, kWriteIdChars);
  return v;
}

asio::awaitable<Outcome> Worker::put(client::Client& client) {
  std::string key = random_key(shared_.prefix);
  std::string value = shared_.value;
  auto op = client.put(std::move(key), std::move(value));
  const client::Result<client::PutResult> r = co_await std::move(op);
  co_return outcome_of(r);
}

asio::awaitable<Outcome> Worker::get(client::Client& client) {
  std::string key = random_key(shared_.prefix);
  const client::GetOptions options{.serializable = config_.serializable};
  auto op = client.get(std::move(key), options);
  const client::Result<client::GetResult> r = co_await std::move(op);
  co_return outcome_of(r);
}

// etcd-bench's CAS: if the key's version is the one this client last saw, put; else get
// (and remember the version found). Version 0 matches an absent key, as etcd's mod_revision.
asio::awaitable<Outcome> Worker::cas_txn(client::Client& client) {
  const std::uint64_t slot = rng_() % owned_slots_;
  const std::string key =
      key_name(shared_.prefix, index_ + slot * static_cast<std::uint64_t>(config_.clients), config_.key_size);
  std::uint64_t& version = seen_[0][slot];
  client::TxnRequest request;
  request.compares.push_back(client::TxnCompare{key, client::CompareOp::kEqual, client::expect_version(version)});
  request.success.push_back(net::PutRequest{key, shared_.value, false});
  request.failure.push_back(net::GetRequest{key, false});
  auto op = client.txn(std::move(request));
  const client::Result<client::TxnResult> r = co_await std::move(op);
  if (!r.ok()) co_return outcome_of(r);
  if (r->results.size() != 1) co_return internal_error("a CAS txn answered with " + std::to_string(r->results.size()) + " results");
  Outcome out;
  out.ok = true;
  if (r->succeeded) {
    const auto* put = std::get_if<net::PutResponse>(&r->results[0]);
    if (put == nullptr) co_return internal_error("a CAS txn's put answered with another kind of result");
    version = put->version;
  } else {
    out.compare_failed = true;
    const auto* got = std::get_if<net::GetResponse>(&r->results[0]);
    if (got == nullptr) co_return internal_error("a CAS txn's get answered with another kind of result");
    version = got->found ? got->version : 0;
  }
  co_return out;
}

// The same CAS over one key in each of two shards, atomically, through run_transaction (so
// that the report can show attempts and participant shards; Client::txn runs the same
// reads and commit). Compares are on write ids, not versions: a multi-shard commit does not
// return the versions it wrote.
asio::awaitable<Outcome> Worker::cross_shard_txn(client::Client& client) {
  const std::uint64_t slot = rng_() % owned_slots_;
  const std::uint64_t key_index = index_ + slot * static_cast<std::uint64_t>(config_.clients);
  auto cas = std::make_shared<CrossShardCas>();
  std::array<std::uint64_t, 2> ids{};
  for (std::size_t s = 0; s < 2; ++s) {
    cas->keys[s] = key_name(shared_.pool.prefixes()[s], key_index, config_.key_size);
    cas->expected[s] = seen_[s][slot];
    // Unique within the run (keys are fresh per run); never 0 (absent) or kForeignWrite.
    ids[s] = ((index_ + 1) << 40) | ++writes_;
    cas->values[s] = tagged_value(ids[s]);
  }
  client::TransactionBody body = [cas](client::Transaction& txn) { return cross_shard_cas_body(txn, cas); };
  client::TransactionOptions options = transaction_options();
  auto op = client::run_transaction(client, std::move(body), std::move(options));
  const client::TransactionRun run = co_await std::move(op);
  Outcome out = outcome_of_run(run);
  if (!out.ok) co_return out;
  out.compare_failed = !cas->succeeded;
  for (std::size_t s = 0; s < 2; ++s) seen_[s][slot] = cas->succeeded ? ids[s] : cas->found[s];
  co_return out;
}

// Two keys of the shared pool on different shards; their values are read and both written.
asio::awaitable<Outcome> Worker::transfer(client::Client& client) {
  const TransferPool& pool = shared_.pool;
  const std::uint64_t a = rng_() % pool.keys();
  const std::uint64_t random_shard = rng_();
  const std::uint64_t b = pool.partner(a, random_shard, rng_());
  auto t = std::make_shared<TransferTxn>();
  t->from = pool.key(a);
  t->to = pool.key(b);
  client::TransactionBody body = [t](client::Transaction& txn) { return transfer_body(txn, t); };
  client::TransactionOptions options = transaction_options();
  auto op = client::run_transaction(client, std::move(body), std::move(options));
  const client::TransactionRun run = co_await std::move(op);
  co_return outcome_of_run(run);
}

// Writes keys [batch * B, (batch + 1) * B) of the key space in one txn (no compares).
asio::awaitable<Outcome> Worker::load_batch(client::Client& client, std::uint64_t batch) {
  const std::uint64_t first = batch * config_.batch;
  const std::uint64_t last = std::min<std::uint64_t>(first + config_.batch, config_.key_space);
  KV_ASSERT(first < last);
  Outcome out;
  for (int attempt = 0; attempt < kLoadAttempts; ++attempt) {
    client::TxnRequest request;
    request.success.reserve(last - first);
    for (std::uint64_t i = first; i < last; ++i) {
      request.success.push_back(net::PutRequest{key_name(shared_.prefix, i, config_.key_size), shared_.value, false});
    }
    auto op = client.txn(std::move(request));
    const client::Result<client::TxnResult> r = co_await std::move(op);
    out = outcome_of(r);
    if (out.ok) {
      out.keys_written = last - first;
      co_return out;
    }
    if (r.kind() == client::ErrorKind::kInvalidArgument) break;  // retrying cannot help
  }
  co_return out;
}

}  // namespace kv::bench
