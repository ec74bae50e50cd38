#!/usr/bin/env bash
# Whole-process time of `vmcore dmesg` against `makedumpfile --dump-dmesg` on the same dumps
# (issue 5; target: at least 5x faster). Median of several runs with hyperfine when installed,
# else a loop with `date +%s%N`. Both tools read the same file from the page cache (a warm-up
# run first), and both write the log to a file. The outputs are compared first: the benchmark
# only counts if they are byte-identical.
#
#   scripts/bench-dmesg.sh [DUMP...]      (default: the real 6.12 /proc/vmcore in testdata/real)
#
# Environment: VMCORE (path of the vmcore binary; built with `cargo build --release -p
# vmcore-cli` when unset), RUNS (default 30), MAKEDUMPFILE (default: makedumpfile).
# Needs: apt-get install makedumpfile hyperfine
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-30}
MDF=${MAKEDUMPFILE:-makedumpfile}
command -v "$MDF" >/dev/null || { echo "makedumpfile not found (apt-get install makedumpfile)" >&2; exit 2; }
if [[ -z "${VMCORE:-}" ]]; then
  cargo build --release -q -p vmcore-cli
  VMCORE=target/release/vmcore
fi

dumps=("$@")
if [[ ${#dumps[@]} -eq 0 ]]; then
  # The real-data crate caches the decompressed dump here (any vmcore test decompresses it).
  dumps=(target/real-data/kdump/proc-vmcore.elf)
  if [[ ! -f ${dumps[0]} ]]; then
    mkdir -p target/real-data/kdump
    zstd -q -d --long=27 testdata/real/kdump/proc-vmcore.elf.zst -o "${dumps[0]}"
  fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for dump in "${dumps[@]}"; do
  echo "== $dump ($(du -h "$dump" | cut -f1))"
  # makedumpfile refuses to overwrite its output file: remove it before every run.
  "$MDF" --dump-dmesg "$dump" "$tmp/mdf.txt" >/dev/null 2>&1 || true
  "$VMCORE" dmesg "$dump" >"$tmp/ours.txt"
  if cmp -s "$tmp/mdf.txt" "$tmp/ours.txt"; then
    echo "outputs identical ($(wc -l <"$tmp/ours.txt") lines)"
  else
    echo "OUTPUTS DIFFER: $(diff "$tmp/mdf.txt" "$tmp/ours.txt" | head -5)" >&2
  fi
  if command -v hyperfine >/dev/null; then
    # -N: no shell, so a few-millisecond process is measured without the shell's start-up
    # noise. makedumpfile writes its file; our stdout goes to /dev/null (hyperfine's default),
    # and the identical-output check above already ran on a file.
    hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$tmp/h.json" \
      --prepare "rm -f $tmp/mdf.txt" \
      -n "makedumpfile --dump-dmesg" "$MDF --dump-dmesg $dump $tmp/mdf.txt" \
      -n "vmcore dmesg" "$VMCORE dmesg $dump"
    python3 - "$tmp/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
m, v = r["makedumpfile --dump-dmesg"]["median"], r["vmcore dmesg"]["median"]
print(f"median: makedumpfile {m*1e3:.2f} ms, vmcore {v*1e3:.2f} ms, ratio {m/v:.1f}x")
PY
  else
    median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
    for tool in mdf ours; do
      for _ in $(seq "$RUNS"); do
        rm -f "$tmp/mdf.txt"
        t0=$(date +%s%N)
        if [[ $tool == mdf ]]; then "$MDF" --dump-dmesg "$dump" "$tmp/mdf.txt" >/dev/null 2>&1 || true
        else "$VMCORE" dmesg "$dump" >"$tmp/ours.txt"; fi
        echo $(( ($(date +%s%N) - t0) / 1000 ))
      done | median >"$tmp/$tool.med"
    done
    echo "median: makedumpfile $(cat "$tmp/mdf.med") us, vmcore $(cat "$tmp/ours.med") us"
  fi
done
