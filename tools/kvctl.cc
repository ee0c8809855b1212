// kvctl: the command-line client. Parsing is in kvctl_args.cc and kvctl_txn.cc, printing in
// kvctl_output.cc; this file reads stdin when a command needs it, runs the operation through
// the client library's BlockingClient, and turns the outcome into output and an exit code.
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/blocking_client.h"
#include "kvctl_args.h"
#include "kvctl_output.h"
#include "kvctl_txn.h"

namespace kv::kvctl {
namespace {

int usage_error(const std::string& message) {
  std::cerr << "kvctl: " << message << "\nRun 'kvctl --help' for usage.\n";
  return kExitUsage;
}

int operation_error(const client::Error& error) {
  std::cerr << "kvctl: " << client::to_string(error.kind) << ": " << error.message << "\n";
  return kExitError;
}

// All of stdin, byte for byte (values are binary).
std::string read_stdin() {
  std::string out;
  char buf[64 * 1024];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) out.append(buf, n);
  return out;
}

// Prints a successful result with `format`, or the error; returns the exit code.
template <class T, class Format>
int finish(const client::Result<T>& result, Format format) {
  if (!result.ok()) return operation_error(result.error());
  std::cout << format(result.value());
  return kExitOk;
}

client::Options client_options(const GlobalFlags& g) {
  client::Options o;
  o.endpoints = g.endpoints;
  o.operation_timeout = g.timeout;
  o.request_timeout = std::min(o.request_timeout, g.timeout);
  o.connect_timeout = std::min(o.connect_timeout, g.timeout);
  return o;
}

int run_put(client::BlockingClient& c, OutputFormat f, const PutArgs& a) {
  const std::string value = a.value ? *a.value : read_stdin();
  return finish(c.put(a.key, value, {.prev_kv = a.prev_kv}), [&](const auto& r) { return format_put(f, r); });
}

int run_get(client::BlockingClient& c, OutputFormat f, const GetArgs& a) {
  if (a.is_point_read()) {
    return finish(c.get(a.key, {.serializable = a.range.serializable}),
                  [&](const auto& r) { return format_get(f, a.key, r); });
  }
  const KeySpan span = key_span(a.key, a.end, a.prefix, a.from_key);
  return finish(c.range(span.start, span.end, a.range), [&](const auto& r) { return format_range(f, r, a.range); });
}

int run_del(client::BlockingClient& c, OutputFormat f, const DelArgs& a) {
  const KeySpan span = key_span(a.key, a.end, a.prefix, a.from_key);
  const client::DeleteOptions options{.prev_kv = a.prev_kv};
  auto print = [&](const auto& r) { return format_delete(f, r); };
  if (span.end.empty()) return finish(c.del(span.start, options), print);
  return finish(c.del_range(span.start, span.end, options), print);
}

int run_cas(client::BlockingClient& c, OutputFormat f, const CasArgs& a) {
  const client::Result<client::CasResult> r = c.cas(a.key, a.expect, a.then);
  const int code = finish(r, [&](const auto& v) { return format_cas(f, v); });
  if (code == kExitOk && !r->succeeded) return kExitCompareFailed;
  return code;
}

int run_txn(client::BlockingClient& c, OutputFormat f) {
  TxnParseResult parsed = parse_txn(read_stdin());
  if (!parsed.txn) return usage_error("txn: " + parsed.error);
  const client::TxnRequest& request = *parsed.txn;
  return finish(c.txn(request), [&](const auto& r) { return format_txn(f, request, r); });
}

int run_endpoint_status(client::BlockingClient& c, const GlobalFlags& g, const EndpointStatusArgs& a) {
  std::vector<std::string> endpoints = g.endpoints;
  if (a.cluster) {
    const client::Result<client::MembersResult> members = c.members();
    if (!members.ok()) return operation_error(members.error());
    endpoints.clear();
    for (const net::Member& m : members->members) endpoints.push_back(m.client_addr);
  }
  std::vector<EndpointStatus> rows;
  int code = kExitOk;
  for (const std::string& e : endpoints) {
    rows.push_back(EndpointStatus{e, c.status(e)});
    if (!rows.back().status.ok()) {
      std::cerr << "kvctl: " << e << ": " << client::to_string(rows.back().status.kind()) << ": "
                << rows.back().status.message() << "\n";
      code = kExitError;
    }
  }
  std::cout << format_status(g.format, rows);
  return code;
}

// The shard map, with each shard's applied index from its leader's status (one status
// request per leader node; "-" where the leader is unknown or does not answer).
int run_shard_list(client::BlockingClient& c, OutputFormat f) {
  const client::Result<client::ShardMapResult> map = c.shard_map();
  if (!map.ok()) return operation_error(map.error());
  std::map<std::uint64_t, std::string> endpoint_of;
  for (const net::Member& m : map->members) endpoint_of[m.id] = m.client_addr;
  std::map<std::string, client::Result<client::StatusResult>> statuses;
  std::vector<ShardRow> rows;
  for (const net::ShardInfo& shard : map->shards) {
    ShardRow row{shard, {}, std::nullopt};
    if (auto it = endpoint_of.find(shard.leader); shard.leader != 0 && it != endpoint_of.end()) row.leader_endpoint = it->second;
    if (!row.leader_endpoint.empty()) {
      auto status = statuses.find(row.leader_endpoint);
      if (status == statuses.end()) status = statuses.emplace(row.leader_endpoint, c.status(row.leader_endpoint)).first;
      if (status->second.ok()) {
        for (const net::ShardStatus& s : status->second->shards) {
          if (s.shard == shard.shard) row.applied_index = s.applied_index;
        }
      }
    }
    rows.push_back(std::move(row));
  }
  std::cout << format_shards(f, rows);
  return kExitOk;
}

int run(const Invocation& inv) {
  const OutputFormat f = inv.global.format;
  if (const auto* help = std::get_if<HelpArgs>(&inv.command)) {
    std::cout << help_text(help->topic);
    return kExitOk;
  }
  if (std::holds_alternative<VersionArgs>(inv.command)) {
    std::cout << format_version(f, KV_VERSION);
    return kExitOk;
  }
  client::BlockingClient c(client_options(inv.global));
  if (const auto* put = std::get_if<PutArgs>(&inv.command)) return run_put(c, f, *put);
  if (const auto* get = std::get_if<GetArgs>(&inv.command)) return run_get(c, f, *get);
  if (const auto* del = std::get_if<DelArgs>(&inv.command)) return run_del(c, f, *del);
  if (const auto* cas = std::get_if<CasArgs>(&inv.command)) return run_cas(c, f, *cas);
  if (std::holds_alternative<TxnArgs>(inv.command)) return run_txn(c, f);
  if (const auto* status = std::get_if<EndpointStatusArgs>(&inv.command)) return run_endpoint_status(c, inv.global, *status);
  if (std::holds_alternative<ShardListArgs>(inv.command)) return run_shard_list(c, f);
  return finish(c.members(), [&](const auto& r) { return format_members(f, r); });
}

}  // namespace
}  // namespace kv::kvctl

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const kv::kvctl::ParseResult parsed = kv::kvctl::parse_args(args);
  if (!parsed.invocation) return kv::kvctl::usage_error(parsed.error);
  return kv::kvctl::run(*parsed.invocation);
}
