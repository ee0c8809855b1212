# Client protocol: requests from clients (kvctl, the client library, any Cap'n Proto speaker)
# to any node. A client connection carries Request frames one way and Response frames the
# other; requests are pipelined and responses may come back in any order, matched by `id`.
# Field-by-field documentation, error handling and exactly-once rules: docs/protocol.md.
@0xa7b185c735cee422;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("kv::net::wire");

# ---------------------------------------------------------------------------------------------
# Requests

struct Request {
  id @0 :UInt64;         # chosen by the client, unique among its in-flight requests; echoed
  clientId @1 :UInt64;   # identifies the client session for exactly-once writes (0 = none)
  seq @2 :UInt64;        # per-client sequence number of a write; 0 = not tracked
  timeoutMs @3 :UInt32;  # how long the server may work on it; 0 = the server's default
  union {
    get @4 :GetRequest;
    put @5 :PutRequest;
    delete @6 :DeleteRequest;
    range @7 :RangeRequest;
    cas @8 :CasRequest;
    status @9 :StatusRequest;
    members @10 :MembersRequest;
    txn @11 :TxnRequest;
    txnCommit @12 :TxnCommitRequest;
    txnPrepare @13 :TxnPrepareRequest;
    txnDecide @14 :TxnDecideRequest;
    txnResolve @15 :TxnResolveRequest;
    shardMap @16 :ShardMapRequest;
    shardLeader @17 :ShardLeaderRequest;
  }
}

struct GetRequest {
  key @0 :Data;
  serializable @1 :Bool;  # true: any replica may answer, possibly stale; false: linearizable
}

struct PutRequest {
  key @0 :Data;
  value @1 :Data;
  prevKv @2 :Bool;  # true: the response carries the key's previous value, if any
}

# Deletes `key` alone when rangeEnd is empty, else every key in [key, rangeEnd).
# rangeEnd = "\x00" (one zero byte) means "every key >= key". A prefix p is [p, prefixEnd(p)).
struct DeleteRequest {
  key @0 :Data;
  rangeEnd @1 :Data;
  prevKv @2 :Bool;  # true: the response lists the deleted key-values
}

# Reads `start` alone when end is empty, else keys in [start, end) in byte order
# (end = "\x00": every key >= start).
struct RangeRequest {
  start @0 :Data;
  end @1 :Data;
  limit @2 :UInt64;       # at most this many kvs; 0 = the server's maximum
  serializable @3 :Bool;
  keysOnly @4 :Bool;      # values are left empty
  countOnly @5 :Bool;     # kvs is empty; count is set
}

# What a compare tests about a key's current state.
struct CompareTarget {
  union {
    version @0 :UInt64;  # the key exists with this version
    value @1 :Data;      # the key exists with this value
    absent @2 :Void;     # the key does not exist
  }
}

struct CasRequest {
  key @0 :Data;
  compare @1 :CompareTarget;  # must hold (equality) for `then` to be applied
  then :union {
    put @2 :Data;       # the new value
    delete @3 :Void;
  }
}

struct StatusRequest {}

struct MembersRequest {}

enum CompareOp {
  equal @0;
  notEqual @1;
  less @2;      # only for version and value targets
  greater @3;
}

struct TxnCompare {
  key @0 :Data;
  op @1 :CompareOp;
  target @2 :CompareTarget;
}

struct TxnOp {
  union {
    get @0 :GetRequest;
    put @1 :PutRequest;
    delete @2 :DeleteRequest;
    range @3 :RangeRequest;
  }
}

# etcd-style: if every compare holds, apply `success`, else `failure`, atomically.
struct TxnRequest {
  compares @0 :List(TxnCompare);
  success @1 :List(TxnOp);
  failure @2 :List(TxnOp);
}

# ---- Multi-shard transactions (two-phase commit; docs/protocol.md "Transactions").
# A client reads inside a transaction with plain linearizable get/range requests (which
# return versions), buffers its writes, and sends one TxnCommitRequest to any node; that node
# coordinates. The Prepare/Decide/Resolve requests are what coordinators (and nodes recovering
# an abandoned transaction) send to the leaders of the shards involved.

struct TxnRead {
  key @0 :Data;
  version @1 :UInt64;  # the version the transaction read; 0 = the key was absent
}

# A range the transaction read: it commits only if [start, end) still holds exactly these
# keys at these versions (no phantom inserted, none deleted or changed). A read cut short by
# a limit validates [start, last key + "\x00") only. end = "\x00": every key >= start.
struct TxnRangeRead {
  start @0 :Data;
  end @1 :Data;
  keys @2 :List(TxnRead);
}

struct TxnWrite {
  key @0 :Data;
  union {
    put @1 :Data;
    delete @2 :Void;
  }
}

# Commit: applied atomically if every read and range read is still current. Answered with
# TxnCommitResponse, or Error conflict (nothing applied: run the transaction again). A commit
# is not retried by clients after a timeout: its outcome is then unknown.
struct TxnCommitRequest {
  reads @0 :List(TxnRead);
  ranges @1 :List(TxnRangeRead);
  writes @2 :List(TxnWrite);
}

# Phase one at one participant shard: validate this shard's reads and lock its keys (writes
# with their intents, reads against writers). Answered with TxnVoteResponse. Idempotent for
# one txnId.
struct TxnPrepareRequest {
  txnId @0 :UInt64;
  primary @1 :Data;  # the key whose shard holds the transaction record
  reads @2 :List(TxnRead);
  ranges @3 :List(TxnRangeRead);
  writes @4 :List(TxnWrite);
}

# To the primary key's shard: record the outcome. commit = true records a commit unless an
# abort is recorded already; commit = false records an abort unless a commit is recorded.
# The answer (TxnOutcomeResponse) is the outcome that holds: this is the commit point.
struct TxnDecideRequest {
  txnId @0 :UInt64;
  primary @1 :Data;
  commit @2 :Bool;
}

# To a participant: apply (commit) or drop (abort) the transaction's intents there and
# release its locks. Idempotent; answered with TxnOutcomeResponse.
struct TxnResolveRequest {
  txnId @0 :UInt64;
  key @1 :Data;      # any key of the transaction on that shard (routes the request)
  commit @2 :Bool;
  forgetRecord @3 :Bool;  # also delete the transaction record: sent to the primary's shard
                          # last, once every other participant has resolved (no lock of the
                          # transaction is left that recovery could need the record for)
}

# The shard map: every shard's range, replicas and latest known leader (from shard 0).
struct ShardMapRequest {}

# Node to shard 0: `leader` leads `shard` in `term`. Shard 0 keeps the newest term's claim,
# so that nodes that do not replicate a shard can still name its leader. Answered with ack.
struct ShardLeaderRequest {
  shard @0 :UInt64;
  leader @1 :UInt64;
  term @2 :UInt64;
}

# ---------------------------------------------------------------------------------------------
# Responses

struct Response {
  id @0 :UInt64;  # the Request.id this answers
  union {
    error @1 :Error;
    get @2 :GetResponse;
    put @3 :PutResponse;
    delete @4 :DeleteResponse;
    range @5 :RangeResponse;
    cas @6 :CasResponse;
    status @7 :StatusResponse;
    members @8 :MembersResponse;
    txn @9 :TxnResponse;
    txnCommit @10 :TxnCommitResponse;
    txnVote @11 :TxnVoteResponse;
    txnOutcome @12 :TxnOutcomeResponse;
    shardMap @13 :ShardMapResponse;
    ack @14 :Void;
  }
}

enum ErrorCode {
  internal @0;         # a bug or an unexpected failure on the server
  notLeader @1;        # this node cannot serve it; retry at Error.leaderHint if set
  timeout @2;          # not known whether a write was applied: retry with the same seq
  keyTooLarge @3;
  valueTooLarge @4;
  badRequest @5;       # malformed or contradictory fields; do not retry unchanged
  unavailable @6;      # no quorum / shard not ready; retry later
  conflict @7;         # a transaction conflicted with another; retry the transaction
  tooManyRequests @8;  # overloaded; back off and retry
  wrongShard @9;       # the key is not served by this shard any more: refresh the shard map
  staleSequence @10;   # seq is older than the client's last acknowledged write
  unsupported @11;     # the request kind is not implemented by this server
}

struct LeaderHint {
  nodeId @0 :UInt64;     # 0 = unknown
  clientAddr @1 :Text;   # "host:port" of the leader's client endpoint; empty = unknown
}

struct Error {
  code @0 :ErrorCode;
  message @1 :Text;
  leaderHint @2 :LeaderHint;
}

struct KeyValue {
  key @0 :Data;
  value @1 :Data;
  version @2 :UInt64;  # > 0 for an existing key; grows with every write to the key
}

struct GetResponse {
  found @0 :Bool;
  value @1 :Data;
  version @2 :UInt64;
}

struct PutResponse {
  version @0 :UInt64;    # the key's version after the put
  prevKv @1 :KeyValue;   # null unless prevKv was requested and the key existed
}

struct DeleteResponse {
  deleted @0 :UInt64;            # number of keys deleted
  prevKvs @1 :List(KeyValue);    # the deleted key-values when prevKv was requested
}

struct RangeResponse {
  kvs @0 :List(KeyValue);
  more @1 :Bool;     # more keys in the range than were returned
  count @2 :UInt64;  # number of keys in the range (all of them, not just those returned)
}

struct CasResponse {
  succeeded @0 :Bool;
  version @1 :UInt64;     # when succeeded: the key's version after `then` (0 after a delete)
  current @2 :KeyValue;   # when not succeeded: the key's current value; null if absent
}

enum Role {
  follower @0;
  preCandidate @1;
  candidate @2;
  leader @3;
  learner @4;
}

struct ShardStatus {
  shard @0 :UInt64;
  leader @1 :UInt64;       # 0 = unknown
  term @2 :UInt64;
  commitIndex @3 :UInt64;
  appliedIndex @4 :UInt64;
  raftIndex @5 :UInt64;    # last index in this replica's log
  role @6 :Role;
  startKey @7 :Data;       # the shard's key range [startKey, endKey); endKey empty = unbounded
  endKey @8 :Data;
}

# The node's view of itself. The top-level leader/term/indexes are those of shard 0 (the
# shard map), as etcd's endpoint status reports its single group.
struct StatusResponse {
  nodeId @0 :UInt64;
  leader @1 :UInt64;
  term @2 :UInt64;
  commitIndex @3 :UInt64;
  appliedIndex @4 :UInt64;
  raftIndex @5 :UInt64;
  version @6 :Text;        # server software version
  dbSizeBytes @7 :UInt64;
  shards @8 :List(ShardStatus);
}

struct Member {
  id @0 :UInt64;
  peerAddr @1 :Text;    # "host:port"
  clientAddr @2 :Text;  # "host:port"
}

struct MembersResponse {
  members @0 :List(Member);
}

struct TxnOpResult {
  union {
    get @0 :GetResponse;
    put @1 :PutResponse;
    delete @2 :DeleteResponse;
    range @3 :RangeResponse;
  }
}

struct TxnResponse {
  succeeded @0 :Bool;             # every compare held: `success` ran, else `failure`
  results @1 :List(TxnOpResult);  # one per op of the branch that ran, in order
}

struct TxnCommitResponse {
  txnId @0 :UInt64;
  shards @1 :UInt32;  # participant shards: 1 = committed in one log entry (no 2PC)
  writes @2 :List(TxnRead);  # every key written, with the version it now has (0: deleted)
}

struct TxnVoteResponse {
  yes @0 :Bool;
  reason @1 :Text;  # why not, when not
  version @2 :UInt64;  # when yes: the version the transaction's writes on this shard get
                       # (the prepare's log index: no other write to those keys can come
                       # between it and the resolve, so versions still only grow)
}

struct TxnOutcomeResponse {
  committed @0 :Bool;
}

struct ShardInfo {
  shard @0 :UInt64;
  startKey @1 :Data;
  endKey @2 :Data;            # empty = unbounded
  replicas @3 :List(UInt64);  # node ids
  leader @4 :UInt64;          # latest known; 0 = unknown
  term @5 :UInt64;            # the term in which `leader` was known to lead
}

struct ShardMapResponse {
  shards @0 :List(ShardInfo);    # sorted by startKey; together they cover every key once
  members @1 :List(Member);
}
