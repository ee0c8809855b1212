# Peer-to-peer protocol: Raft traffic between the nodes of one cluster.
#
# A node dials one TCP connection to every peer and uses it to send that peer the messages of
# every Raft group (shard) the two share. The first frame is a Hello, answered by a HelloAck;
# after an accepted handshake the dialer sends PeerBatch and SnapshotChunk frames, and the
# acceptor sends nothing more. Each direction of a node pair therefore has its own connection.
# Field-by-field documentation: docs/protocol.md.
@0x9e89ed3d34a192c3;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("kv::net::wire");

# Bumped on any incompatible change to the peer protocol.
const peerProtocolVersion :UInt32 = 1;

struct Hello {
  protocolVersion @0 :UInt32;  # the dialer's peerProtocolVersion
  clusterId @1 :UInt64;        # must equal the acceptor's cluster id
  from @2 :UInt64;             # the dialer's node id (never 0)
  to @3 :UInt64;               # the node id the dialer believes it is talking to (never 0)
}

enum HandshakeStatus {
  ok @0;
  wrongCluster @1;
  wrongNode @2;             # Hello.to is not the acceptor's node id
  unsupportedVersion @3;
  badHello @4;              # from == 0, to == 0, or another malformed field
}

struct HelloAck {
  status @0 :HandshakeStatus;
  protocolVersion @1 :UInt32;  # the acceptor's peerProtocolVersion
  clusterId @2 :UInt64;        # the acceptor's cluster id
  nodeId @3 :UInt64;           # the acceptor's node id
  reason @4 :Text;             # human-readable; empty when status == ok
}

enum MessageType {
  append @0;
  appendResponse @1;
  vote @2;
  voteResponse @3;
  preVote @4;
  preVoteResponse @5;
  heartbeat @6;
  heartbeatResponse @7;
  snapshot @8;
  readIndex @9;
  readIndexResponse @10;
  timeoutNow @11;
}

enum EntryType {
  normal @0;
  confChange @1;
}

struct Entry {
  term @0 :UInt64;
  index @1 :UInt64;
  type @2 :EntryType;
  data @3 :Data;
}

struct ConfState {
  voters @0 :List(UInt64);
  votersOutgoing @1 :List(UInt64);
  learners @2 :List(UInt64);
}

struct SnapshotMeta {
  index @0 :UInt64;
  term @1 :UInt64;
  conf @2 :ConfState;
}

struct Snapshot {
  meta @0 :SnapshotMeta;
  data @1 :Data;  # may be empty when the state-machine image is streamed in SnapshotChunks
}

# Mirrors kv::raft::Message (src/consensus/types.h).
struct RaftMessage {
  type @0 :MessageType;
  from @1 :UInt64;
  to @2 :UInt64;
  term @3 :UInt64;
  logTerm @4 :UInt64;
  index @5 :UInt64;
  entries @6 :List(Entry);
  commit @7 :UInt64;
  reject @8 :Bool;
  rejectHint @9 :UInt64;
  snapshot @10 :Snapshot;  # a null pointer means "no snapshot"
  context @11 :Data;
}

struct GroupMessage {
  group @0 :UInt64;  # Raft group (shard) id
  message @1 :RaftMessage;
}

struct PeerBatch {
  from @0 :UInt64;       # must equal the handshake's Hello.from
  clusterId @1 :UInt64;  # must equal the handshake's Hello.clusterId
  messages @2 :List(GroupMessage);
}

# One piece of a state-machine snapshot too large for one frame. Chunks of one snapshot are
# sent in order (seq = 0, 1, 2, ...) on one connection; `last` marks the final chunk.
struct SnapshotChunk {
  group @0 :UInt64;
  snapshotIndex @1 :UInt64;
  snapshotTerm @2 :UInt64;
  seq @3 :UInt64;
  data @4 :Data;
  last @5 :Bool;
}
