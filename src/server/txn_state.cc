#include "server/txn_state.h"

#include <cstring>

#include "server/command.h"

namespace kv::server {

namespace {

void put_u64le(std::string& out, std::uint64_t v) {
  for (std::size_t i = 0; i < sizeof(v); ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

std::uint64_t get_u64le(std::string_view in) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(v); ++i) v |= std::uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  return v;
}

std::string record_key(char tag, std::uint64_t id) {
  std::string key(1 + sizeof(id), '\0');
  key[0] = tag;
  for (std::size_t i = 0; i < sizeof(id); ++i) key[1 + i] = static_cast<char>(id >> (8 * (sizeof(id) - 1 - i)));
  return key;
}

}  // namespace

std::string prepared_record_key(TxnId id) { return record_key('P', id); }
std::string outcome_record_key(TxnId id) { return record_key('R', id); }
bool is_prepared_record_key(std::string_view key) { return key.size() == 1 + sizeof(TxnId) && key[0] == 'P'; }

std::string leader_record_key(std::uint64_t shard) { return record_key('L', shard); }

std::string encode_leader_claim(const LeaderClaim& claim) {
  std::string out;
  put_u64le(out, claim.leader);
  put_u64le(out, claim.term);
  return out;
}

std::optional<LeaderClaim> decode_leader_claim(std::string_view bytes) {
  if (bytes.size() != 2 * sizeof(std::uint64_t)) return std::nullopt;
  return LeaderClaim{get_u64le(bytes), get_u64le(bytes.substr(sizeof(std::uint64_t)))};
}

std::string encode_prepared(const PreparedTxn& txn) {
  net::Request request;
  request.op = net::TxnPrepareRequest{txn.id, txn.primary, txn.part};
  std::string out;
  put_u64le(out, txn.prepared_at);
  out += encode_command(request);
  return out;
}

net::Result<PreparedTxn> decode_prepared(std::string_view bytes) {
  using R = net::Result<PreparedTxn>;
  if (bytes.size() < sizeof(raft::LogIndex)) return R::failure("prepared transaction record: too short");
  const raft::LogIndex at = get_u64le(bytes);
  auto request = decode_command(bytes.substr(sizeof(raft::LogIndex)));
  if (!request.ok()) return R::failure("prepared transaction record: " + request.error());
  auto* prepare = std::get_if<net::TxnPrepareRequest>(&request.value().op);
  if (prepare == nullptr) return R::failure("prepared transaction record: not a prepare");
  return PreparedTxn{prepare->txn_id, std::move(prepare->primary), std::move(prepare->part), at};
}

std::string encode_outcome(TxnOutcome outcome) { return std::string(1, static_cast<char>(outcome)); }

std::optional<TxnOutcome> decode_outcome(std::string_view bytes) {
  if (bytes == "C") return TxnOutcome::kCommitted;
  if (bytes == "A") return TxnOutcome::kAborted;
  return std::nullopt;
}

}  // namespace kv::server
