// kvctl's printing: etcdctl-like plain text by default (a kv prints as its key line, then
// its value line), or JSON with -w json. Pure formatting into strings (no I/O), so that the
// formats are testable.
//
// JSON: keys and values are JSON strings when they are valid UTF-8; otherwise the member is
// named "<field>_base64" and holds the bytes in base64, so no byte is ever lost or mangled.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/result.h"
#include "client/types.h"
#include "kvctl_args.h"

namespace kv::kvctl {

std::string format_put(OutputFormat f, const client::PutResult& r);
std::string format_get(OutputFormat f, const std::string& key, const client::GetResult& r);
std::string format_range(OutputFormat f, const client::RangeResult& r, const client::RangeOptions& options);
std::string format_delete(OutputFormat f, const client::DeleteResult& r);
std::string format_cas(OutputFormat f, const client::CasResult& r);
std::string format_txn(OutputFormat f, const client::TxnRequest& request, const client::TxnResult& r);
std::string format_members(OutputFormat f, const client::MembersResult& r);
std::string format_version(OutputFormat f, const std::string& version);

// One endpoint's answer to `endpoint status`.
struct EndpointStatus {
  std::string endpoint;
  client::Result<client::StatusResult> status;
};
std::string format_status(OutputFormat f, const std::vector<EndpointStatus>& rows);

// One shard of `shard list`: the map's entry, where its leader listens, and the leader's
// applied index (from its status).
struct ShardRow {
  net::ShardInfo shard;
  std::string leader_endpoint;                 // empty = unknown
  std::optional<std::uint64_t> applied_index;  // nullopt = unknown
};
std::string format_shards(OutputFormat f, const std::vector<ShardRow>& rows);

// JSON building blocks (exposed for the tests).
std::string json_string(std::string_view utf8);
// "name":"..." for valid UTF-8, else "name_base64":"...".
std::string json_bytes(std::string_view name, std::string_view bytes);
bool is_valid_utf8(std::string_view bytes);
std::string base64(std::string_view bytes);

}  // namespace kv::kvctl
