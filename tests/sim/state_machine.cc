#include "sim/state_machine.h"

#include <charconv>
#include <string_view>

#include "common/assert.h"

namespace kv::sim {

namespace {

// Parses a decimal number at the front of `text` and consumes it; nullopt when there is none.
std::optional<LogIndex> take_number(std::string_view& text) {
  LogIndex value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr == text.data()) return std::nullopt;
  text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
  return value;
}

bool take_char(std::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

}  // namespace

void StateMachine::apply(const raft::Entry& entry) {
  KV_ASSERT(entry.index == applied_ + 1);
  applied_ = entry.index;
  // Membership entries (not used yet) and the leader's no-ops change no state.
  if (entry.type == raft::EntryType::kNormal && !entry.data.empty()) {
    commands_.push_back({entry.index, entry.data});
  }
}

std::string StateMachine::image_at(LogIndex index) const {
  KV_ASSERT(index <= applied_);
  std::string out = "applied " + std::to_string(index) + "\n";
  for (const auto& c : commands_) {
    if (c.index > index) break;
    out += std::to_string(c.index) + " " + c.payload + "\n";
  }
  return out;
}

bool StateMachine::restore(const std::string& data, LogIndex index) {
  std::string_view text = data;
  const std::string_view header = "applied ";
  if (text.substr(0, header.size()) != header) return false;
  text.remove_prefix(header.size());
  const auto applied = take_number(text);
  if (!applied || *applied != index || !take_char(text, '\n')) return false;
  std::vector<Command> commands;
  while (!text.empty()) {
    const auto at = take_number(text);
    if (!at || !take_char(text, ' ')) return false;
    const auto end = text.find('\n');
    if (end == std::string_view::npos || end == 0) return false;
    // Strictly ascending indexes, all within the image.
    if (*at > index || (!commands.empty() && *at <= commands.back().index)) return false;
    commands.push_back({*at, std::string(text.substr(0, end))});
    text.remove_prefix(end + 1);
  }
  applied_ = index;
  commands_ = std::move(commands);
  return true;
}

void StateMachine::truncate_to(LogIndex index) {
  KV_ASSERT(index <= applied_);
  while (!commands_.empty() && commands_.back().index > index) commands_.pop_back();
  applied_ = index;
}

}  // namespace kv::sim
