// The replicated state machine of one shard: applies committed commands to the DataStore,
// with the Raft thesis's client sessions (§6.3) so that a retried write is applied at most
// once. Runs on the storage thread only (not thread-safe).
//
// Sessions: a client writes through sessions, each with at most one write outstanding;
// a retry repeats the same (client_id, seq). A command whose seq equals the session's last
// is answered from the cached response without being applied again; an older seq is
// refused. The table holds at most max_sessions; beyond that the least recently active
// sessions are dropped at the same log index on every replica (determinism comes from the
// log, not from clocks). A retry that arrives after its session was dropped would be
// applied again: with the default 100000 sessions that needs 100000 other clients' writes
// between a timeout and its retry.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "consensus/types.h"
#include "net/client_protocol.h"
#include "storage/data_store.h"

namespace kv::server {

struct ApplyResult {
  raft::LogIndex index = 0;
  raft::Term term = 0;
  net::ResponseBody body;
};

class ShardStateMachine {
 public:
  ShardStateMachine(storage::GroupId group, storage::DataStore& data, std::uint32_t max_sessions);

  // (Re)loads the session table: before the first apply(), and after a snapshot install.
  storage::Status load();

  // Applies consecutive committed entries in one storage batch, returning one result per
  // command (no-ops have none). A storage write error is fatal (KV_PANIC): the node stops,
  // and a restart replays the log from the last applied index.
  std::vector<ApplyResult> apply(std::span<const raft::Entry> entries);

  std::size_t session_count() const { return sessions_.size(); }

 private:
  struct Session {
    std::uint64_t last_seq = 0;
    raft::LogIndex last_active = 0;
    std::string response;  // encoded net::Response, empty when too large to keep
  };

  net::ResponseBody apply_command(const net::Request& request, raft::LogIndex index);
  net::ResponseBody execute(const net::RequestOp& op, raft::LogIndex index);
  void record_session(std::uint64_t client_id, std::uint64_t seq, raft::LogIndex index,
                      const net::ResponseBody& body);
  void evict_sessions();

  // Writes go to the batch and to the overlay that reads of the same batch see.
  void write(const std::string& key, std::optional<std::string> value, raft::LogIndex version);

  const storage::GroupId group_;
  storage::DataStore& data_;
  const std::uint32_t max_sessions_;
  std::optional<storage::ApplyBatch> batch_;
  std::map<std::string, std::optional<storage::VersionedValue>> overlay_;
  std::unordered_map<std::uint64_t, Session> sessions_;
  std::set<std::pair<raft::LogIndex, std::uint64_t>> by_activity_;
};

}  // namespace kv::server
