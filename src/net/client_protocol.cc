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

bool compare_holds(const std::optional<ComparedKey>& current, CompareOp op, const CompareTarget& target) {
  int order = 0;  // current <=> target
  if (std::holds_alternative<CompareAbsent>(target)) {
    order = current ? 1 : 0;  // present compares "greater" than absent
  } else if (const auto* version = std::get_if<CompareVersion>(&target)) {
    const std::uint64_t ours = current ? current->version : 0;
    order = ours < version->version ? -1 : (ours > version->version ? 1 : 0);
  } else {
    const std::string& value = std::get<CompareValue>(target).value;
    if (!current) return op == CompareOp::kNotEqual;  // an absent key has no value to order
    const int c = current->value.compare(value);
    order = c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  switch (op) {
    case CompareOp::kEqual: return order == 0;
    case CompareOp::kNotEqual: return order != 0;
    case CompareOp::kLess: return order < 0;
    case CompareOp::kGreater: return order > 0;
  }
  return false;
}

Response make_error(std::uint64_t id, ErrorCode code, std::string message, LeaderHint leader_hint) {
  return Response{id, ErrorResponse{code, std::move(message), std::move(leader_hint)}};
}

}  // namespace kv::net
