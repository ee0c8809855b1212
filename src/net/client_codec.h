// Client frames <-> plain structs (schema/kv.capnp <-> client_protocol.h).
//
// Same contract as raft_codec.h: encoders return a complete frame; decoders take a payload
// whose header was accepted and return an error (never throw, never UB) for anything
// malformed, including unknown enum values and union tags. Pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "net/client_protocol.h"
#include "net/frame.h"
#include "net/result.h"

namespace kv::net {

EncodedFrame encode_request(const Request& request);
EncodedFrame encode_response(const Response& response);

Result<Request> decode_request(std::span<const std::uint64_t> payload);
Result<Response> decode_response(std::span<const std::uint64_t> payload);

// Reads only Request.id, for answering a request whose body failed to decode (the id is
// the first field, so it survives most corruption of the rest). nullopt if unreadable.
std::optional<std::uint64_t> peek_request_id(std::span<const std::uint64_t> payload);

}  // namespace kv::net
