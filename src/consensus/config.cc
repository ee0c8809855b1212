#include "consensus/config.h"

namespace kv::raft {

std::string Config::validate() const {
  if (id == kNoNode) return "config: id must not be 0";
  if (heartbeat_interval_ticks <= 0) return "config: heartbeat_interval_ticks must be positive";
  if (election_timeout_ticks <= heartbeat_interval_ticks) {
    return "config: election_timeout_ticks must be greater than heartbeat_interval_ticks";
  }
  if (max_message_bytes == 0) return "config: max_message_bytes must be positive";
  if (max_inflight_messages == 0) return "config: max_inflight_messages must be positive";
  return {};
}

}  // namespace kv::raft
