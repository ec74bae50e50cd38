#!/usr/bin/env bash
# Run every cargo-fuzz target for SECONDS each (default 300), one at a time, on stable Rust:
# `cargo fuzz run --sanitizer none -a` (no AddressSanitizer, which needs nightly; the code
# under test is safe Rust, and -a keeps debug assertions so integer overflow panics).
# Inputs: fuzz/corpus/<target> (grown by libFuzzer; unpacked from the committed
# fuzz/corpus/<target>.tar.zst when missing) and fuzz/seeds/<target> (from
# scripts/fuzz-seed.sh, run first when missing). Logs: fuzz/logs/<target>.log; crashes:
# fuzz/artifacts/<target>/. Prints one summary line per target and exits 1 if any crashed.
# Needs `cargo install cargo-fuzz`.
# Usage: scripts/fuzz-all.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(elf_open notes kdump_open klog_decode elfcorehdr_parse history_import kallsyms_decode btf_parse unwind arm64_walk unwind_arm64)
fi
[ -d fuzz/seeds ] || scripts/fuzz-seed.sh
mkdir -p fuzz/logs
(cd fuzz && cargo fuzz build --sanitizer none -a) || exit 2
failed=0
for t in "${targets[@]}"; do
  # The committed, minimised corpus of the last session (scripts/fuzz-corpus-pack.sh).
  if [ ! -d "fuzz/corpus/$t" ] && [ -f "fuzz/corpus/$t.tar.zst" ]; then
    zstd -dc "fuzz/corpus/$t.tar.zst" | tar -C fuzz/corpus -xf -
  fi
  mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t"
  log="fuzz/logs/$t.log"
  (cd fuzz && cargo fuzz run --sanitizer none -a "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=5 -max_len=65536 \
    -print_final_stats=1) >"$log" 2>&1
  rc=$?
  # Last status line (cov/ft/corp/exec/s), total runs, and where a crash was written.
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -E 's/^#([0-9]+)\s+\w+\s+/runs \1 /')
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  eps=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}')
  printf '%-18s rc=%d %ss  units=%s  exec/s=%s  %s\n' "$t" "$rc" "$secs" "${runs:-?}" "${eps:-?}" "$last"
  if [ $rc -ne 0 ]; then
    failed=1
    grep -E "Test unit written to|panicked at|ERROR: libFuzzer" "$log" | head -3 | sed 's/^/    /'
  fi
done
exit $failed
