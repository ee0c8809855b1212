// Pending ReadIndex requests on the leader (thesis §6.4). A request records the commit
// index at the time it arrived; it becomes safe once a quorum has answered a heartbeat that
// carried its context, proving the leader was still the leader after the request arrived.
// Requests complete in arrival order: a quorum for a later context confirms the earlier ones.
#pragma once

#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "consensus/types.h"

namespace kv::raft {

struct ReadIndexRequest {
  LogIndex index = 0;
  NodeId from = kNoNode;  // the node that asked (the leader itself for local reads)
  std::string context;
};

class ReadOnly {
 public:
  // Returns false (and ignores the request) when `context` is already pending.
  bool add_request(LogIndex index, NodeId from, std::string context);
  // Records that `id` answered the heartbeat carrying `context`; returns the nodes that
  // have, or nullptr when no such request is pending.
  const std::set<NodeId>* record_ack(NodeId id, const std::string& context);
  // Removes and returns every request up to and including `context`.
  std::vector<ReadIndexRequest> release_through(const std::string& context);
  // The context of the newest pending request, or empty when there is none.
  std::string newest_context() const;
  bool empty() const { return queue_.empty(); }
  void reset();

 private:
  struct Pending {
    ReadIndexRequest request;
    std::set<NodeId> acks;
  };
  std::map<std::string, Pending> pending_;
  std::deque<std::string> queue_;
};

}  // namespace kv::raft
