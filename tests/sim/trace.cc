#include "sim/trace.h"

#include <cstdio>

namespace kv::sim {

using raft::Entry;
using raft::HardState;
using raft::Message;
using raft::MessageType;
using raft::Ready;

void Trace::line(const std::string& text) {
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "t=%06llu ", static_cast<unsigned long long>(now_));
  if (out_ != nullptr) *out_ << stamp << text << '\n';
  if (tail_capacity_ > 0) {
    tail_.push_back(stamp + text);
    if (tail_.size() > tail_capacity_) tail_.pop_front();
  }
}

std::string describe(const Entry& entry) {
  std::string out = std::to_string(entry.index) + ":" + std::to_string(entry.term);
  if (entry.type != raft::EntryType::kNormal) return out + " conf";
  if (entry.data.empty()) return out + " noop";
  // Payloads are short client ids; cut anything longer so one line stays one line.
  return out + " " + (entry.data.size() <= 24 ? entry.data : entry.data.substr(0, 24) + "...");
}

std::string describe(const std::vector<Entry>& entries) {
  std::string out = "[";
  const std::size_t n = entries.size();
  for (std::size_t i = 0; i < n; ++i) {
    // Long batches: the first two and the last two are enough to follow a trace.
    if (n > 6 && i == 2) {
      out += "... (" + std::to_string(n - 4) + " more), ";
      i = n - 3;
      continue;
    }
    out += describe(entries[i]);
    if (i + 1 < n) out += ", ";
  }
  return out + "]";
}

std::string describe(const HardState& hs) {
  return "{term " + std::to_string(hs.term) + " vote " + std::to_string(hs.vote) + " commit " +
         std::to_string(hs.commit) + "}";
}

std::string describe(const Message& m) {
  std::string out = std::string(raft::to_string(m.type)) + " " + std::to_string(m.from) + "->" +
                    std::to_string(m.to) + " term " + std::to_string(m.term);
  switch (m.type) {
    case MessageType::kAppend:
      out += " prev " + std::to_string(m.index) + ":" + std::to_string(m.log_term) + " ents " +
             describe(m.entries) + " commit " + std::to_string(m.commit);
      break;
    case MessageType::kAppendResponse:
      out += std::string(m.reject ? " REJECT " : " ok ") + std::to_string(m.index);
      if (m.reject) out += " hint " + std::to_string(m.reject_hint);
      break;
    case MessageType::kVote:
    case MessageType::kPreVote:
      out += " last " + std::to_string(m.index) + ":" + std::to_string(m.log_term);
      break;
    case MessageType::kVoteResponse:
    case MessageType::kPreVoteResponse:
    case MessageType::kReadIndexResponse:
      out += m.reject ? " REJECT" : " granted";
      if (m.type == MessageType::kReadIndexResponse) out += " index " + std::to_string(m.index);
      break;
    case MessageType::kHeartbeat:
      out += " commit " + std::to_string(m.commit);
      break;
    case MessageType::kSnapshot:
      if (m.snapshot) {
        out += " snap " + std::to_string(m.snapshot->meta.index) + ":" +
               std::to_string(m.snapshot->meta.term);
      }
      break;
    default:
      break;
  }
  if (!m.context.empty()) out += " ctx " + m.context;
  return out;
}

std::string describe(const Ready& ready) {
  std::string out;
  if (ready.soft_state) {
    out += " soft{leader " + std::to_string(ready.soft_state->leader) + " " +
           raft::to_string(ready.soft_state->role) + "}";
  }
  if (ready.hard_state) out += " hs" + describe(*ready.hard_state);
  if (ready.snapshot) {
    out += " snapshot " + std::to_string(ready.snapshot->meta.index) + ":" +
           std::to_string(ready.snapshot->meta.term);
  }
  if (!ready.entries.empty()) out += " entries " + describe(ready.entries);
  if (!ready.committed_entries.empty()) out += " commit " + describe(ready.committed_entries);
  if (!ready.messages.empty()) out += " msgs " + std::to_string(ready.messages.size());
  if (!ready.messages_after_persist.empty()) {
    out += " msgs_after_persist " + std::to_string(ready.messages_after_persist.size());
  }
  for (const auto& rs : ready.read_states) {
    out += " read{" + rs.context + " @" + std::to_string(rs.index) + "}";
  }
  if (ready.snapshot_request) out += " snapshot_request " + std::to_string(*ready.snapshot_request);
  if (ready.must_sync) out += " sync";
  return out;
}

}  // namespace kv::sim
