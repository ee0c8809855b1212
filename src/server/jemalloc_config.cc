// jemalloc's built-in configuration for kvd, read when the allocator starts (MALLOC_CONF in
// the environment still overrides it, e.g. MALLOC_CONF=thp:default to compare).
//
// thp:always asks the kernel for transparent huge pages on jemalloc's memory even where the
// system's THP mode is "madvise" (Debian's default). RocksDB's memtables are skiplists of
// tens of MiB searched from the top on every insert; on 4 KiB pages nearly every step is a
// TLB miss, and under a hypervisor a miss walks two page tables.
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's interface.
const char* malloc_conf = "thp:always,metadata_thp:auto";
}
