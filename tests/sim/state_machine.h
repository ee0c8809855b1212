// The toy replicated state machine: an append-only list of the commands applied, with the
// index each was applied at. The leader's no-op entries advance the applied index only.
//
// Append-only makes every earlier state cheap to recover: the image at index i is the
// prefix of commands with index <= i. That serves snapshot requests at any applied index,
// and lets a crash roll the state machine back to what was durable (see SimNode).
//
// Snapshot data is text: "applied <i>\n" followed by "<index> <payload>\n" per command.
// Payloads never contain spaces or newlines (the driver makes them).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "consensus/types.h"

namespace kv::sim {

using raft::LogIndex;

class StateMachine {
 public:
  struct Command {
    LogIndex index = 0;
    std::string payload;
    bool operator==(const Command&) const = default;
  };

  LogIndex applied() const { return applied_; }
  const std::vector<Command>& commands() const { return commands_; }

  // REQUIRES: entry.index == applied() + 1.
  void apply(const raft::Entry& entry);

  // The image after applying every entry up to `index`.
  // REQUIRES: index <= applied().
  std::string image_at(LogIndex index) const;

  // Replaces the state by a snapshot image. Returns false, changing nothing, when `data`
  // is malformed or does not describe state at `index`.
  bool restore(const std::string& data, LogIndex index);

  // Forgets every command after `index` (a crash lost what was not durable).
  // REQUIRES: index <= applied().
  void truncate_to(LogIndex index);

 private:
  LogIndex applied_ = 0;
  std::vector<Command> commands_;  // ascending index
};

}  // namespace kv::sim
