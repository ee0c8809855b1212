// kvd: one node of a kvstore cluster. See `kvd --help`.
#include "server/node.h"

int main(int argc, char** argv) {
  int exit_code = 0;
  const auto options = kv::server::parse_server_args(argc, argv, exit_code);
  if (!options) return exit_code;
  return kv::server::run_node(*options);
}
