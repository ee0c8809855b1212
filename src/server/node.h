// kvd's node: runs until SIGTERM/SIGINT (or a fatal error), then shuts down gracefully.
#pragma once

#include "server/options.h"

namespace kv::server {

// Opens the data directory (refusing a corrupt or foreign one), starts every shard, the
// peer transport and the client service, and runs. Returns the process exit code.
int run_node(const ServerOptions& options);

}  // namespace kv::server
