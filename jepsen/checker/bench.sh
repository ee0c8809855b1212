#!/usr/bin/env bash
# Checker speed on generated histories: ops (or txns) per second of CPU time.
# Usage: jepsen/checker/bench.sh [BUILD_DIR]   (default: build-checker; needs kvcheck built)
# Prints one line per workload: CPU seconds, peak RSS, verdict and ops/s. CPU time, not wall
# time: on a shared 2-core machine the wall clock mostly measures the neighbours.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
kvcheck=${1:-$root/build-checker}/kvcheck
[ -x "$kvcheck" ] || { echo "bench: $kvcheck not built" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bench() {  # NAME OPS CHECKER GENERATOR [GEN FLAGS...]
  local name=$1 ops=$2 checker=$3 generator=$4
  shift 4
  "$kvcheck" gen "$generator" --ops "$ops" "$@" --out "$tmp/h.jsonl"
  local rc=0
  /usr/bin/time -f "%U %S %M" -o "$tmp/time" "$kvcheck" "$checker" "$tmp/h.jsonl" --quiet --out "$tmp/v.json" || rc=$?
  # GNU time prepends "Command exited with non-zero status N" for a non-zero exit.
  read -r user sys rss_kb < <(tail -n 1 "$tmp/time")
  awk -v n="$name" -v ops="$ops" -v u="$user" -v s="$sys" -v kb="$rss_kb" -v rc="$rc" 'BEGIN {
    cpu = u + s; verdict = rc == 0 ? "valid" : rc == 1 ? "invalid" : rc == 2 ? "unknown" : "error";
    printf "%-44s %8d ops %7.2f s cpu %6d MB  %-8s %9.0f ops/s\n", n, ops, cpu, kb / 1024, verdict, ops / (cpu > 0 ? cpu : 0.001) }'
}

bench "linear: 20 keys x 5 clients"                100000 linear register --keys 20 --processes 5 --seed 1
bench "linear: 1 key x 10 clients, 2% info"         10000 linear register --keys 1 --processes 10 --seed 1
bench "linear: 1 key x 10 clients, 1 stale read"    10000 linear register --keys 1 --processes 10 --seed 1 --stale-reads 1
bench "linear: 1 key x 20 clients"                  20000 linear register --keys 1 --processes 20 --seed 1
bench "append: 8 live keys x 10 clients"            50000 append append --keys 8 --processes 10 --seed 1
bench "append: same, 20 stale reads"                50000 append append --keys 8 --processes 10 --seed 1 --stale-reads 20
bench "bank: 5 accounts x 5 clients"               100000 bank bank --seed 1
