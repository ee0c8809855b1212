// g++ 12 destroys temporaries made inside a suspending co_await expression twice
// (docs/coroutines.md). Every operation below therefore builds its awaitable as a named
// local first and co_awaits that.
#include "kvbench_workloads.h"

#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdio>
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

}  // namespace

std::string WorkloadShared::default_prefix(Workload w, std::uint64_t seed) {
  switch (w) {
    case Workload::kPut: return "p";
    case Workload::kGet:
    case Workload::kMixed: return "r";
    case Workload::kLoad: return "l";
    case Workload::kTxn: {
      // Fresh keys for every run, as etcdload does: each client then knows every key's
      // version exactly (0 = absent), so a compare fails only if the key really moved.
      char buf[8];
      std::snprintf(buf, sizeof buf, "c%04x", static_cast<unsigned>(seed % 0x10000));
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
    KV_ASSERT(!config_.cross_shard || shared.shard_prefixes.size() == 2);
    versions_.assign(shards, std::vector<std::uint64_t>(owned_slots_, 0));
  }
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
  }
  KV_PANIC("unknown workload");
}

std::string Worker::random_key(const std::string& prefix) {
  return key_name(prefix, rng_() % config_.key_space, config_.key_size);
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
  std::uint64_t& version = versions_[0][slot];
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

// The same CAS over one key in each of two shards, atomically: compare both versions, put
// both, else get both. Only reached once kCrossShardTxnAvailable is true (kvbench_run.h).
asio::awaitable<Outcome> Worker::cross_shard_txn(client::Client& client) {
  const std::uint64_t slot = rng_() % owned_slots_;
  const std::uint64_t key_index = index_ + slot * static_cast<std::uint64_t>(config_.clients);
  client::TxnRequest request;
  std::vector<std::string> keys;
  for (std::size_t s = 0; s < 2; ++s) {
    keys.push_back(key_name(shared_.shard_prefixes[s], key_index, config_.key_size));
    request.compares.push_back(
        client::TxnCompare{keys[s], client::CompareOp::kEqual, client::expect_version(versions_[s][slot])});
    request.success.push_back(net::PutRequest{keys[s], shared_.value, false});
    request.failure.push_back(net::GetRequest{keys[s], false});
  }
  auto op = client.txn(std::move(request));
  const client::Result<client::TxnResult> r = co_await std::move(op);
  if (!r.ok()) co_return outcome_of(r);
  if (r->results.size() != 2) co_return internal_error("a cross-shard txn answered with the wrong number of results");
  Outcome out;
  out.ok = true;
  out.compare_failed = !r->succeeded;
  for (std::size_t s = 0; s < 2; ++s) {
    if (const auto* put = std::get_if<net::PutResponse>(&r->results[s])) {
      versions_[s][slot] = put->version;
    } else if (const auto* got = std::get_if<net::GetResponse>(&r->results[s])) {
      versions_[s][slot] = got->found ? got->version : 0;
    } else {
      co_return internal_error("a cross-shard txn answered with an unexpected kind of result");
    }
  }
  co_return out;
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
