// Plain C++ views of the client protocol (schema/kv.capnp), shared by the server's client
// service and the client library. Only client_codec.cc knows the wire encoding; see
// docs/protocol.md for the meaning of every field.
//
// Keys and values are arbitrary bytes held in std::string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kv::net {

// ---------------------------------------------------------------------------------------------
// Requests

struct GetRequest {
  std::string key;
  bool serializable = false;  // true: any replica may answer, possibly stale

  bool operator==(const GetRequest&) const = default;
};

struct PutRequest {
  std::string key;
  std::string value;
  bool prev_kv = false;  // return the previous key-value, if any

  bool operator==(const PutRequest&) const = default;
};

// `key` alone when range_end is empty, else [key, range_end); range_end == "\0" (one zero
// byte) means every key >= key. Use prefix_end() to delete a prefix.
struct DeleteRequest {
  std::string key;
  std::string range_end;
  bool prev_kv = false;

  bool operator==(const DeleteRequest&) const = default;
};

// `start` alone when end is empty, else [start, end); end == "\0" means every key >= start.
struct RangeRequest {
  std::string start;
  std::string end;
  std::uint64_t limit = 0;  // 0 = the server's maximum
  bool serializable = false;
  bool keys_only = false;
  bool count_only = false;

  bool operator==(const RangeRequest&) const = default;
};

// The smallest key greater than every key with this prefix: "ab" -> "ac", "a\xff" -> "b".
// A prefix of only 0xff bytes (or the empty prefix) has no such key: returns "\0", which as
// a range end means "every key >= start".
std::string prefix_end(const std::string& prefix);

// Compare targets (kv.capnp CompareTarget).
struct CompareVersion {
  std::uint64_t version = 0;
  bool operator==(const CompareVersion&) const = default;
};
struct CompareValue {
  std::string value;
  bool operator==(const CompareValue&) const = default;
};
struct CompareAbsent {
  bool operator==(const CompareAbsent&) const = default;
};
using CompareTarget = std::variant<CompareVersion, CompareValue, CompareAbsent>;

struct CasPut {
  std::string value;
  bool operator==(const CasPut&) const = default;
};
struct CasDelete {
  bool operator==(const CasDelete&) const = default;
};

// If the key's current state equals `compare`, apply `then`.
struct CasRequest {
  std::string key;
  CompareTarget compare;
  std::variant<CasPut, CasDelete> then;

  bool operator==(const CasRequest&) const = default;
};

struct StatusRequest {
  bool operator==(const StatusRequest&) const = default;
};

struct MembersRequest {
  bool operator==(const MembersRequest&) const = default;
};

enum class CompareOp : std::uint8_t { kEqual = 0, kNotEqual = 1, kLess = 2, kGreater = 3 };

// A key's state as a compare sees it: nullopt = absent.
struct ComparedKey {
  std::string_view value;
  std::uint64_t version = 0;
};
// Whether `op target` holds for the key (the one rule: the server applies it, and the client
// evaluates it for a txn that spans shards). An absent key has version 0 and sorts before
// any present key for `absent` targets; it has no value, so a value compare holds for it only
// with notEqual.
bool compare_holds(const std::optional<ComparedKey>& current, CompareOp op, const CompareTarget& target);

struct TxnCompare {
  std::string key;
  CompareOp op = CompareOp::kEqual;
  CompareTarget target;

  bool operator==(const TxnCompare&) const = default;
};

using TxnOp = std::variant<GetRequest, PutRequest, DeleteRequest, RangeRequest>;

struct TxnRequest {
  std::vector<TxnCompare> compares;
  std::vector<TxnOp> success;
  std::vector<TxnOp> failure;

  bool operator==(const TxnRequest&) const = default;
};

// ---- Multi-shard transactions (kv.capnp, docs/protocol.md "Transactions")

struct TxnRead {
  std::string key;
  std::uint64_t version = 0;  // 0 = the key was absent

  bool operator==(const TxnRead&) const = default;
};

// [start, end) held exactly `keys` (ascending) when read; end == "\0": every key >= start.
struct TxnRangeRead {
  std::string start;
  std::string end;
  std::vector<TxnRead> keys;

  bool operator==(const TxnRangeRead&) const = default;
};

struct TxnWrite {
  std::string key;
  std::optional<std::string> value;  // nullopt = delete

  bool operator==(const TxnWrite&) const = default;
};

// The reads, range reads and writes of one shard, or of a whole transaction.
struct TxnFootprint {
  std::vector<TxnRead> reads;
  std::vector<TxnRangeRead> ranges;
  std::vector<TxnWrite> writes;

  bool operator==(const TxnFootprint&) const = default;
};

struct TxnCommitRequest {
  TxnFootprint txn;

  bool operator==(const TxnCommitRequest&) const = default;
};

struct TxnPrepareRequest {
  std::uint64_t txn_id = 0;
  std::string primary;
  TxnFootprint part;  // this shard's share

  bool operator==(const TxnPrepareRequest&) const = default;
};

struct TxnDecideRequest {
  std::uint64_t txn_id = 0;
  std::string primary;
  bool commit = false;

  bool operator==(const TxnDecideRequest&) const = default;
};

struct TxnResolveRequest {
  std::uint64_t txn_id = 0;
  std::string key;  // routes the request to the participant
  bool commit = false;
  bool forget_record = false;  // at the primary's shard, after every other participant

  bool operator==(const TxnResolveRequest&) const = default;
};

struct ShardMapRequest {
  bool operator==(const ShardMapRequest&) const = default;
};

struct ShardLeaderRequest {
  std::uint64_t shard = 0;
  std::uint64_t leader = 0;
  std::uint64_t term = 0;

  bool operator==(const ShardLeaderRequest&) const = default;
};

// Alternatives in kv.capnp's union order; the index is not the wire tag, the codec maps it.
using RequestOp = std::variant<GetRequest, PutRequest, DeleteRequest, RangeRequest, CasRequest,
                               StatusRequest, MembersRequest, TxnRequest, TxnCommitRequest,
                               TxnPrepareRequest, TxnDecideRequest, TxnResolveRequest,
                               ShardMapRequest, ShardLeaderRequest>;

struct Request {
  std::uint64_t id = 0;         // echoed in the response; unique among in-flight requests
  std::uint64_t client_id = 0;  // exactly-once session; 0 = none
  std::uint64_t seq = 0;        // per-client write sequence; 0 = not tracked
  std::uint32_t timeout_ms = 0; // 0 = the server's default
  RequestOp op;

  bool operator==(const Request&) const = default;
};

// Whether the request changes state (and so is subject to the exactly-once rules).
bool is_write(const RequestOp& op);
const char* op_name(const RequestOp& op);

// ---------------------------------------------------------------------------------------------
// Responses

enum class ErrorCode : std::uint8_t {
  kInternal = 0,
  kNotLeader = 1,
  kTimeout = 2,
  kKeyTooLarge = 3,
  kValueTooLarge = 4,
  kBadRequest = 5,
  kUnavailable = 6,
  kConflict = 7,
  kTooManyRequests = 8,
  kWrongShard = 9,
  kStaleSequence = 10,
  kUnsupported = 11,
};
inline constexpr int kErrorCodeCount = 12;
const char* to_string(ErrorCode code);

struct LeaderHint {
  std::uint64_t node_id = 0;  // 0 = unknown
  std::string client_addr;    // "host:port"; empty = unknown

  bool operator==(const LeaderHint&) const = default;
};

struct ErrorResponse {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  LeaderHint leader_hint;

  bool operator==(const ErrorResponse&) const = default;
};

struct KeyValue {
  std::string key;
  std::string value;
  std::uint64_t version = 0;

  bool operator==(const KeyValue&) const = default;
};

struct GetResponse {
  bool found = false;
  std::string value;
  std::uint64_t version = 0;

  bool operator==(const GetResponse&) const = default;
};

struct PutResponse {
  std::uint64_t version = 0;
  std::optional<KeyValue> prev_kv;

  bool operator==(const PutResponse&) const = default;
};

struct DeleteResponse {
  std::uint64_t deleted = 0;
  std::vector<KeyValue> prev_kvs;

  bool operator==(const DeleteResponse&) const = default;
};

struct RangeResponse {
  std::vector<KeyValue> kvs;
  bool more = false;
  std::uint64_t count = 0;

  bool operator==(const RangeResponse&) const = default;
};

struct CasResponse {
  bool succeeded = false;
  std::uint64_t version = 0;
  std::optional<KeyValue> current;  // when not succeeded; nullopt if the key is absent

  bool operator==(const CasResponse&) const = default;
};

enum class ReplicaRole : std::uint8_t {
  kFollower = 0,
  kPreCandidate = 1,
  kCandidate = 2,
  kLeader = 3,
  kLearner = 4,
};

struct ShardStatus {
  std::uint64_t shard = 0;
  std::uint64_t leader = 0;
  std::uint64_t term = 0;
  std::uint64_t commit_index = 0;
  std::uint64_t applied_index = 0;
  std::uint64_t raft_index = 0;
  ReplicaRole role = ReplicaRole::kFollower;
  std::string start_key;
  std::string end_key;  // empty = unbounded

  bool operator==(const ShardStatus&) const = default;
};

struct StatusResponse {
  std::uint64_t node_id = 0;
  std::uint64_t leader = 0;  // of shard 0
  std::uint64_t term = 0;
  std::uint64_t commit_index = 0;
  std::uint64_t applied_index = 0;
  std::uint64_t raft_index = 0;
  std::string version;
  std::uint64_t db_size_bytes = 0;
  std::vector<ShardStatus> shards;

  bool operator==(const StatusResponse&) const = default;
};

struct Member {
  std::uint64_t id = 0;
  std::string peer_addr;
  std::string client_addr;

  bool operator==(const Member&) const = default;
};

struct MembersResponse {
  std::vector<Member> members;

  bool operator==(const MembersResponse&) const = default;
};

using TxnOpResult = std::variant<GetResponse, PutResponse, DeleteResponse, RangeResponse>;

struct TxnResponse {
  bool succeeded = false;
  std::vector<TxnOpResult> results;

  bool operator==(const TxnResponse&) const = default;
};

struct TxnCommitResponse {
  std::uint64_t txn_id = 0;
  std::uint32_t shards = 0;  // participants; 1 = one log entry, no two-phase commit
  std::vector<TxnRead> writes;  // each key written and its version now (0: deleted)

  bool operator==(const TxnCommitResponse&) const = default;
};

struct TxnVoteResponse {
  bool yes = false;
  std::string reason;
  std::uint64_t version = 0;  // when yes: the version this shard's writes get

  bool operator==(const TxnVoteResponse&) const = default;
};

struct TxnOutcomeResponse {
  bool committed = false;

  bool operator==(const TxnOutcomeResponse&) const = default;
};

struct ShardInfo {
  std::uint64_t shard = 0;
  std::string start_key;
  std::string end_key;  // empty = unbounded
  std::vector<std::uint64_t> replicas;
  std::uint64_t leader = 0;  // 0 = unknown
  std::uint64_t term = 0;

  bool operator==(const ShardInfo&) const = default;
};

struct ShardMapResponse {
  std::vector<ShardInfo> shards;  // sorted by start_key, covering every key once
  std::vector<Member> members;

  bool operator==(const ShardMapResponse&) const = default;
};

// A request done, with nothing to report (ShardLeaderRequest).
struct AckResponse {
  bool operator==(const AckResponse&) const = default;
};

using ResponseBody = std::variant<ErrorResponse, GetResponse, PutResponse, DeleteResponse,
                                  RangeResponse, CasResponse, StatusResponse, MembersResponse,
                                  TxnResponse, TxnCommitResponse, TxnVoteResponse,
                                  TxnOutcomeResponse, ShardMapResponse, AckResponse>;

struct Response {
  std::uint64_t id = 0;
  ResponseBody body;

  bool operator==(const Response&) const = default;
};

// Convenience for the server: an error response to request `id`.
Response make_error(std::uint64_t id, ErrorCode code, std::string message,
                    LeaderHint leader_hint = {});

}  // namespace kv::net
