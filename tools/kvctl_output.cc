#include "kvctl_output.h"

#include <algorithm>
#include <cstdio>

namespace kv::kvctl {

namespace {

constexpr bool is_json(OutputFormat f) { return f == OutputFormat::kJson; }

std::string num(std::uint64_t n) { return std::to_string(n); }

// The items, each formatted by `format(item, position)`, separated by commas: the body of
// every JSON list kvctl prints.
template <class T, class Format>
std::string joined(const std::vector<T>& items, Format format) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out.append(format(items[i], i));
  }
  return out;
}

std::string kv_json(const net::KeyValue& kv) {
  return "{" + json_bytes("key", kv.key) + "," + json_bytes("value", kv.value) + ",\"version\":" + num(kv.version) + "}";
}

std::string kv_lines(const net::KeyValue& kv, bool keys_only = false) {
  return keys_only ? kv.key + "\n" : kv.key + "\n" + kv.value + "\n";
}

std::string kvs_json(const std::vector<net::KeyValue>& kvs) {
  return "[" + joined(kvs, [](const net::KeyValue& kv, std::size_t) { return kv_json(kv); }) + "]";
}

// A byte string shown inside a table cell: printable ASCII as is, the rest escaped.
std::string printable(std::string_view bytes) {
  std::string out = "\"";
  for (unsigned char c : bytes) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out + "\"";
}

std::string key_range(const std::string& start, const std::string& end) {
  return "[" + printable(start) + ", " + (end.empty() ? std::string("end") : printable(end)) + ")";
}

std::string shard_range(const net::ShardStatus& s) { return key_range(s.start_key, s.end_key); }

const char* role_name(net::ReplicaRole role) {
  switch (role) {
    case net::ReplicaRole::kFollower: return "follower";
    case net::ReplicaRole::kPreCandidate: return "pre-candidate";
    case net::ReplicaRole::kCandidate: return "candidate";
    case net::ReplicaRole::kLeader: return "leader";
    case net::ReplicaRole::kLearner: return "learner";
  }
  return "unknown";
}

// Left-aligned columns, two spaces apart.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string shard_json(const net::ShardStatus& s) {
  return "{\"shard\":" + num(s.shard) + "," + json_bytes("start_key", s.start_key) + "," +
         json_bytes("end_key", s.end_key) + ",\"role\":\"" + role_name(s.role) + "\",\"leader\":" + num(s.leader) +
         ",\"term\":" + num(s.term) + ",\"commit_index\":" + num(s.commit_index) +
         ",\"applied_index\":" + num(s.applied_index) + ",\"raft_index\":" + num(s.raft_index) + "}";
}

std::string status_json(const EndpointStatus& row) {
  std::string out = "{\"endpoint\":" + json_string(row.endpoint);
  if (!row.status.ok()) {
    return out + ",\"error\":" + json_string(to_string(row.status.kind()) + std::string(": ") + row.status.message()) + "}";
  }
  const net::StatusResponse& s = row.status.value();
  out += ",\"node_id\":" + num(s.node_id) + ",\"leader\":" + num(s.leader) + ",\"term\":" + num(s.term) +
         ",\"commit_index\":" + num(s.commit_index) + ",\"applied_index\":" + num(s.applied_index) +
         ",\"raft_index\":" + num(s.raft_index) + ",\"version\":" + json_string(s.version) +
         ",\"db_size_bytes\":" + num(s.db_size_bytes) + ",\"shards\":[" +
         joined(s.shards, [](const net::ShardStatus& shard, std::size_t) { return shard_json(shard); });
  return out + "]}";
}

std::string get_json(const std::string& key, const net::GetResponse& r) {
  // The same shape as a range, so scripts read one format for every get.
  if (!r.found) return "{\"kvs\":[],\"more\":false,\"count\":0}";
  return "{\"kvs\":[" + kv_json(net::KeyValue{key, r.value, r.version}) + "],\"more\":false,\"count\":1}";
}

std::string range_json(const net::RangeResponse& r) {
  return "{\"kvs\":" + kvs_json(r.kvs) + ",\"more\":" + (r.more ? "true" : "false") + ",\"count\":" + num(r.count) + "}";
}

std::string put_json(const net::PutResponse& r) {
  return "{\"version\":" + num(r.version) + (r.prev_kv ? ",\"prev_kv\":" + kv_json(*r.prev_kv) : "") + "}";
}

std::string delete_json(const net::DeleteResponse& r) {
  return "{\"deleted\":" + num(r.deleted) + ",\"prev_kvs\":" + kvs_json(r.prev_kvs) + "}";
}

// One txn op's result, as its command prints it.
std::string txn_op_text(const net::TxnOp& op, const net::TxnOpResult& result) {
  if (const auto* put = std::get_if<net::PutResponse>(&result)) return format_put(OutputFormat::kSimple, *put);
  if (const auto* del = std::get_if<net::DeleteResponse>(&result)) return format_delete(OutputFormat::kSimple, *del);
  if (const auto* get = std::get_if<net::GetResponse>(&result)) {
    const auto* request = std::get_if<net::GetRequest>(&op);
    return format_get(OutputFormat::kSimple, request ? request->key : std::string(), *get);
  }
  const auto* request = std::get_if<net::RangeRequest>(&op);
  client::RangeOptions options;
  if (request) options = client::RangeOptions{request->limit, request->keys_only, request->count_only, request->serializable};
  return format_range(OutputFormat::kSimple, std::get<net::RangeResponse>(result), options);
}

std::string txn_op_json(const net::TxnOp& op, const net::TxnOpResult& result) {
  if (const auto* put = std::get_if<net::PutResponse>(&result)) return "{\"put\":" + put_json(*put) + "}";
  if (const auto* del = std::get_if<net::DeleteResponse>(&result)) return "{\"delete\":" + delete_json(*del) + "}";
  if (const auto* get = std::get_if<net::GetResponse>(&result)) {
    const auto* request = std::get_if<net::GetRequest>(&op);
    return "{\"get\":" + get_json(request ? request->key : std::string(), *get) + "}";
  }
  return "{\"range\":" + range_json(std::get<net::RangeResponse>(result)) + "}";
}

std::string replica_list(const net::ShardInfo& s) {
  return joined(s.replicas, [](std::uint64_t id, std::size_t) { return num(id); });
}

}  // namespace

// ---- JSON building blocks

bool is_valid_utf8(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= bytes.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(bytes[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

std::string json_string(std::string_view utf8) {
  std::string out = "\"";
  for (unsigned char c : utf8) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

std::string json_bytes(std::string_view name, std::string_view bytes) {
  if (is_valid_utf8(bytes)) return json_string(name) + ":" + json_string(bytes);
  return json_string(std::string(name) + "_base64") + ":\"" + base64(bytes) + "\"";
}

// ---- commands

std::string format_put(OutputFormat f, const client::PutResult& r) {
  if (is_json(f)) return put_json(r) + "\n";
  return "OK\n" + (r.prev_kv ? kv_lines(*r.prev_kv) : std::string());
}

std::string format_get(OutputFormat f, const std::string& key, const client::GetResult& r) {
  if (is_json(f)) return get_json(key, r) + "\n";
  return r.found ? kv_lines(net::KeyValue{key, r.value, r.version}) : std::string();
}

std::string format_range(OutputFormat f, const client::RangeResult& r, const client::RangeOptions& options) {
  if (is_json(f)) return range_json(r) + "\n";
  if (options.count_only) return num(r.count) + "\n";
  std::string out;
  for (const net::KeyValue& kv : r.kvs) out += kv_lines(kv, options.keys_only);
  return out;
}

std::string format_delete(OutputFormat f, const client::DeleteResult& r) {
  if (is_json(f)) return delete_json(r) + "\n";
  std::string out = num(r.deleted) + "\n";
  for (const net::KeyValue& kv : r.prev_kvs) out += kv_lines(kv);
  return out;
}

std::string format_cas(OutputFormat f, const client::CasResult& r) {
  if (is_json(f)) {
    return "{\"succeeded\":" + std::string(r.succeeded ? "true" : "false") + ",\"version\":" + num(r.version) +
           ",\"current\":" + (r.current ? kv_json(*r.current) : "null") + "}\n";
  }
  if (r.succeeded) return "OK\n";
  return "FAILED\n" + (r.current ? kv_lines(*r.current) : std::string());
}

std::string format_txn(OutputFormat f, const client::TxnRequest& request, const client::TxnResult& r) {
  const std::vector<net::TxnOp>& ops = r.succeeded ? request.success : request.failure;
  const net::TxnOp kNoOp = net::GetRequest{};
  if (is_json(f)) {
    return "{\"succeeded\":" + std::string(r.succeeded ? "true" : "false") + ",\"results\":[" +
           joined(r.results, [&](const net::TxnOpResult& result, std::size_t i) {
             return txn_op_json(i < ops.size() ? ops[i] : kNoOp, result);
           }) +
           "]}\n";
  }
  std::string out = r.succeeded ? "SUCCESS\n" : "FAILURE\n";
  for (std::size_t i = 0; i < r.results.size(); ++i) {
    out.push_back('\n');
    out.append(txn_op_text(i < ops.size() ? ops[i] : kNoOp, r.results[i]));
  }
  return out;
}

std::string format_members(OutputFormat f, const client::MembersResult& r) {
  if (is_json(f)) {
    return "{\"members\":[" + joined(r.members, [](const net::Member& m, std::size_t) {
             return "{\"id\":" + num(m.id) + ",\"peer_addr\":" + json_string(m.peer_addr) +
                    ",\"client_addr\":" + json_string(m.client_addr) + "}";
           }) +
           "]}\n";
  }
  std::vector<std::vector<std::string>> rows{{"ID", "PEER ADDR", "CLIENT ADDR"}};
  for (const net::Member& m : r.members) rows.push_back({num(m.id), m.peer_addr, m.client_addr});
  return table(rows);
}

std::string format_version(OutputFormat f, const std::string& version) {
  if (is_json(f)) return "{\"kvctl_version\":" + json_string(version) + "}\n";
  return "kvctl version " + version + "\n";
}

std::string format_shards(OutputFormat f, const std::vector<ShardRow>& rows) {
  if (is_json(f)) {
    return "{\"shards\":[" + joined(rows, [](const ShardRow& row, std::size_t) {
             const net::ShardInfo& s = row.shard;
             return "{\"shard\":" + num(s.shard) + "," + json_bytes("start_key", s.start_key) + "," +
                    json_bytes("end_key", s.end_key) + ",\"replicas\":[" + replica_list(s) +
                    "],\"leader\":" + num(s.leader) + ",\"leader_endpoint\":" + json_string(row.leader_endpoint) +
                    ",\"term\":" + num(s.term) +
                    ",\"applied_index\":" + (row.applied_index ? num(*row.applied_index) : "null") + "}";
           }) +
           "]}\n";
  }
  // No header: every line begins with its shard number, for scripts.
  std::vector<std::vector<std::string>> t;
  for (const ShardRow& row : rows) {
    const net::ShardInfo& s = row.shard;
    const std::string replicas = replica_list(s);
    t.push_back({num(s.shard), key_range(s.start_key, s.end_key), replicas.empty() ? "-" : replicas,
                 s.leader == 0 ? "-" : num(s.leader), num(s.term), row.applied_index ? num(*row.applied_index) : "-"});
  }
  return table(t);
}

std::string format_status(OutputFormat f, const std::vector<EndpointStatus>& rows) {
  if (is_json(f)) {
    return "[" + joined(rows, [](const EndpointStatus& row, std::size_t) { return status_json(row); }) + "]\n";
  }
  std::vector<std::vector<std::string>> t{
      {"ENDPOINT", "SHARD", "RANGE", "ROLE", "ID", "LEADER", "TERM", "COMMIT", "APPLIED", "RAFT INDEX", "VERSION"}};
  for (const EndpointStatus& row : rows) {
    if (!row.status.ok()) continue;  // reported on stderr by the caller
    const net::StatusResponse& s = row.status.value();
    t.push_back({row.endpoint, "-", "-", "-", num(s.node_id), num(s.leader), num(s.term), num(s.commit_index),
                 num(s.applied_index), num(s.raft_index), s.version});
    for (const net::ShardStatus& sh : s.shards) {
      t.push_back({row.endpoint, num(sh.shard), shard_range(sh), role_name(sh.role), num(s.node_id), num(sh.leader),
                   num(sh.term), num(sh.commit_index), num(sh.applied_index), num(sh.raft_index), ""});
    }
  }
  return table(t);
}

}  // namespace kv::kvctl
