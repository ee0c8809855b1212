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

// Failure kinds: kMalformed when the payload is not a valid Cap'n Proto message (nothing in
// it can be trusted: close the connection); kUnsupported when it is valid but holds a union
// member or enum value this build does not know, or exceeds a decode-time cap (its id is
// readable with peek_*_id, and the connection can carry on).
Result<Request> decode_request(std::span<const std::uint64_t> payload);
Result<Response> decode_response(std::span<const std::uint64_t> payload);

// Read only the id (the first field), for answering or matching a message whose body failed
// to decode. nullopt if even that is unreadable.
std::optional<std::uint64_t> peek_request_id(std::span<const std::uint64_t> payload);
std::optional<std::uint64_t> peek_response_id(std::span<const std::uint64_t> payload);

}  // namespace kv::net
