#!/usr/bin/env bash
# CI entry for the real-kernel tests (tools/vmlab, docs/VMLAB.md): one short scenario under
# QEMU/TCG, then proof that the checks catch a broken engine. Fails loudly when QEMU cannot run;
# a hard timeout keeps it from ever hanging CI.
#   bash scripts/vm-ci.sh [SCENARIO]     (default scenarios/ci-short.json)
set -euo pipefail
cd "$(dirname "$0")/.."
SCENARIO=${1:-scenarios/ci-short.json}
LIMIT=${VMLAB_CI_TIMEOUT:-900}
NAME=$(sed -n 's/^ *"name": *"\([^"]*\)".*/\1/p' "$SCENARIO" | head -1)
RUN=target/vmlab/runs/$NAME

# VMLAB_PROFILE=dev reuses what `cargo test --workspace` just built (CI does this); the
# default release build is what a person running the long scenarios wants.
PROFILE=${VMLAB_PROFILE:-release}
case "$PROFILE" in dev) BIN=target/debug ;; *) BIN=target/$PROFILE ;; esac
echo "== vmlab: cargo build --profile $PROFILE -p vmcore-cli -p vmlab"
cargo build --profile "$PROFILE" --quiet -p vmcore-cli -p vmlab

echo "== vmlab: run $SCENARIO (hard limit ${LIMIT}s)"
# timeout signals the whole process group, so QEMU dies with the harness.
rc=0
timeout --kill-after=20 "$LIMIT" "$BIN/vmlab" run "$SCENARIO" --out "$RUN" --vmcore "$BIN/vmcore" || rc=$?
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
  echo "vmlab: FAILED: hard timeout (${LIMIT}s) reached" >&2
fi
[ "$rc" = 0 ] || exit "$rc"

echo "== vmlab: a deliberately broken engine must fail the header checks of this run"
for brk in swap-phdrs no-crashkernel-exclusion; do
  if out=$(VMLAB_BREAK_ENGINE=$brk "$BIN/vmlab" recheck "$RUN" 2>&1); then
    echo "$out"
    echo "vmlab: FAILED: the checks passed with VMLAB_BREAK_ENGINE=$brk" >&2
    exit 1
  fi
  msg=$(echo "$out" | grep 'FAILED' || true)
  if ! echo "$msg" | grep -q 'step .*first differing byte at offset'; then
    echo "$out"
    echo "vmlab: FAILED: VMLAB_BREAK_ENGINE=$brk failed without naming the step and byte" >&2
    exit 1
  fi
  echo "PASS broken engine ($brk) caught: $msg"
done
# The same recheck with the engine intact must pass (the failure above was the break's doing).
"$BIN/vmlab" recheck "$RUN" | tail -1
echo "vmlab: 1 passed, 0 failed"
