// The plain data the Raft core consumes and produces. No behaviour lives here.
// Every other layer converts to and from these structs (src/net owns the wire encoding).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kv::raft {

using Term = std::uint64_t;
using LogIndex = std::uint64_t;
using NodeId = std::uint64_t;

// NodeId 0 means "nobody": no vote cast, no leader known.
inline constexpr NodeId kNoNode = 0;

enum class EntryType : std::uint8_t {
  kNormal = 0,      // an application command; empty data is the leader's no-op
  kConfChange = 1,  // reserved for joint-consensus membership changes
};

struct Entry {
  Term term = 0;
  LogIndex index = 0;
  EntryType type = EntryType::kNormal;
  std::string data{};

  bool operator==(const Entry&) const = default;
};

// The state that must be durable before a node answers anything that depends on it.
struct HardState {
  Term term = 0;
  NodeId vote = kNoNode;
  LogIndex commit = 0;

  bool operator==(const HardState&) const = default;
  bool empty() const { return term == 0 && vote == kNoNode && commit == 0; }
};

// Cluster membership. `voters_outgoing` is non-empty only during a joint configuration
// (thesis §4.3): decisions then need a majority of both `voters` and `voters_outgoing`.
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> voters_outgoing;
  std::vector<NodeId> learners;

  bool operator==(const ConfState&) const = default;
};

struct SnapshotMeta {
  LogIndex index = 0;  // last log index the snapshot covers
  Term term = 0;       // term of that entry
  ConfState conf;

  bool operator==(const SnapshotMeta&) const = default;
};

// `data` is opaque to the core: the state machine's image at meta.index.
struct Snapshot {
  SnapshotMeta meta;
  std::string data{};

  bool empty() const { return meta.index == 0; }
  bool operator==(const Snapshot&) const = default;
};

enum class MessageType : std::uint8_t {
  kAppend = 0,             // leader -> follower: entries after (index, log_term), commit
  kAppendResponse = 1,     // index = highest matched index, or the rejected index with reject_hint
  kVote = 2,               // candidate -> all: (index, log_term) = candidate's last entry
  kVoteResponse = 3,
  kPreVote = 4,            // as kVote, for term + 1, without changing anyone's term
  kPreVoteResponse = 5,
  kHeartbeat = 6,          // leader -> follower: commit (capped at the follower's match), context
  kHeartbeatResponse = 7,  // context echoed back (ReadIndex rounds)
  kSnapshot = 8,           // leader -> follower: snapshot
  kReadIndex = 9,          // follower -> leader: context; leader answers with kReadIndexResponse
  kReadIndexResponse = 10, // index = read index for context; reject if the leader could not serve it
  kTimeoutNow = 11,        // leader -> transferee: start an election now, skipping pre-vote
};
inline constexpr int kMessageTypeCount = 12;

const char* to_string(MessageType type);

struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term = 0;
  Term log_term = 0;
  LogIndex index = 0;
  std::vector<Entry> entries{};
  LogIndex commit = 0;
  bool reject = false;
  LogIndex reject_hint = 0;  // kAppendResponse with reject: the follower's last index
  std::optional<Snapshot> snapshot{};
  std::string context{};

  bool operator==(const Message&) const = default;
};

enum class Role : std::uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
const char* to_string(Role role);

// Volatile state worth telling the application about when it changes.
struct SoftState {
  NodeId leader = kNoNode;
  Role role = Role::kFollower;

  bool operator==(const SoftState&) const = default;
};

// A linearizable read may be served once the state machine has applied `index`.
struct ReadState {
  LogIndex index = 0;
  std::string context{};

  bool operator==(const ReadState&) const = default;
};

}  // namespace kv::raft
