#include "server/state_machine.h"

#include <cstring>

#include "common/assert.h"
#include "net/client_codec.h"
#include "server/command.h"
#include "server/kv_reads.h"
#include "server/overlay_reader.h"

namespace kv::server {

namespace {

// The most keys one delete-range command removes; a larger range takes several commands.
constexpr std::size_t kMaxDeleteRangeKeys = 100000;
// Cached responses larger than this are not kept for retries.
constexpr std::size_t kMaxCachedResponseBytes = 64u << 10;

std::string encode_cached_response(const net::ResponseBody& body) {
  const net::EncodedFrame frame = net::encode_response(net::Response{0, body});
  if (frame.payload().size_bytes() > kMaxCachedResponseBytes) return {};
  return std::string(reinterpret_cast<const char*>(frame.payload().data()), frame.payload().size_bytes());
}

net::ResponseBody decode_cached_response(const std::string& bytes) {
  if (bytes.empty()) {
    return net::ErrorResponse{net::ErrorCode::kUnsupported,
                              "this write was applied earlier; its result was too large to keep for a retry",
                              {}};
  }
  std::vector<std::uint64_t> words(bytes.size() / sizeof(std::uint64_t));
  std::memcpy(words.data(), bytes.data(), words.size() * sizeof(std::uint64_t));
  auto decoded = net::decode_response(words);
  KV_ASSERT_MSG(decoded.ok(), "a cached session response does not decode");
  return std::move(decoded.value().body);
}

std::optional<net::KeyValue> to_net_kv(const std::string& key, const std::optional<storage::VersionedValue>& v) {
  if (!v) return std::nullopt;
  return net::KeyValue{key, v->value, v->version};
}

}  // namespace

ShardStateMachine::ShardStateMachine(storage::GroupId group, storage::KeyRange range, storage::DataStore& data,
                                     std::uint32_t max_sessions)
    : group_(group), range_(std::move(range)), data_(data), max_sessions_(max_sessions) {
  KV_ASSERT(max_sessions > 0);
}

storage::Status ShardStateMachine::load() {
  sessions_.clear();
  by_activity_.clear();
  storage::Status status = data_.for_each_session(group_, [this](const storage::ClientSession& s) {
    sessions_[s.client_id] = Session{s.last_seq, s.last_active_index, s.response};
    by_activity_.emplace(s.last_active_index, s.client_id);
    return true;
  });
  if (!status.ok()) return status;
  return load_txns();
}

std::vector<ApplyResult> ShardStateMachine::apply(std::span<const raft::Entry> entries) {
  std::vector<ApplyResult> results;
  if (entries.empty()) return results;
  std::lock_guard guard(txn_mu_);
  batch_.emplace(data_.new_batch(group_));
  for (const raft::Entry& e : entries) {
    if (e.type != raft::EntryType::kNormal || e.data.empty()) continue;  // no-op
    auto command = decode_command(e.data);
    if (!command.ok()) {
      // Never applied, on every replica alike: the log is checksummed, so this is a bug.
      results.push_back({e.index, e.term, net::ErrorResponse{net::ErrorCode::kInternal, command.error(), {}}});
      continue;
    }
    if (write_blocked(command.value().op)) {
      results.push_back({e.index, e.term, net::ErrorResponse{net::ErrorCode::kConflict, "waits for a lock", {}}, true});
      continue;
    }
    results.push_back({e.index, e.term, apply_command(command.value(), e.index)});
  }
  evict_sessions();
  batch_->set_applied_index(entries.back().index);
  const storage::Status status = data_.apply(*batch_);
  KV_ASSERT_MSG(status.ok(), ("applying to the state machine failed: " + status.to_string()).c_str());
  batch_.reset();
  overlay_.clear();
  txn_state_overlay_.clear();
  published_locks_.store(txns_.size(), std::memory_order_release);
  return results;
}

net::ResponseBody ShardStateMachine::apply_command(const net::Request& request, raft::LogIndex index) {
  const bool tracked = request.client_id != 0 && request.seq != 0;
  if (tracked) {
    if (auto it = sessions_.find(request.client_id); it != sessions_.end()) {
      if (request.seq == it->second.last_seq) return decode_cached_response(it->second.response);
      if (request.seq < it->second.last_seq) {
        return net::ErrorResponse{net::ErrorCode::kStaleSequence,
                                  "sequence " + std::to_string(request.seq) + " is older than the session's last (" +
                                      std::to_string(it->second.last_seq) + ")",
                                  {}};
      }
    }
  }
  net::ResponseBody body = execute(request.op, index);
  if (tracked) record_session(request.client_id, request.seq, index, body);
  return body;
}

void ShardStateMachine::record_session(std::uint64_t client_id, std::uint64_t seq, raft::LogIndex index,
                                       const net::ResponseBody& body) {
  Session& s = sessions_[client_id];
  by_activity_.erase({s.last_active, client_id});
  s = Session{seq, index, encode_cached_response(body)};
  by_activity_.emplace(index, client_id);
  batch_->put_session(storage::ClientSession{client_id, seq, index, s.response});
}

void ShardStateMachine::evict_sessions() {
  while (sessions_.size() > max_sessions_) {
    const auto oldest = *by_activity_.begin();
    by_activity_.erase(by_activity_.begin());
    sessions_.erase(oldest.second);
    batch_->delete_session(oldest.second);
  }
}

void ShardStateMachine::write(const std::string& key, std::optional<std::string> value, raft::LogIndex version) {
  if (value) {
    batch_->put(key, *value, version);
    overlay_[key] = storage::VersionedValue{std::move(*value), version};
  } else {
    batch_->del(key);
    overlay_[key] = std::nullopt;
  }
}

net::ResponseBody ShardStateMachine::execute(const net::RequestOp& op, raft::LogIndex index) {
  OverlayReader reader(data_, range_, overlay_);
  auto put = [&](const net::PutRequest& r) {
    net::PutResponse out{index, r.prev_kv ? to_net_kv(r.key, reader.get(r.key)) : std::nullopt};
    write(r.key, r.value, index);
    return out;
  };
  auto del = [&](const net::DeleteRequest& r) {
    net::DeleteResponse out;
    const std::optional<std::string> end = storage_range_end(r.range_end);
    std::vector<storage::KeyValue> victims;
    if (!end) {
      if (auto v = reader.get(r.key)) victims.push_back({r.key, std::move(v->value), v->version});
    } else {
      victims = reader.scan(r.key, *end, kMaxDeleteRangeKeys).items;
    }
    for (storage::KeyValue& kv : victims) {
      write(kv.key, std::nullopt, index);
      if (r.prev_kv) out.prev_kvs.push_back(net::KeyValue{kv.key, std::move(kv.value), kv.version});
    }
    out.deleted = victims.size();
    return out;
  };
  auto cas = [&](const net::CasRequest& r) -> net::ResponseBody {
    std::optional<storage::VersionedValue> current = reader.get(r.key);
    if (!compare_matches(current, net::CompareOp::kEqual, r.compare)) {
      return net::CasResponse{false, current ? current->version : 0, to_net_kv(r.key, current)};
    }
    const auto* then_put = std::get_if<net::CasPut>(&r.then);
    write(r.key, then_put ? std::optional<std::string>(then_put->value) : std::nullopt, index);
    return net::CasResponse{true, index, std::nullopt};
  };
  auto txn = [&](const net::TxnRequest& r) -> net::ResponseBody {
    net::TxnResponse out;
    out.succeeded = true;
    for (const net::TxnCompare& c : r.compares) {
      out.succeeded = out.succeeded && compare_matches(reader.get(c.key), c.op, c.target);
    }
    for (const net::TxnOp& txn_op : out.succeeded ? r.success : r.failure) {
      out.results.push_back(std::visit(
          [&](const auto& o) -> net::TxnOpResult {
            using T = std::decay_t<decltype(o)>;
            if constexpr (std::is_same_v<T, net::GetRequest>) return execute_get(o, reader);
            else if constexpr (std::is_same_v<T, net::RangeRequest>) return execute_range(o, reader);
            else if constexpr (std::is_same_v<T, net::PutRequest>) return put(o);
            else return del(o);
          },
          txn_op));
    }
    return out;
  };
  return std::visit(
      [&](const auto& r) -> net::ResponseBody {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, net::PutRequest>) return put(r);
        else if constexpr (std::is_same_v<T, net::DeleteRequest>) return del(r);
        else if constexpr (std::is_same_v<T, net::CasRequest>) return cas(r);
        else if constexpr (std::is_same_v<T, net::TxnRequest>) return txn(r);
        else if constexpr (std::is_same_v<T, net::TxnCommitRequest>) return commit_one_phase(r, index);
        else if constexpr (std::is_same_v<T, net::TxnPrepareRequest>) return prepare(r, index);
        else if constexpr (std::is_same_v<T, net::TxnResolveRequest>) return resolve(r);
        else if constexpr (std::is_same_v<T, net::TxnDecideRequest>) return decide(r);
        else if constexpr (std::is_same_v<T, net::ShardLeaderRequest>) return record_leader(r);
        else return net::ErrorResponse{net::ErrorCode::kBadRequest, "not a write", {}};
      },
      op);
}

}  // namespace kv::server
