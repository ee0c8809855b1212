# Every third-party dependency comes from a Debian package; see tools/setup.
find_package(Threads REQUIRED)

# Cap'n Proto 0.9 (Debian's config is a pkg-config shim: needs pkg-config and libssl-dev).
find_package(CapnProto 0.9 CONFIG REQUIRED)

# RocksDB 7.8 ships a CMake config on Debian.
find_package(RocksDB 7 CONFIG REQUIRED)

# Standalone Asio 1.22: header-only, no CMake package.
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(kv_asio INTERFACE)
target_include_directories(kv_asio SYSTEM INTERFACE "${ASIO_INCLUDE_DIR}")
# clang (clangd, clang-tidy) with libstdc++ does not detect std coroutines by itself.
# ASIO_DISABLE_STD_ALIGNED_ALLOC: whether Asio 1.22 uses aligned_alloc depends on which
# standard headers a file included first, so files disagreed on how to free recycled
# coroutine frames (ASan: alloc-dealloc-mismatch). One allocator everywhere.
target_compile_definitions(kv_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
  ASIO_HAS_CO_AWAIT=1 ASIO_HAS_STD_COROUTINE=1 ASIO_DISABLE_STD_ALIGNED_ALLOC)
target_link_libraries(kv_asio INTERFACE Threads::Threads)

# Catch2 v2: catch_discover_tests() registers each TEST_CASE with CTest at build time.
find_package(Catch2 2 CONFIG REQUIRED)
include(Catch)
