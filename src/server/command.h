// The replicated command: what a leader appends to a shard's Raft log for one client write.
//
// Format: the payload of the client protocol's Request message (schema/kv.capnp) with
// `id` and `timeoutMs` cleared — the request exactly as the client meant it, plus its
// exactly-once session (clientId, seq). Reusing the public schema keeps one encoding to
// evolve, and Cap'n Proto's rules for adding fields keep old log entries readable.
// An empty entry is the leader's no-op and is not a command.
#pragma once

#include <string>
#include <string_view>

#include "net/client_protocol.h"
#include "net/result.h"

namespace kv::server {

// REQUIRES: net::is_write(request.op).
std::string encode_command(const net::Request& request);

// Errors: data that is not a well-formed Request (a bug or corruption, never applied).
net::Result<net::Request> decode_command(std::string_view data);

}  // namespace kv::server
