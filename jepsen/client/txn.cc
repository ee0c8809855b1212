#include "txn.h"

#include <variant>

#include "common/assert.h"

namespace kv::jepsen {
namespace {

class OccTxn final : public TxnExecutor {
 public:
  explicit OccTxn(bool unsafe_blind_writes) : blind_(unsafe_blind_writes) {}

  TxnOutcome run(client::BlockingClient& client, const std::vector<std::string>& keys,
                 const TxnLogic& logic) override {
    KV_ASSERT(!keys.empty());
    TxnOutcome out;
    // 1. Snapshot: one txn of gets is atomic (a cross-shard transaction when the keys span shards).
    client::TxnRequest snapshot;
    for (const std::string& k : keys) snapshot.success.push_back(net::GetRequest{k, false});
    auto read = client.txn(std::move(snapshot));
    if (!read.ok()) {
      // Nothing was written by a read; an unknown read result is still `unknown`.
      out.status = classify_read_error(read.kind()) == Outcome::info ? TxnStatus::unknown : TxnStatus::aborted;
      out.error = std::string("snapshot: ") + client::to_string(read.kind()) + ": " + read.message();
      return out;
    }
    KV_ASSERT_MSG(read->succeeded, "a txn without compares runs its success branch");
    KV_ASSERT(read->results.size() == keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const auto* got = std::get_if<net::GetResponse>(&read->results[i]);
      KV_ASSERT_MSG(got != nullptr, "a get in a txn answers with a GetResponse");
      out.reads[keys[i]] = TxnRead{got->found, got->value, got->found ? got->version : 0};
    }
    // 2. Decide.
    std::optional<TxnWrites> writes = logic(out.reads);
    if (!writes) {
      out.status = TxnStatus::aborted;
      out.error = "aborted by the workload";
      return out;
    }
    if (writes->empty()) {
      out.status = TxnStatus::committed;  // read-only: the snapshot is the transaction
      return out;
    }
    // 3. Commit iff nothing we read has changed since.
    client::TxnRequest commit;
    for (const std::string& k : keys) {
      if (blind_) break;  // the deliberate weakening: no compares, lost updates
      commit.compares.push_back(client::TxnCompare{k, client::CompareOp::kEqual, net::CompareVersion{out.reads[k].version}});
    }
    for (auto& [k, v] : *writes) {
      KV_ASSERT_MSG(out.reads.count(k) == 1, "a transaction writes only keys it read");
      commit.success.push_back(net::PutRequest{k, v, false});
    }
    auto done = client.txn(std::move(commit));
    if (!done.ok()) {
      out.status = classify_write_error(done.kind()) == Outcome::info ? TxnStatus::unknown : TxnStatus::aborted;
      out.error = std::string("commit: ") + client::to_string(done.kind()) + ": " + done.message();
      return out;
    }
    out.status = done->succeeded ? TxnStatus::committed : TxnStatus::aborted;
    if (!done->succeeded) out.error = "conflict: a key changed since the snapshot";
    return out;
  }

 private:
  const bool blind_;
};

}  // namespace

std::unique_ptr<TxnExecutor> make_txn_executor(bool unsafe_blind_writes) {
  return std::make_unique<OccTxn>(unsafe_blind_writes);
}

Outcome outcome_of(TxnStatus status) {
  switch (status) {
    case TxnStatus::committed:
      return Outcome::ok;
    case TxnStatus::aborted:
      return Outcome::fail;
    case TxnStatus::unknown:
      return Outcome::info;
  }
  return Outcome::info;
}

}  // namespace kv::jepsen
