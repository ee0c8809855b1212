#include "net/client_protocol.h"

#include <type_traits>

namespace kv::net {

std::string prefix_end(const std::string& prefix) {
  std::string end = prefix;
  // Drop trailing 0xff bytes (they cannot be incremented), then increment the last byte.
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xFF) end.pop_back();
  if (end.empty()) return std::string(1, '\0');
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

bool is_write(const RequestOp& op) {
  return std::visit(
      [](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        return !std::is_same_v<T, GetRequest> && !std::is_same_v<T, RangeRequest> &&
               !std::is_same_v<T, StatusRequest> && !std::is_same_v<T, MembersRequest> &&
               !std::is_same_v<T, ShardMapRequest>;
      },
      op);
}

const char* op_name(const RequestOp& op) {
  static constexpr const char* kNames[] = {"get",        "put",         "delete",     "range",
                                           "cas",        "status",      "members",    "txn",
                                           "txn-commit", "txn-prepare", "txn-decide", "txn-resolve",
                                           "shard-map",  "shard-leader"};
  static_assert(std::size(kNames) == std::variant_size_v<RequestOp>);
  return kNames[op.index()];
}

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInternal: return "internal";
    case ErrorCode::kNotLeader: return "not-leader";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kKeyTooLarge: return "key-too-large";
    case ErrorCode::kValueTooLarge: return "value-too-large";
    case ErrorCode::kBadRequest: return "bad-request";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kTooManyRequests: return "too-many-requests";
    case ErrorCode::kWrongShard: return "wrong-shard";
    case ErrorCode::kStaleSequence: return "stale-sequence";
    case ErrorCode::kUnsupported: return "unsupported";
  }
  return "unknown";
}

Response make_error(std::uint64_t id, ErrorCode code, std::string message, LeaderHint leader_hint) {
  return Response{id, ErrorResponse{code, std::move(message), std::move(leader_hint)}};
}

}  // namespace kv::net
