#!/usr/bin/env bash
# Issue 2 peer comparison: open a 1 TiB sparse ELF vmcore (8192 PT_LOADs, 1024 CPUs) with
# `vmcore info`, `readelf -n -l` and `gdb -batch -c`; whole-process wall time (median of N runs)
# and peak RSS. Usage: scripts/bench-open-peers.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-9}
command -v gdb >/dev/null || { echo "needs gdb (apt-get install gdb)"; exit 2; }
cargo build --release -q -p vmcore-cli -p testgen
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
f=$tmp/sparse-1t.vmcore
./target/release/testgen-elf "$f" --cpus 1024 --loads 8192 --size 2M --span 1T
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { # name cmd...
  local name=$1; shift
  local ts=() rss=0
  for _ in $(seq "$runs"); do
    local s e
    s=$(date +%s%N); /usr/bin/time -f %M -o "$tmp/rss" "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
    ts+=($(( (e - s) / 1000 )))
    rss=$(cat "$tmp/rss")
  done
  printf '%-28s median %8.2f ms   peak RSS %7.1f MiB\n' "$name" \
    "$(printf '%s\n' "${ts[@]}" | median | awk '{print $1/1000}')" "$(awk -v k="$rss" 'BEGIN{print k/1024}')"
}
measure "vmcore info" ./target/release/vmcore info "$f"
measure "vmcore cpus --json" ./target/release/vmcore cpus --json "$f"
measure "readelf -n -l" readelf -n -l -W "$f"
measure "gdb -batch -c" gdb -batch -nx -c "$f" -ex 'info threads'
