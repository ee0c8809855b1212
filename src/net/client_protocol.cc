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
  return std::holds_alternative<PutRequest>(op) || std::holds_alternative<DeleteRequest>(op) ||
         std::holds_alternative<CasRequest>(op) || std::holds_alternative<TxnRequest>(op);
}

const char* op_name(const RequestOp& op) {
  static constexpr const char* kNames[] = {"get", "put",    "delete",  "range",
                                           "cas", "status", "members", "txn"};
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
