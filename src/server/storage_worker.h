// The storage thread. It takes the Readys of all shards, makes them durable with one synced
// write (group commit across shards), applies their committed entries, and hands each Ready
// back to the network thread, which then sends the messages that had to wait, serves reads,
// compacts the log and calls advance(). This is steps 1 and 3 of the Ready contract in
// consensus/raw_node.h; the network thread does 2, 4, 5 and 6. (A small batch may skip the
// hand-off: the network thread calls process() itself while this thread is idle().)
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "consensus/raw_node.h"
#include "server/state_machine.h"
#include "storage/node_store.h"

namespace kv::server {

class StorageWorker {
 public:
  struct Job {
    storage::GroupId group = 0;
    raft::Ready ready;
    std::optional<storage::StagedSnapshot> image;  // the state machine image of ready.snapshot
    ShardStateMachine* state_machine = nullptr;
  };
  struct Done {
    storage::GroupId group = 0;
    raft::Ready ready;
    std::vector<ApplyResult> results;
  };
  // Called on the storage thread with every Job of one batch, in submission order.
  using DoneHandler = std::function<void(std::vector<Done>)>;

  StorageWorker(storage::NodeStore& store, DoneHandler on_done);
  ~StorageWorker();
  StorageWorker(const StorageWorker&) = delete;
  StorageWorker& operator=(const StorageWorker&) = delete;

  // Thread-safe. REQUIRES: at most one job per group outstanding (one Ready at a time).
  void submit(std::vector<Job> jobs);
  // No job queued or in progress. Only the caller of submit() makes the worker busy, so an
  // idle worker stays idle until that caller submits again.
  bool idle() const;
  // Persists and applies one batch of jobs (steps 1 and 3) on the calling thread: the
  // storage thread, or the network thread while the storage thread is idle().
  static std::vector<Done> process(storage::NodeStore& store, std::vector<Job>& jobs);
  // Finishes the jobs already submitted, then stops the thread. Idempotent.
  void stop();

 private:
  void run();

  storage::NodeStore& store_;
  const DoneHandler on_done_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Job> queue_;
  bool stopping_ = false;
  bool busy_ = false;
  std::thread thread_;
};

}  // namespace kv::server
