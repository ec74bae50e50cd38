#!/usr/bin/env bash
# `vmcore check` throughput, whole process: (1) 1,000 generated dumps without --deep (dumps/s);
# (2) --deep on the largest real dump against `cat DUMP > /dev/null`, both with the file in page
# cache (GB/s; the target is deep ≥ 80 % of cat). Median of RUNS runs.
# Usage: scripts/bench-check.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release -q -p vmcore-cli -p testgen
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_ms() { # cmd... → median wall ms
  local ts=()
  for _ in $(seq "$runs"); do
    local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
    ts+=($(( (e - s) / 1000000 )))
  done
  printf '%s\n' "${ts[@]}" | median
}

# (1) 1,000 dumps: 64 CPUs and 64 PT_LOADs each (sparse, file holes), plus a history.
./target/release/testgen-elf "$tmp/d0.vmcore" --cpus 64 --loads 64 --size 2M --span 8G >/dev/null
for i in $(seq 1 999); do cp --sparse=always "$tmp/d0.vmcore" "$tmp/d$i.vmcore"; done
printf '{"format":"vmcore-hotplug-history","version":1,"block_size":"0x8000000"}\n{"start":{"cpus_possible":"0-63","cpus_online":"0-63","memory_online":"0-63"}}\n' >"$tmp/h.jsonl"
ms=$(time_ms ./target/release/vmcore check --history "$tmp/h.jsonl" --format json "$tmp"/d*.vmcore)
awk -v ms="$ms" 'BEGIN { printf "check 1000 generated dumps:   %7d ms   %8.0f dumps/s\n", ms, 1000 / (ms / 1000) }'

# (2) --deep on the largest real dump, in page cache.
# (decompressed from testdata/real by the real-data crate on first use, e.g. by `cargo test -p hotplug`)
dump=${VMCORE_REAL_DATA_CACHE:-target/real-data}/qemu-dumps/dump-06-cpu3-online.elf
[ -f "$dump" ] || { echo "$dump is missing: run cargo test -p hotplug once to decompress it"; exit 2; }
size=$(stat -c %s "$dump")
cat "$dump" >/dev/null
cat_ms=$(time_ms sh -c "cat '$dump' >/dev/null")
deep_ms=$(time_ms ./target/release/vmcore check --deep "$dump")
awk -v s="$size" -v c="$cat_ms" -v d="$deep_ms" 'BEGIN {
  printf "cat %s MB:                     %7d ms   %6.2f GB/s\n", int(s/1e6), c, s / 1e9 / (c / 1000)
  printf "vmcore check --deep:          %7d ms   %6.2f GB/s   (%.0f %% of cat)\n", d, s / 1e9 / (d / 1000), 100 * c / d
}'
