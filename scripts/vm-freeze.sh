#!/usr/bin/env bash
# Freeze a vmlab run folder (target/vmlab/runs/NAME) into testdata/kernels/DEST, small:
# the per-step roots and kernel headers, the history, the guest's logs, the crash kernel's
# makedumpfile outputs, readelf oracles, and /proc/vmcore zstd --long=27 compressed when that
# stays under 30 MB (else its readelf oracle only). Nothing is edited by hand.
#
# Usage: scripts/vm-freeze.sh target/vmlab/runs/kernel-7.2-cma 7.2-cma
# Env: KEEP_TWIN=1 keeps the crash kernel's makedumpfile -c -d 31 twin (under budget);
#      KEEP_ELF_D31=1 keeps `makedumpfile -E -d 31` of /proc/vmcore made here on the host, zstd -19
#      --long=27 (kernel pages only, compressed as one stream: smaller than -c's zlib per page);
#      SKIP_RAW_ZST=1 does not try to keep /proc/vmcore itself (a run whose raw dump is known to
#      be over budget: saves the minutes its compression takes).
#
# A step's header is kept as the bytes the kernel writes (ALIGN(64 + e_phnum * 56, 4096)):
# the rest of a crash-hotplug segment (917,680 bytes on MAXSMP) must be zero, which this
# script checks before it cuts the file, and the byte count goes into MANIFEST.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=$1
DEST=testdata/kernels/$2
MAX_ZST=$((30 * 1024 * 1024))
[ -d "$RUN/steps" ] || { echo "vm-freeze: $RUN has no steps/" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p "$DEST/steps" "$DEST/guest" "$DEST/kdump" "$DEST/oracles"
cp "$RUN"/{history.jsonl,qmp-log.jsonl,console.log,run-config.json,scenario.json} "$DEST/"
cp "$RUN"/guest/* "$DEST/guest/"
{
  echo "run: $RUN (frozen $(date -u +%FT%TZ) by scripts/vm-freeze.sh)"
  echo "kernel: $(grep -o '"kernel_package": "[^"]*"' "$RUN/run-config.json")"
  echo "osrelease: $(cat "$RUN"/steps/root-00-boot/proc/sys/kernel/osrelease 2>/dev/null || echo '?')"
} > "$DEST/MANIFEST.txt"
for bin in "$RUN"/steps/elfcorehdr-*.bin; do
  step=$(basename "$bin" .bin)
  cp -r "$RUN/steps/root-${step#elfcorehdr-}" "$DEST/steps/"
  python3 - "$bin" "$DEST/steps/$step.bin" >> "$DEST/MANIFEST.txt" <<'EOF'
import sys
data = open(sys.argv[1], 'rb').read()
phnum = int.from_bytes(data[56:58], 'little')
keep = (64 + phnum * 56 + 4095) // 4096 * 4096
if any(data[keep:]):
    sys.exit(f"{sys.argv[1]}: non-zero bytes after the page-aligned header ({keep} bytes)")
open(sys.argv[2], 'wb').write(data[:keep])
print(f"{sys.argv[2].split('/')[-1]}: e_phnum {phnum}, kept {keep} of {len(data)} bytes (the rest is zero)")
EOF
  readelf -hlW "$DEST/steps/$step.bin" > "$DEST/oracles/$step.readelf.txt" 2>&1 || true
done
cp "$RUN"/kdump/dmesg-makedumpfile.txt "$DEST/kdump/"
cp "$RUN"/kdump/check-*.json "$DEST/kdump/" 2>/dev/null || true
V=$RUN/kdump/vmcore-raw.elf
readelf -hlnW "$V" > "$DEST/oracles/proc-vmcore.readelf.txt" 2>&1 || true
if command -v eu-readelf >/dev/null; then eu-readelf -n "$V" > "$DEST/oracles/proc-vmcore.eu-readelf-n.txt" 2>&1 || true; fi
makedumpfile --dump-dmesg "$V" "$DEST/oracles/proc-vmcore.dmesg.txt" > "$DEST/oracles/proc-vmcore.dump-dmesg.log" 2>&1 || true
echo "proc-vmcore: $(stat -c %s "$V") bytes, sha256 $(sha256sum "$V" | cut -d' ' -f1)" >> "$DEST/MANIFEST.txt"
Z=${ZST:-$RUN/kdump/vmcore-raw.elf.zst}
if [ "${SKIP_RAW_ZST:-0}" = 1 ]; then
  echo "proc-vmcore not kept: SKIP_RAW_ZST=1" >> "$DEST/MANIFEST.txt"
else
[ -f "$Z" ] || zstd -q -12 --long=27 -T1 -f "$V" -o "$Z"
fi
if [ "${SKIP_RAW_ZST:-0}" = 1 ]; then
  :
elif [ "$(stat -c %s "$Z")" -le "$MAX_ZST" ]; then
  cp "$Z" "$DEST/kdump/proc-vmcore.elf.zst"
  echo "kdump/proc-vmcore.elf.zst: $(stat -c %s "$Z") bytes (zstd -12 --long=27)" >> "$DEST/MANIFEST.txt"
else
  echo "proc-vmcore not kept: $(stat -c %s "$Z") bytes compressed > $MAX_ZST" >> "$DEST/MANIFEST.txt"
fi
# The makedumpfile -c -d 31 twin (kernel pages only, zlib per page; zstd cannot shrink it):
# kept with KEEP_TWIN=1 when under the same 30 MB budget, for the readers of each kernel.
T=$RUN/kdump/makedumpfile-c-d31.kdump
if [ "${KEEP_TWIN:-0}" = 1 ] && [ "$(stat -c %s "$T")" -le "$MAX_ZST" ]; then
  cp "$T" "$DEST/kdump/"
  echo "kdump/makedumpfile-c-d31.kdump: $(stat -c %s "$T") bytes, sha256 $(sha256sum "$T" | cut -d' ' -f1)" >> "$DEST/MANIFEST.txt"
fi
if [ "${KEEP_ELF_D31:-0}" = 1 ]; then
  E=$RUN/kdump/makedumpfile-E-d31.elf
  rm -f "$E"
  makedumpfile -E -d 31 "$V" "$E" > "$RUN/kdump/makedumpfile-E-d31.log" 2>&1
  zstd -q -19 --long=27 -T2 -f "$E" -o "$E.zst"
  if [ "$(stat -c %s "$E.zst")" -le "$MAX_ZST" ]; then
    cp "$E.zst" "$DEST/kdump/"
    echo "kdump/makedumpfile-E-d31.elf.zst: makedumpfile -E -d 31 of proc-vmcore on the host ($(makedumpfile -v 2>&1 | head -1 | tr -s ' ')), $(stat -c %s "$E") bytes, sha256 $(sha256sum "$E" | cut -d' ' -f1); zstd -19 --long=27: $(stat -c %s "$E.zst") bytes" >> "$DEST/MANIFEST.txt"
  else
    echo "makedumpfile -E -d 31 not kept: $(stat -c %s "$E.zst") bytes compressed > $MAX_ZST" >> "$DEST/MANIFEST.txt"
  fi
fi
echo "vm-freeze: $DEST ($(du -sh "$DEST" | cut -f1))"
