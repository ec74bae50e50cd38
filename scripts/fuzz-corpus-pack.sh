#!/usr/bin/env bash
# Minimise each target's grown corpus (`cargo fuzz cmin`) and pack it into
# fuzz/corpus/<target>.tar.zst, which git keeps (the unpacked fuzz/corpus/<target>/ is
# ignored), so the next session starts where this one stopped: scripts/fuzz-all.sh unpacks a
# target's archive when its corpus folder is missing. Packed, the four corpora of the issue
# #16 session take ~420 KB (21 MB unpacked; kdump and ELF inputs are mostly zeros).
# Usage: scripts/fuzz-corpus-pack.sh TARGET...
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
for t in "$@"; do
  [ -d "corpus/$t" ] || { echo "no corpus/$t" >&2; exit 2; }
  cargo fuzz cmin --sanitizer none -a "$t" "corpus/$t" -- -rss_limit_mb=2048 -timeout=5 \
    >"logs/cmin-$t.log" 2>&1
  # Sorted names and fixed metadata: the same corpus packs to the same bytes.
  tar -C corpus --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - "$t" |
    zstd -19 -q -c >"corpus/$t.tar.zst"
  printf '%-18s %5d files %9d bytes -> %8d bytes packed\n' "$t" \
    "$(find "corpus/$t" -type f | wc -l)" \
    "$(find "corpus/$t" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')" \
    "$(wc -c <"corpus/$t.tar.zst")"
done
